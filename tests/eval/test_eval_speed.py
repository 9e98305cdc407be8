"""The speed benchmark times the command as a user runs it (whole process) and reads its stage times."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from talkinghead.eval.speed import SpeedResult, cut_audio, fixed_cost, run_case, write_reports

ASSETS = Path(str(resources.files("talkinghead") / "assets"))


def _result(audio_s: float, wall_s: float, size: int = 512, transcript: bool = False) -> SpeedResult:
    return SpeedResult(audio="a.wav", audio_s=audio_s, size=size, phones="auto", transcript=transcript, frames=25,
                       wall_s=wall_s, rtf=wall_s / audio_s, fps=1.0, cpu_s=wall_s, peak_rss_mb=1.0, stages_s={})


def test_fixed_cost_is_the_short_clip_minus_its_length_at_the_marginal_rate() -> None:
    results = [_result(61.0, 33.0), _result(1.0, 3.0), _result(1.0, 9.0, size=256), _result(11.0, 2.0, transcript=True)]
    fixed = fixed_cost(results)
    assert fixed is not None
    assert fixed["marginal_rtf"] == pytest.approx(0.5) and fixed["fixed_s"] == pytest.approx(2.5)
    assert fixed["clip_s"] == 1.0 and fixed["size"] == 512  # the 256 px clip has no longer partner
    assert fixed_cost([_result(61.0, 33.0)]) is None  # one length: no slope


def test_a_case_is_timed_whole_process_with_its_stages(tmp_path) -> None:
    clip = cut_audio(str(ASSETS / "jfk.flac"), 1.0, str(tmp_path))
    r = run_case(str(ASSETS / "astronaut.png"), clip, 64, "acoustic")
    assert r.frames == 25 and r.audio_s == pytest.approx(1.0)
    # the whole process includes Python's start-up and imports, which no stage counts
    assert {"render", "encode", "face", "audio_features"} <= set(r.stages_s)
    assert r.wall_s > r.stages_s["render"] + r.stages_s["face"] + 0.2
    assert r.cpu_s > 0.5 and r.peak_rss_mb > 100
    _, md = write_reports([r], tmp_path / "out", "test", help_s=0.25)
    text = md.read_text()
    assert "| jfk_1s.wav | 1.0 | 64 | acoustic | no |" in text and "`talkinghead --help`: 0.25 s" in text
    with pytest.raises(RuntimeError, match="jfk.flac: not an image"):
        run_case(str(ASSETS / "jfk.flac"), clip, 64, "acoustic")  # an audio file as the portrait


def test_long_audio_is_the_clip_repeated_to_the_length(tmp_path) -> None:
    import numpy as np

    from talkinghead.eval.speed import make_long_audio
    from talkinghead.media.audio import load_speech
    from talkinghead.types import pcm16_samples

    clip = load_speech(ASSETS / "jfk.flac")  # 11 s
    long = load_speech(make_long_audio(str(ASSETS / "jfk.flac"), 25.5, str(tmp_path)))
    assert long.sample_rate == clip.sample_rate and len(long.samples) == int(25.5 * clip.sample_rate)
    once = pcm16_samples(np.asarray(clip.samples))
    again = pcm16_samples(np.asarray(long.samples))
    assert np.array_equal(again, np.tile(once, 3)[:len(again)])  # the clip, again and again, cut at the length
