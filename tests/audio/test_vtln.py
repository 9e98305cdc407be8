"""Vocal tract length normalisation: the warp moves spectra and formants, the estimate follows a real voice shift."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from talkinghead.audio.augment import voice_shift
from talkinghead.audio.features import compute_features, hz_to_mel, mel_to_hz, speech_activity
from talkinghead.audio.vtln import FACTOR_LIMITS, formant_scale, normalise, warp_factor, warp_features, warp_mel
from talkinghead.types import AudioFeatures, Speech


def _centres() -> np.ndarray:
    return mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(8000.0), 82)[1:-1])


def test_warp_mel_moves_a_spectral_peak_by_the_factor() -> None:
    c = _centres()
    mel = np.exp(-0.5 * ((c - 1000.0) / 80.0) ** 2)[None].repeat(3, 0).astype(np.float32)
    assert np.array_equal(warp_mel(mel, 1.0), mel)
    for a in (0.85, 1.2):
        out = warp_mel(mel, a)
        assert out.shape == mel.shape and out.dtype == np.float32
        peak = c[int(np.argmax(out[0]))]
        assert abs(peak - 1000.0 * a) < 0.06 * 1000.0 * a, (a, peak)


def _synthetic(n: int, f1: float, f2: float) -> tuple[AudioFeatures, np.ndarray]:
    t = 100
    f0 = np.zeros(t, np.float32)
    f0[:n] = 120.0
    fm = np.zeros((t, 2), np.float32)
    fm[:, 0], fm[:, 1] = f1, f2
    return AudioFeatures(mel=np.zeros((t, 80), np.float32), energy=np.zeros(t, np.float32), f0=f0, formants=fm), f0 > 0


def test_formant_scale_and_factor() -> None:
    feats, active = _synthetic(50, 500.0, 1500.0)
    assert abs(formant_scale(feats, active) - np.sqrt(500.0 * 1500.0)) < 1e-3
    assert abs(warp_factor(feats, active, 1.1 * np.sqrt(500.0 * 1500.0)) - 1.1) < 1e-6
    assert warp_factor(feats, active, 10.0) == FACTOR_LIMITS[0]  # clipped
    assert warp_factor(feats, active, 0.0) == 1.0  # no reference: no warp
    few, act = _synthetic(10, 500.0, 1500.0)  # 0.1 s of voice: too little to estimate
    assert formant_scale(few, act) == 0.0 and warp_factor(few, act, 800.0) == 1.0
    warped = warp_features(feats, 0.9)
    assert np.allclose(warped.formants, feats.formants * 0.9) and warped.f0 is feats.f0


def test_estimate_follows_a_real_voice_shift(shared_data: Path, load_speech: Callable[..., Speech]) -> None:
    """JFK and the same recording with every frequency raised 15%: the estimated scales differ by about 15%."""
    speech = load_speech(shared_data / "audio" / "whisper_jfk.flac")
    scales = []
    for x in (speech.samples, voice_shift(speech.samples, 1.15)):
        feats = compute_features(Speech(x, speech.sample_rate))
        scales.append(formant_scale(feats, speech_activity(feats)))
    ratio = scales[1] / scales[0]
    assert 1.08 < ratio < 1.22, scales
    feats = compute_features(Speech(voice_shift(speech.samples, 1.15), speech.sample_rate))
    _, factor = normalise(feats, speech_activity(feats), scales[0])
    assert abs(factor * ratio - 1.0) < 1e-5  # warped back onto the original voice
