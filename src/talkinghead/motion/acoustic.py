"""Language-independent mouth motion from the acoustics alone, and loudness scaling of the jaw.

Used when no phones are available (no transcript, recognition failed, not English). Known
relations from speech production (see DESIGN.md, "The rule path"): silence -> closed lips;
loudness and the first formant F1 -> jaw opening; a low second formant F2 -> rounded lips,
a high F2 -> spread lips; deep short dips of energy inside speech are stop closures; strong
high-frequency noise with no voicing is a fricative (teeth close, lips slightly apart).
"""

from __future__ import annotations

import numpy as np

from talkinghead.motion.filters import gaussian_filter1d, maximum_filter1d
from talkinghead.motion.rig import AU_NAMES
from talkinghead.types import AudioFeatures

_K = {name: i for i, name in enumerate(AU_NAMES)}


def resample_curve(x: np.ndarray, src_rate: float, fps: float, num_frames: int, window_s: float = 0.04) -> np.ndarray:
    """Average a feature curve over a window around each video frame time.

    Args:
        x: float ``[T, ...]`` curve sampled at ``src_rate`` Hz.
        src_rate: rate of ``x`` (Hz).
        fps: video frame rate (Hz).
        num_frames: F, output length.
        window_s: averaging window (seconds, centred on the frame time).
    Returns:
        float32 ``[F, ...]``.
    """
    x = np.asarray(x, dtype=np.float64)
    c = np.concatenate([np.zeros((1,) + x.shape[1:]), np.cumsum(x, axis=0)])
    t = np.arange(num_frames) / fps
    lo = np.clip(np.round((t - window_s / 2) * src_rate).astype(int), 0, len(x) - 1)
    hi = np.clip(np.round((t + window_s / 2) * src_rate).astype(int), lo + 1, len(x))
    n = (hi - lo).reshape((-1,) + (1,) * (x.ndim - 1))
    return ((c[hi] - c[lo]) / n).astype(np.float32)


def loudness(features: AudioFeatures, active: np.ndarray) -> np.ndarray:
    """Loudness relative to this speaker's speech level, float32 ``[T]`` in [0, 1].

    0 is 30 dB or more below the loud speech level (90th percentile of active frames), 1 at it.

    Args:
        features: audio features (energy in dBFS).
        active: bool ``[T]`` voice activity.
    """
    e = features.energy.astype(np.float64)
    ref = np.percentile(e[active], 90) if active.any() else float(e.max())
    return np.clip((e - (ref - 30.0)) / 30.0, 0.0, 1.0).astype(np.float32)


def jaw_gain(features: AudioFeatures, active: np.ndarray, fps: float, num_frames: int) -> np.ndarray:
    """Per-frame factor for ``jawOpen`` from local loudness (JALI: loudness moves the jaw, not the lips).

    Returns:
        float32 ``[F]`` in [0.55, 1.2]: quieter speech opens the jaw less, louder more.
    """
    loud = gaussian_filter1d(loudness(features, active), 5.0)
    g = 0.55 + 0.65 * loud
    return resample_curve(g, features.frame_rate, fps, num_frames)


def acoustic_to_au(features: AudioFeatures, active: np.ndarray, fps: float, num_frames: int, lead_s: float = 0.03) -> np.ndarray:
    """AU curves from acoustics only (no phones): works for any language.

    Args:
        features: 100 Hz audio features (energy dBFS, F1/F2 Hz, mel).
        active: bool ``[T]`` voice activity.
        fps: video frame rate.
        num_frames: F.
        lead_s: seconds the mouth leads the sound.
    Returns:
        float32 ``[F, K]`` AU coefficients in [0, 1], :data:`~talkinghead.motion.rig.AU_NAMES` order.
    """
    rate = features.frame_rate
    loud = loudness(features, active)
    act = gaussian_filter1d(active.astype(np.float64), 3.0)
    f1, f2 = features.formants[:, 0], features.formants[:, 1]
    voiced = (features.f0 > 0) & (f1 > 0)
    f1n = np.where(voiced, np.clip((f1 - 250.0) / 550.0, 0.0, 1.0), 0.35)
    jaw = loud ** 0.8 * (0.45 + 0.55 * f1n) * act
    rnd = np.where(voiced & (f1 < 650), np.clip((1350.0 - f2) / 500.0, 0.0, 1.0), 0.0) * act
    spread = np.where(voiced, np.clip((f2 - 1800.0) / 600.0, 0.0, 1.0), 0.0) * act
    # Fricatives: energy concentrated above ~3.5 kHz, unvoiced.
    mel_p = np.exp(features.mel.astype(np.float64))
    hf = mel_p[:, 56:].sum(1) / (mel_p.sum(1) + 1e-12)
    fric = np.where(~voiced & active, np.clip((hf - 0.35) / 0.3, 0.0, 1.0), 0.0)
    jaw = jaw * (1.0 - 0.7 * fric)
    spread = np.maximum(spread, 0.35 * fric)
    # Stop closures: short, deep energy dips inside speech.
    es = gaussian_filter1d(features.energy.astype(np.float64), 1.5)
    depth = np.minimum(maximum_filter1d(es, 9, origin=4), maximum_filter1d(es, 9, origin=-4)) - es
    local_min = (es <= np.roll(es, 1)) & (es <= np.roll(es, -1))
    close = np.where(local_min & (act > 0.5), np.clip((depth - 6.0) / 8.0, 0.0, 1.0), 0.0)
    close = np.maximum(gaussian_filter1d(close, 2.0) * 2.5, 0.3 * (1.0 - act))
    au100 = np.zeros((len(loud), len(AU_NAMES)))
    au100[:, _K["jawOpen"]] = jaw * (1.0 - 0.8 * np.clip(close, 0, 1))
    au100[:, _K["mouthClose"]] = close
    au100[:, _K["mouthPucker"]] = 0.6 * rnd
    au100[:, _K["mouthFunnel"]] = 0.4 * rnd
    au100[:, _K["mouthStretch"]] = 0.5 * spread
    au100 = gaussian_filter1d(au100, 2.5, axis=0)
    shift = int(round(lead_s * rate))
    if shift > 0:
        au100 = np.concatenate([au100[shift:], np.repeat(au100[-1:], shift, axis=0)])
    return np.clip(resample_curve(au100, rate, fps, num_frames, window_s=0.03), 0.0, 1.0)
