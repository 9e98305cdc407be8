"""Noisy conditions and pause closure in the benchmark: babble mixing, pause frames, the closure share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from talkinghead.eval.reference import pause_closed, pause_frames, speech_frames, with_babble
from talkinghead.eval.systems import NOISY_SYSTEMS, systems_for
from talkinghead.eval.datasets import Clip
from talkinghead.types import Speech

SR = 16000


def _bursts(spans_s: list[tuple[float, float]], total_s: float, seed: int = 0) -> Speech:
    """Noise bursts (speech-like loudness) in ``spans_s``, near-silence elsewhere."""
    rng = np.random.default_rng(seed)
    x = 1e-4 * rng.standard_normal(int(total_s * SR))
    for a, b in spans_s:
        i, j = int(a * SR), int(b * SR)
        x[i:j] = 0.3 * rng.standard_normal(j - i) * np.sin(np.linspace(0, np.pi, j - i))
    return Speech(x.astype(np.float32), SR)


def test_pause_frames_cover_the_silences_less_the_margins() -> None:
    speech = _bursts([(0.5, 1.5), (2.5, 3.0)], 4.0)
    p = pause_frames(speech, 25.0, 100)
    t = np.arange(100) / 25.0
    # the 1 s pause between the bursts, trimmed by 0.1 s each side, is in; the bursts are out
    assert p[(t > 1.7) & (t < 2.3)].all()
    assert not p[(t > 0.7) & (t < 1.3)].any() and not p[(t > 2.6) & (t < 2.9)].any()
    assert p[(t > 0.1) & (t < 0.35)].all() and not p[t < 0.1].any()  # leading silence, less the margin
    steady = Speech((0.3 * np.random.default_rng(1).standard_normal(4 * SR)).astype(np.float32), SR)
    assert pause_frames(steady, 25.0, 100).sum() == 0  # no pause at all


def test_speech_span_runs_from_the_first_to_the_last_sound() -> None:
    pauses, span = speech_frames(_bursts([(0.5, 1.5), (2.5, 3.0)], 4.0), 25.0, 100)
    t = np.arange(100) / 25.0
    assert np.array_equal(pauses, pause_frames(_bursts([(0.5, 1.5), (2.5, 3.0)], 4.0), 25.0, 100))
    assert span[(t > 0.6) & (t < 2.9)].all()  # the pause between the bursts is inside the span
    assert not span[t < 0.4].any() and not span[t > 3.1].any()  # the silence before and after is not
    silent = Speech(np.zeros(2 * SR, np.float32), SR)
    assert not speech_frames(silent, 25.0, 50)[1].any()


def test_mouth_r_in_speech_ignores_the_silence_around_it() -> None:
    from talkinghead.eval.scoring import _span_correlation

    t = np.arange(100)
    real = np.where((t >= 20) & (t < 80), 0.05 + 0.05 * np.sin(t / 3.0), 0.1)  # open mouth before and after
    gen = np.where((t >= 20) & (t < 80), real, 0.0)  # closed there, right within the speech
    span = (t >= 20) & (t < 80)
    assert _span_correlation(gen, real, span) == pytest.approx(1.0)
    assert np.corrcoef(gen, real)[0, 1] < 0.9  # the whole-clip r is pulled down by the silence
    assert np.isnan(_span_correlation(gen, real, np.zeros(100, bool)))


def test_pause_closed_share_and_none_without_pauses() -> None:
    pauses = np.array([False, True, True, True, True, False])
    opening = np.array([0.3, 0.01, 0.02, 0.2, np.nan, 0.3])
    assert pause_closed(opening, pauses) == pytest.approx(2 / 3)  # NaN (no face) frames are not counted
    assert pause_closed(opening, np.zeros(6, bool)) is None
    assert pause_closed(opening[:3], pauses) == 1.0  # generated shorter than the real clip


def test_with_babble_sets_the_snr(shared_data: Path) -> None:
    from talkinghead.eval.datasets import babble_files, load_set
    from talkinghead.media.audio import load_speech

    clip = load_set("grid_babble10", shared_data, limit=1)[0]
    clean = load_speech(clip.video)
    assert with_babble(clean, (), 10.0) is clean
    for snr in (10.0, 0.0):
        noisy = with_babble(clean, babble_files(shared_data), snr)
        assert noisy.samples.shape == clean.samples.shape and np.abs(noisy.samples).max() <= 1.0
        # the mix may be scaled down as a whole to stay in [-1, 1]: undo that, then measure
        k = float(np.dot(noisy.samples, clean.samples) / np.dot(clean.samples, clean.samples))
        noise = noisy.samples / k - clean.samples
        got = 10 * np.log10(np.mean(clean.samples.astype(np.float64) ** 2) / np.mean(noise.astype(np.float64) ** 2))
        assert got == pytest.approx(snr, abs=1.0)


def test_noisy_clips_run_only_the_no_transcript_systems() -> None:
    clean = Clip("a", "grid_test", Path("a.mp4"))
    noisy = Clip("a", "grid_babble0", Path("a.mp4"), noise=(Path("n.mp4"),), snr_db=0.0)
    systems = ("still", "rules", "learned", "auto-notext", "learned-nophones", "rules-nophones", "learned-stream")
    assert systems_for(clean, systems) == list(systems)
    assert systems_for(noisy, systems) == [s for s in systems if s in NOISY_SYSTEMS] == list(NOISY_SYSTEMS)


def test_cli_eval_defaults_are_the_benchmarks() -> None:
    """The CLI spells its defaults out (no eval import at start-up); they must stay the benchmark's."""
    import inspect

    from talkinghead.cli import eval_
    from talkinghead.eval.systems import DEFAULT_SYSTEMS
    from talkinghead.eval.datasets import DEFAULT_SETS

    params = inspect.signature(eval_).parameters
    assert params["sets"].default.default == ",".join(DEFAULT_SETS)
    assert params["systems"].default.default == ",".join(DEFAULT_SYSTEMS)
