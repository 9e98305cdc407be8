"""Eye blinks: natural rate, about 0.2 s each, preferring pauses.

Spontaneous blinks come every 2-6 s (about 10-20 per minute in conversation), last 100-400 ms
with a fast closing and a slower opening, and cluster at the ends of phrases.
"""

from __future__ import annotations

import numpy as np

#: Seconds: closing, fully closed, opening.
CLOSE_S, HOLD_S, OPEN_S = 0.07, 0.04, 0.11


def blink_times(duration_s: float, rate_per_min: float = 15.0, pauses_s: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """Start times (seconds) of blinks over ``duration_s``.

    Intervals are gamma-distributed around ``60 / rate_per_min``, clipped to [2, 6] s; a blink
    moves to a pause onset when one is within 0.6 s.

    Args:
        duration_s: length of the video (s).
        rate_per_min: mean blinks per minute (> 0; 0 disables blinking).
        pauses_s: times (s) where pauses begin, or None.
        seed: random seed.
    Returns:
        float64 ``[B]`` sorted start times.
    """
    if rate_per_min <= 0 or duration_s <= 0:
        return np.zeros(0)
    rng = np.random.default_rng(seed + 7919)
    mean = 60.0 / rate_per_min
    times = []
    t = rng.uniform(0.6, min(2.5, mean))
    pauses = np.asarray(pauses_s if pauses_s is not None else [], dtype=np.float64)
    while t < duration_s - (CLOSE_S + HOLD_S + OPEN_S):
        if pauses.size:
            near = pauses[np.abs(pauses - t) < 0.6]
            if near.size and (not times or near[0] - times[-1] > 1.5):
                t = float(near[0])
        times.append(t)
        t += float(np.clip(rng.gamma(4.0, mean / 4.0), min(2.0, mean), max(6.0, mean)))
    return np.array(times)


def blink_curve(times_s: np.ndarray, fps: float, num_frames: int) -> np.ndarray:
    """Eyelid closure per frame from blink start times, float32 ``[F]`` in [0, 1].

    Each blink is snapped so that its closed phase covers a frame time: every blink shows at
    least one fully closed frame.
    """
    out = np.zeros(num_frames, np.float32)
    t = np.arange(num_frames) / fps
    for start in times_s:
        f_closed = int(np.ceil((start + CLOSE_S) * fps))
        s = f_closed / fps - CLOSE_S
        u = t - s
        c = np.where(u < 0, 0.0,
            np.where(u < CLOSE_S, np.sin(0.5 * np.pi * u / CLOSE_S) ** 2,
            np.where(u < CLOSE_S + HOLD_S, 1.0,
            np.where(u < CLOSE_S + HOLD_S + OPEN_S, np.cos(0.5 * np.pi * (u - CLOSE_S - HOLD_S) / OPEN_S) ** 2, 0.0))))
        out = np.maximum(out, c.astype(np.float32))
    return out


class BlinkStream:
    """Blink timing decided as speech arrives, for a stream: the process of :func:`blink_times`.

    The intervals are the same gamma process as :func:`blink_times` (same seed, same draws); a
    blink moves to a pause onset within 0.6 s only if that pause has already been heard (a stream
    knows the speech up to its look-ahead) and the blink has not started yet.

    Args:
        fps: video frame rate (Hz).
        rate_per_min: mean blinks per minute (0: never).
        seed: random seed.
    """

    def __init__(self, fps: float, rate_per_min: float = 15.0, seed: int = 0) -> None:
        self.fps = float(fps)
        self.rate = float(rate_per_min)
        self._rng = np.random.default_rng(seed + 7919)
        self._mean = 60.0 / self.rate if self.rate > 0 else np.inf
        self._next = float(self._rng.uniform(0.6, min(2.5, self._mean))) if self.rate > 0 else np.inf
        self._starts: list[float] = []  # blinks that may still show
        self._last = -np.inf  # the latest blink's start (kept after it has ended, for the spacing rule)

    def curve(self, first: int, n: int, pauses_s: np.ndarray) -> np.ndarray:
        """Eyelid closure of frames ``[first, first + n)``, float32 ``[n]`` in [0, 1].

        Args:
            first: the first frame not asked for before (frames are asked for in order).
            n: frames wanted.
            pauses_s: the pause onsets (s) heard so far that are not yet shown.
        """
        end_s = (first + n) / self.fps
        pauses = np.asarray(pauses_s, np.float64)
        now = first / self.fps
        while self._next < end_s:
            t = self._next
            near = pauses[(np.abs(pauses - t) < 0.6) & (pauses >= now)]
            if near.size and near[0] - self._last > 1.5:
                t = float(near[0])
            self._starts.append(t)
            self._last = t
            self._next = t + float(np.clip(self._rng.gamma(4.0, self._mean / 4.0), min(2.0, self._mean),
                                           max(6.0, self._mean)))
        span = CLOSE_S + HOLD_S + OPEN_S + 2.0 / self.fps
        self._starts = [s for s in self._starts if s + span >= now]
        times = np.array(self._starts) - first / self.fps
        return blink_curve(times, self.fps, n) if len(times) else np.zeros(n, np.float32)
