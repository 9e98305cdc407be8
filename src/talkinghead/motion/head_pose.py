"""Head pose from speech prosody (the rule path of Audio2Head's head-pose stage).

Audio2Head (Wang et al., IJCAI 2021) predicts a 6D rigid head pose from audio with a recurrent
network. Without training data for that, we use what is known about speakers' heads: slow,
mean-reverting wander (no drift), small nods on emphasised syllables (loudness onsets), the head
rising with the voice's pitch, and calmer motion in pauses. Deterministic for a given seed.
"""

from __future__ import annotations

import numpy as np

from talkinghead.motion.acoustic import loudness, resample_curve
from talkinghead.motion.filters import gaussian_filter1d, gaussian_kernel
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
    wander: np.ndarray | None = None,
) -> np.ndarray:
    """Head pose curves driven by prosody.

    Args:
        features: 100 Hz audio features (energy dBFS, f0 Hz).
        active: bool ``[T]`` voice activity.
        fps: video frame rate (Hz).
        num_frames: F.
        scale: amplitude multiplier (0 = still head).
        seed: random seed of the wander.
        wander: float ``[F, 3]`` degrees, the wander to use instead of :func:`head_wander` of ``seed``
            (a stream passes its stretch of one :class:`HeadWander`).
    Returns:
        float32 ``[F, 6]``: pitch, yaw, roll (degrees, relative to the portrait's pose) and
        tx, ty, tz (IOD units). Mean-reverting: no drift over long audio.
    """
    out = np.zeros((num_frames, 6), np.float32)
    if scale <= 0 or num_frames == 0:
        return out
    wander = head_wander(num_frames, fps, seed) if wander is None else np.asarray(wander, np.float64)
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


class HeadWander:
    """The head's slow wander (pitch, yaw, roll), drawn frame by frame: the same for a whole clip or in pieces.

    An Ornstein-Uhlenbeck process per axis (stationary deviation :data:`WANDER_STD_DEG`,
    mean reversion :data:`REVERSION`), started from its stationary distribution, smoothed by a
    Gaussian of 0.12 s. It depends on nothing but the seed, so a stream draws it ahead of the
    speech: :meth:`take` returns the next frames, the same values whether asked for at once or in pieces.

    Args:
        fps: video frame rate (Hz, > 0).
        seed: random seed.
    """

    def __init__(self, fps: float, seed: int = 0) -> None:
        self._rng = np.random.default_rng(seed)
        std = np.array(WANDER_STD_DEG)
        self._x = self._rng.normal(0.0, 1.0, 3) * std
        self._a = float(np.exp(-REVERSION / fps))
        self._b = std * np.sqrt(2.0 * REVERSION) * np.sqrt((1.0 - self._a ** 2) / (2.0 * REVERSION))
        self._kernel = gaussian_kernel(0.12 * fps)  # the offline smoothing's kernel (fps > 0)
        self._radius = len(self._kernel) // 2
        self._raw = np.zeros((0, 3))  # raw path from frame ``_next - radius`` (clamped at 0) on
        self._next = 0

    def _draw(self, n: int) -> np.ndarray:
        noise = self._rng.normal(0.0, 1.0, (n, 3))
        out = np.empty((n, 3))
        x = self._x
        for i in range(n):
            x = self._a * x + self._b * noise[i]
            out[i] = x
        self._x = x
        return out

    def take(self, n: int) -> np.ndarray:
        """The next ``n`` frames of the wander, float64 ``[n, 3]`` degrees."""
        if n <= 0:
            return np.zeros((0, 3))
        r = self._radius
        if self._next == 0:  # the start is padded with the first value (scipy's "nearest")
            first = self._draw(1)
            self._raw = np.repeat(first, r + 1, axis=0)
        have_to = self._next + len(self._raw) - r  # raw frames known: [_next - r, have_to)
        need = self._next + n + r - have_to
        if need > 0:
            self._raw = np.concatenate([self._raw, self._draw(need)])
        out = np.stack([np.convolve(self._raw[:, j], self._kernel, mode="valid")[:n] for j in range(3)], axis=1)
        self._raw = self._raw[n:]
        self._next += n
        return out


def head_wander(num_frames: int, fps: float, seed: int = 0) -> np.ndarray:
    """The first ``num_frames`` frames of :class:`HeadWander` (``fps``, ``seed``), float64 ``[F, 3]`` degrees."""
    return HeadWander(fps, seed).take(num_frames)
