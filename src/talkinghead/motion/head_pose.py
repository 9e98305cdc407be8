"""Head pose from speech prosody (the rule path of Audio2Head's head-pose stage).

Audio2Head (Wang et al., IJCAI 2021) predicts a 6D rigid head pose from audio with a recurrent
network. Without training data for that, we use what is known about speakers' heads: slow,
mean-reverting wander (no drift), small nods on emphasised syllables (loudness onsets), the head
rising with the voice's pitch, and calmer motion in pauses. Deterministic for a given seed.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from talkinghead.motion.acoustic import loudness, resample_curve
from talkinghead.types import AudioFeatures

#: Stationary standard deviation of the wander, degrees (pitch, yaw, roll).
WANDER_STD_DEG = (1.6, 2.4, 1.0)
#: Mean-reversion rate of the wander (1/s): larger is steadier, never drifts.
REVERSION = 0.6
#: Peak nod on an emphasised syllable, degrees (positive pitch = chin down).
NOD_DEG = 2.2


def prosody_head_pose(
    features: AudioFeatures,
    active: np.ndarray,
    fps: float,
    num_frames: int,
    scale: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """Head pose curves driven by prosody.

    Args:
        features: 100 Hz audio features (energy dBFS, f0 Hz).
        active: bool ``[T]`` voice activity.
        fps: video frame rate (Hz).
        num_frames: F.
        scale: amplitude multiplier (0 = still head).
        seed: random seed of the wander.
    Returns:
        float32 ``[F, 6]``: pitch, yaw, roll (degrees, relative to the portrait's pose) and
        tx, ty, tz (IOD units). Mean-reverting: no drift over long audio.
    """
    out = np.zeros((num_frames, 6), np.float32)
    if scale <= 0 or num_frames == 0:
        return out
    rng = np.random.default_rng(seed)
    dt = 1.0 / fps
    # Ornstein-Uhlenbeck wander per axis, started from its stationary distribution.
    std = np.array(WANDER_STD_DEG)
    sigma = std * np.sqrt(2.0 * REVERSION)
    x = rng.normal(0.0, 1.0, 3) * std
    noise = rng.normal(0.0, 1.0, (num_frames, 3))
    wander = np.empty((num_frames, 3))
    a = np.exp(-REVERSION * dt)
    b = sigma * np.sqrt((1.0 - a * a) / (2.0 * REVERSION))
    for i in range(num_frames):
        x = a * x + b * noise[i]
        wander[i] = x
    wander = gaussian_filter1d(wander, 0.12 * fps, axis=0, mode="nearest")
    # Calmer in pauses.
    act = resample_curve(gaussian_filter1d(active.astype(np.float64), 40.0), features.frame_rate, fps, num_frames)
    calm = 0.35 + 0.65 * act
    # Nods on emphasis: positive loudness onsets.
    loud = gaussian_filter1d(loudness(features, active), 4.0)
    onset = np.clip(np.diff(loud, prepend=loud[:1]) * features.frame_rate, 0.0, None)
    onset = gaussian_filter1d(onset, 12.0)
    onset = onset / (np.percentile(onset[active], 95) + 1e-6) if active.any() else onset * 0
    nod = NOD_DEG * np.clip(resample_curve(onset, features.frame_rate, fps, num_frames), 0.0, 1.5)
    # Head rises with the voice: F0 relative to the speaker's median, in semitones.
    f0 = features.f0.astype(np.float64)
    voiced = f0 > 0
    rise = np.zeros_like(f0)
    if voiced.sum() > 10:
        med = np.median(f0[voiced])
        st = np.where(voiced, 12.0 * np.log2(np.maximum(f0, 1.0) / med), 0.0)
        rise = gaussian_filter1d(np.clip(st, -6.0, 6.0), 15.0)
    rise_f = resample_curve(rise, features.frame_rate, fps, num_frames)
    out[:, 0] = (wander[:, 0] * calm + nod - 0.25 * rise_f) * scale
    out[:, 1] = wander[:, 1] * calm * scale
    out[:, 2] = wander[:, 2] * calm * scale
    out[:, 3] = 0.004 * out[:, 1]
    out[:, 4] = 0.003 * out[:, 0]
    return out


def brow_raise(features: AudioFeatures, fps: float, num_frames: int) -> np.ndarray:
    """Eyebrow raise on pitch accents (high F0 relative to the speaker), float32 ``[F]`` in [0, 0.6]."""
    f0 = features.f0.astype(np.float64)
    voiced = f0 > 0
    if voiced.sum() <= 10:
        return np.zeros(num_frames, np.float32)
    med = np.median(f0[voiced])
    st = np.where(voiced, 12.0 * np.log2(np.maximum(f0, 1.0) / med), 0.0)
    b = gaussian_filter1d(np.clip((st - 2.0) / 4.0, 0.0, 1.0), 10.0)
    return np.clip(resample_curve(b, features.frame_rate, fps, num_frames) * 0.6, 0.0, 0.6)
