"""Vocal tract length normalisation (VTLN) of frame features: one frequency scale per utterance.

Speakers differ most in the length of their vocal tract, which scales every formant by about the
same factor (Lee & Rose 1996; Eide & Gish 1996). A model trained on one speaker reads another
voice better when that voice's spectrum is first stretched so that its formants sit where the
training speaker's do. Here the stretch is applied to the features, not the waveform: the log-mel
is resampled along frequency and the formant tracks are scaled (the feature-space warp of VTLP,
Jaitly & Hinton 2013); pitch is already normalised per utterance by the motion model's inputs.

The factor is estimated from the utterance itself (no speaker labels, no text): the geometric
mean of the median F1 and the median F2 over voiced, active frames, against a reference (the
training speaker's, stored with the model). Cost: about 0.1 ms per second of speech.

Used by models trained with ``talkinghead train motion --vtln``. Measured against real faces
(README, "Vocal tract length normalisation"): much better on GRID s4, slightly worse on the other
unseen speakers within speech and on the interview clips, so the shipped model does not use it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from talkinghead.audio.features import hz_to_mel, mel_to_hz
from talkinghead.types import N_MELS, AudioFeatures

#: Warp factors are clipped to this range (a shorter or longer vocal tract than ~25% is an error of the estimate).
FACTOR_LIMITS = (0.8, 1.25)
#: Fewer voiced, active frames than this (0.3 s at 100 Hz): too little speech to estimate, factor 1.
MIN_VOICED_FRAMES = 30
#: Upper edge of the log-mel (Hz): the Nyquist frequency of the 16 kHz analysis.
MEL_TOP_HZ = 8000.0


def formant_scale(features: AudioFeatures, active: np.ndarray) -> float:
    """Geometric mean of the median F1 and the median F2 over voiced, active frames.

    Args:
        features: 100 Hz features (``f0`` float32 ``[T]`` Hz, 0 unvoiced; ``formants`` ``[T, 2]`` Hz, 0 unknown).
        active: bool ``[T]`` voice activity.
    Returns:
        Hz (> 0), or 0.0 when fewer than :data:`MIN_VOICED_FRAMES` frames are voiced, active and
        have both formants.
    """
    fm = np.asarray(features.formants, np.float32).reshape(-1, 2)
    n = min(len(fm), len(features.f0), len(active))
    ok = (np.asarray(features.f0[:n]) > 0) & np.asarray(active[:n], bool) & (fm[:n, 0] > 0) & (fm[:n, 1] > 0)
    if int(ok.sum()) < MIN_VOICED_FRAMES:
        return 0.0
    return float(np.sqrt(np.median(fm[:n][ok, 0]) * np.median(fm[:n][ok, 1])))


def warp_factor(features: AudioFeatures, active: np.ndarray, reference_hz: float, strength: float = 1.0) -> float:
    """The frequency scale that moves this utterance's formants onto ``reference_hz``.

    Args:
        strength: in [0, 1], the share of the way (in log frequency) to go: 1 all the way, 0.5
            half (a noisy estimate of a 3 s utterance then moves it less).
    Returns:
        ``(reference_hz / formant_scale) ** strength`` clipped to :data:`FACTOR_LIMITS`; 1.0 when
        the scale is unknown (too little voiced speech) or ``reference_hz`` is not positive.
    """
    if not reference_hz > 0:  # no normalisation: nothing to estimate (the stream asks every pass)
        return 1.0
    scale = formant_scale(features, active)
    if scale <= 0:
        return 1.0
    return float(np.clip((reference_hz / scale) ** float(strength), *FACTOR_LIMITS))


def warp_mel(mel: np.ndarray, factor: float) -> np.ndarray:
    """Log-mel as if every frequency were scaled by ``factor``: band ``k`` takes the value at ``centre_k / factor``.

    Args:
        mel: float32 ``[..., 80]`` log-mel (Slaney bands over 0-8 kHz, as :mod:`talkinghead.audio.features`).
        factor: > 0; below 1 lowers the voice (formants move down).
    Returns:
        float32, same shape (linear interpolation between bands; beyond the top band, the top band).
    """
    if factor == 1.0:
        return np.asarray(mel, np.float32)
    i0, i1, w = _band_weights(round(float(factor), 6))
    mel = np.asarray(mel, np.float32)
    return (mel[..., i0] * (1.0 - w) + mel[..., i1] * w).astype(np.float32)


def warp_features(features: AudioFeatures, factor: float) -> AudioFeatures:
    """:func:`warp_mel` on the log-mel and formants scaled by ``factor``; loudness and pitch unchanged."""
    if factor == 1.0:
        return features
    return AudioFeatures(mel=warp_mel(features.mel, factor), energy=features.energy, f0=features.f0,
                         formants=(np.asarray(features.formants, np.float32) * np.float32(factor)),
                         frame_rate=features.frame_rate)


def normalise(features: AudioFeatures, active: np.ndarray, reference_hz: float,
              strength: float = 1.0) -> tuple[AudioFeatures, float]:
    """Warp an utterance's features toward the reference vocal tract (:func:`warp_factor`): ``(warped features, factor)``."""
    factor = warp_factor(features, active, reference_hz, strength)
    return warp_features(features, factor), factor


@lru_cache(maxsize=64)
def _band_weights(factor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source band pairs and weights of :func:`warp_mel` (Slaney mel centres, as the filterbank's)."""
    centres_mel = np.linspace(hz_to_mel(0.0), hz_to_mel(MEL_TOP_HZ), N_MELS + 2)[1:-1]
    centres_hz = mel_to_hz(centres_mel)
    src = np.interp(hz_to_mel(np.minimum(centres_hz / factor, centres_hz[-1])), centres_mel, np.arange(N_MELS))
    i0 = np.clip(np.floor(src).astype(np.int64), 0, N_MELS - 1)
    i1 = np.minimum(i0 + 1, N_MELS - 1)
    return i0, i1, (src - i0).astype(np.float32)
