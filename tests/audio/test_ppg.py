"""Phone posteriorgrams from pocketsphinx's acoustic model (talkinghead.audio.ppg), on real speech."""

from __future__ import annotations

import numpy as np
import pytest

from talkinghead.audio import align, compute_features, ppg
from talkinghead.types import Speech

JFK_TEXT = "And so, my fellow Americans: ask not what your country can do for you; ask what you can do for your country."


def test_the_models_codebooks_are_read_one_per_phone_and_stream() -> None:
    mu = ppg.read_s3_gaussians(ppg.model_dir() / "means")
    var = ppg.read_s3_gaussians(ppg.model_dir() / "variances")
    assert mu.shape == var.shape == (ppg.N_PPG, 3, 128, 13)
    assert np.isfinite(mu).all() and np.isfinite(var).all() and np.median(var) > 0


def test_cepstra_ignore_the_recording_level() -> None:
    rng = np.random.default_rng(0)
    mel = rng.normal(-8, 2, (300, 80)).astype(np.float32)
    a, b = ppg.sphinx_cepstra(mel), ppg.sphinx_cepstra(mel + 3.0)  # 13 dB louder
    assert a.shape == (300, 3, 13)
    np.testing.assert_allclose(a, b, atol=1e-3)
    assert np.abs(a[:, 0].mean(0)).max() < 1e-3  # cepstral mean removed


def test_posteriorgram_finds_the_aligned_phones_of_real_speech(jfk: Speech) -> None:
    feats = compute_features(jfk)
    p = ppg.ppg_features(feats.mel)
    assert p.shape == (feats.num_frames, ppg.N_PPG) and p.dtype == np.float32
    assert p.min() >= -1.0 and p.max() <= 0.0
    assert np.allclose(np.exp(p * -ppg.FLOOR).sum(1), 1.0, atol=0.05)  # log posteriors (a little lost to the clip)
    idx = {name: i for i, name in enumerate(ppg.CI_PHONES)}
    label = np.full(feats.num_frames, -1)
    for s in align(jfk, JFK_TEXT).phones.segments:
        label[int(round(s.start_s * 100)):int(round(s.end_s * 100))] = idx.get(s.phone, -1)
    best = p.argmax(1)
    speech = (label >= 0) & (label != idx["SIL"])
    pause = label == idx["SIL"]
    accuracy = (best[speech] == label[speech]).mean()
    assert accuracy > 0.2, accuracy  # 42 phones: chance is about 0.03
    noise = [idx["SIL"], idx["+NSN+"], idx["+SPN+"]]
    assert np.isin(best[pause], noise).mean() > 0.5
    assert np.isin(best[speech], noise).mean() < 0.15


def test_posteriorgram_of_nothing_is_empty() -> None:
    assert ppg.ppg_features(np.zeros((0, 80), np.float32)).shape == (0, ppg.N_PPG)
    with pytest.raises(ValueError, match="not a sphinx s3"):
        ppg.read_s3_gaussians(ppg.model_dir() / "mdef")
