"""Training copies of speech: voice shift, noise at a set SNR, rooms, feature warping, loading beside the shards."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from talkinghead.audio.augment import coloured_noise, mix_at_snr, reverberate, voice_shift
from talkinghead.train.augment import AugmentConfig, augment_speech, warp_features
from talkinghead.types import AudioFeatures, Speech

SR = 16000


def _peak_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * SR / len(x))


def test_voice_shift_scales_frequency_and_length() -> None:
    t = np.arange(SR) / SR
    x = np.sin(2 * np.pi * 200.0 * t).astype(np.float32)
    for factor in (0.8, 1.25):
        y = voice_shift(x, factor)
        assert len(y) == pytest.approx(SR / factor, rel=0.02)
        assert _peak_hz(y) == pytest.approx(200.0 * factor, rel=0.03)
    assert voice_shift(x, 1.0) is not None and len(voice_shift(x, 1.0)) == SR


def test_mix_at_snr_and_noise_colour() -> None:
    rng = np.random.default_rng(0)
    s = rng.standard_normal(SR).astype(np.float32)
    n = rng.standard_normal(SR // 3).astype(np.float32)  # shorter: looped
    for snr in (0.0, 10.0, 20.0):
        y = mix_at_snr(s, n, snr)
        got = 10 * np.log10(np.mean(s.astype(np.float64) ** 2) / np.mean((y - s).astype(np.float64) ** 2))
        assert got == pytest.approx(snr, abs=0.3)
    white, brown = coloured_noise(SR, 0.0, rng), coloured_noise(SR, 2.0, rng)
    low = lambda z: np.sum(np.abs(np.fft.rfft(z))[: len(z) // 20] ** 2) / np.sum(np.abs(np.fft.rfft(z)) ** 2)  # noqa: E731
    assert low(brown) > 0.9 > 0.2 > low(white)


def test_reverberation_smears_a_click_over_the_decay_time() -> None:
    x = np.zeros(SR, np.float32)
    x[1000] = 1.0
    y = reverberate(x, SR, 0.5, 1.0, np.random.default_rng(0))
    e = y.astype(np.float64) ** 2
    # energy decays 60 dB over RT60: after 0.1 s of a 0.5 s room, exp(-13.8 * 0.2) = 6% is left
    assert 0.03 < e[1000 + SR // 10:].sum() / e.sum() < 0.12
    assert e[1000 + SR // 2:].sum() / e.sum() < 1e-5
    assert e[:1000].sum() < 1e-12 * e.sum()  # nothing before it (but FFT rounding)


def test_warp_features_keeps_frame_count_and_voicing_binary() -> None:
    t = 150
    f = AudioFeatures(mel=np.random.default_rng(0).normal(size=(t, 80)).astype(np.float32),
                      energy=np.linspace(-60, -10, t, dtype=np.float32),
                      f0=np.where(np.arange(t) % 30 < 15, 120.0, 0.0).astype(np.float32),
                      formants=np.full((t, 2), 500.0, np.float32))
    w = warp_features(f, 200)
    assert w.mel.shape == (200, 80) and w.energy.shape == (200,) and w.formants.shape == (200, 2)
    assert set(np.unique(w.f0)) <= {0.0, 120.0}
    assert w.energy[0] == pytest.approx(-60) and w.energy[-1] == pytest.approx(-10)


def test_augment_speech_is_seeded_and_records_its_draws() -> None:
    rng = np.random.default_rng(1)
    x = (0.3 * np.sin(2 * np.pi * 150 * np.arange(2 * SR) / SR)).astype(np.float32)
    babble = [rng.standard_normal(3 * SR).astype(np.float32) for _ in range(4)]
    cfg = AugmentConfig(p_noise=1.0, p_reverb=1.0, p_band=1.0)
    a, da = augment_speech(Speech(x, SR), np.random.default_rng(5), cfg, babble)
    b, db = augment_speech(Speech(x, SR), np.random.default_rng(5), cfg, babble)
    assert da == db and np.array_equal(a.samples, b.samples)
    assert {"voice", "rt60", "snr", "lowpass"} <= set(da) and cfg.voice_range[0] <= da["voice"] <= cfg.voice_range[1]
    assert a.sample_rate == SR and 0.05 < np.abs(a.samples).max() <= 0.9 + 1e-6
    assert len(a.samples) == pytest.approx(2 * SR / da["voice"], rel=0.02)


@pytest.mark.slow
def test_augment_writes_copies_that_training_loads_with_their_clip(shared_data: Path, tmp_path: Path) -> None:
    """Two real GRID clips: prepared, augmented, loaded; copies carry their clip's targets, never held-out clips'."""
    import shutil

    from talkinghead.eval.datasets import GRID_S1_TEST
    from talkinghead.train.augment import augment
    from talkinghead.train.prepare import prepare

    videos = tmp_path / "videos" / "video"
    videos.mkdir(parents=True)
    for name in ("bbaf2n", GRID_S1_TEST[0]):
        shutil.copy(shared_data / "grid" / "s1" / "video" / f"{name}.mp4", videos / f"{name}.mp4")
    data = tmp_path / "data"
    prepare(videos.parent, data, clips_per_shard=4, workers=1)
    from talkinghead.train.compare import cached_clips

    cached = list(cached_clips(data))
    assert sorted(c.name for c in cached) == sorted(["bbaf2n", GRID_S1_TEST[0]])
    for c in cached:  # the clip's face motion at its frame rate, its features and activity at 100 Hz
        assert c.offsets.shape[1:] == (478, 3) and abs(len(c.offsets) - c.features.num_frames / 100 * c.fps) <= 1.5
        assert len(c.active) == c.features.num_frames
        assert c.phones.source == "none" and not c.phones.segments  # no word alignments were copied
    assert [c.name for c in cached_clips(data, {"bbaf2n"})] == ["bbaf2n"]
    s = augment(videos.parent, data, AugmentConfig(variants=2, babble_pool=1), workers=1)
    assert s["copies"] == 2 and (data / "aug_00000.npz").is_file()
    with np.load(data / "aug_00000.npz") as z:
        assert z["names"].tolist() == ["bbaf2n#a0", "bbaf2n#a1"]  # the test clip gets no copies
        assert len(json.loads(str(z["meta"]))["draws"]) == 2
    pytest.importorskip("torch")
    from talkinghead.train.dataset import load_shards, split_names

    ds = load_shards(data)
    assert sorted(ds.names) == sorted(["bbaf2n", GRID_S1_TEST[0], "bbaf2n#a0", "bbaf2n#a1"])
    i, j = ds.names.index("bbaf2n"), ds.names.index("bbaf2n#a1")
    assert np.array_equal(ds.offsets[i], ds.offsets[j]) and not np.array_equal(ds.content[i], ds.content[j])
    train_i, val_i, val_aug_i = split_names(ds.names)
    assert sorted(ds.names[k] for k in train_i) == ["bbaf2n", "bbaf2n#a0", "bbaf2n#a1"] and val_i == val_aug_i == []
    normed = load_shards(data, vtln=True)  # the one training clip sets the reference; its copies are warped onto it
    assert normed.vtln_reference_hz > 0 and ds.vtln_reference_hz == 0.0
    assert np.array_equal(normed.content[i], ds.content[i]) and not np.array_equal(normed.content[j], ds.content[j])
    again = augment(videos.parent, data, AugmentConfig(variants=2, babble_pool=1), workers=1)
    assert again["written"] == 0  # resumable: existing files are kept


def test_split_by_clip_keeps_copies_with_their_clip() -> None:
    from talkinghead.eval.datasets import GRID_S1_TEST, GRID_S1_VALIDATION

    pytest.importorskip("torch")
    from talkinghead.train.dataset import split_names

    v, t = GRID_S1_VALIDATION[0], GRID_S1_TEST[0]
    names = ["bbaf2n", "bbaf2n#a0", v, f"{v}#a0", f"{v}#a1", t, f"{t}#a0"]
    train_i, val_i, val_aug_i = split_names(names)
    assert [names[i] for i in train_i] == ["bbaf2n", "bbaf2n#a0"]
    assert [names[i] for i in val_i] == [v] and [names[i] for i in val_aug_i] == [f"{v}#a0", f"{v}#a1"]
