"""Track a face through a video with MediaPipe: what ``dub`` animates and every evaluation metric measures.

Real and generated frames go through the same model (MediaPipe Face Landmarker in VIDEO mode,
DESIGN.md "Evaluation"), so their landmarks are directly comparable. :func:`smooth_track` turns
a raw :class:`Track` (NaN where no face) into a :class:`FaceTrack`: gaps filled, landmarks
smoothed over time so a face re-animated on them does not swim.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from talkinghead.types import N_LANDMARKS, FaceMesh, FaceTrack


@dataclass(frozen=True)
class Track:
    """One face followed through a video.

    Attributes:
        landmarks: float32 ``[F, 478, 3]``: x, y in image pixels, z relative depth (same scale);
            rows are NaN where no face was found.
        pose: float32 ``[F, 3]`` head pose pitch, yaw, roll in degrees (NaN where no face).
        blink: float32 ``[F]`` eyelid closure score in [0, 1]: mean of MediaPipe's
            ``eyeBlinkLeft`` and ``eyeBlinkRight`` blendshapes (NaN where no face).
        fps: frames per second (> 0).
        size: ``(height, width)`` of the frames in pixels.
    """

    landmarks: np.ndarray
    pose: np.ndarray
    blink: np.ndarray
    fps: float
    size: tuple[int, int]

    @property
    def num_frames(self) -> int:
        return int(self.landmarks.shape[0])

    @property
    def found(self) -> np.ndarray:
        """bool ``[F]``: a face was found in the frame."""
        return np.isfinite(self.landmarks[:, 0, 0])

    @property
    def detection_rate(self) -> float:
        """Share of frames with a face, in [0, 1] (0 for an empty track)."""
        return float(self.found.mean()) if self.num_frames else 0.0

    def slice(self, start: int, stop: int) -> Track:
        """Frames ``[start, stop)`` as a new Track."""
        return Track(landmarks=self.landmarks[start:stop], pose=self.pose[start:stop],
                     blink=self.blink[start:stop], fps=self.fps, size=self.size)


#: Shorter side (pixels) larger videos are tracked at, when a Tracker is asked to (720p as it is, 1080p downscaled).
TRACK_SHORT_SIDE = 720


class Tracker:
    """Incremental face tracker: feed frames one at a time, then take the :class:`Track`.

    Used as a context manager (it holds a MediaPipe graph). Frames must come in time order.

    MediaPipe's VIDEO mode crops each frame around the previous frame's face, and on the first
    frames that crop is still settling: on a repeated still frame the lips move by up to 2 px
    over about 8 frames before they stop. So the first frame is first given ``warmup`` times
    (outputs discarded): a clip's first frames are measured like its later ones, and a still
    image gives a still track.

    Args:
        fps: frame rate of the frames (> 0), for MediaPipe's timestamps.
        warmup: times the first frame is tracked before it counts (>= 0).
        max_short_side: frames whose shorter side is longer (1080p and up) are tracked on a copy
            downscaled to it; landmarks and boxes still come in the frame's own pixels. None: as given.
    """

    def __init__(self, fps: float, warmup: int = 10, max_short_side: int | None = None) -> None:
        from talkinghead.face.landmarks import FaceLandmarker

        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps!r}")
        self.fps = float(fps)
        self.warmup = max(0, int(warmup))
        self.max_short_side = max_short_side
        self._landmarker = FaceLandmarker(video=True, max_faces=1)
        self._lm: list[np.ndarray] = []
        self._pose: list[np.ndarray] = []
        self._blink: list[float] = []
        self._size: tuple[int, int] | None = None

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the MediaPipe graph (idempotent)."""
        self._landmarker.close()

    def add(self, frame: np.ndarray) -> FaceMesh | None:
        """Track one uint8 ``[H, W, 3]`` RGB frame; returns the face found (largest) or None."""
        scale = 1.0
        if self.max_short_side is not None:
            scale = min(1.0, self.max_short_side / min(frame.shape[:2]))
        full = frame
        if scale < 1.0:
            import cv2

            frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if self._size is None:
            self._size = (int(full.shape[0]), int(full.shape[1]))
            for k in range(self.warmup):
                self._landmarker.detect(frame, timestamp_ms=int(round(k * 1000.0 / self.fps)))
        t_ms = int(round((self.warmup + len(self._lm)) * 1000.0 / self.fps))
        faces = self._landmarker.detect(frame, timestamp_ms=t_ms)
        if faces:
            f = faces[0]
            if scale < 1.0:  # back to the frame's own pixels (z scales alike)
                f = replace(f, landmarks=(f.landmarks / scale).astype(np.float32),
                            box=tuple(int(round(v / scale)) for v in f.box), image_size=self._size)
            self._lm.append(f.landmarks.astype(np.float32))
            self._pose.append(f.rotation_deg.astype(np.float32))
            self._blink.append(0.5 * (f.blendshape("eyeBlinkLeft") + f.blendshape("eyeBlinkRight")))
            return f
        self._lm.append(np.full((N_LANDMARKS, 3), np.nan, np.float32))
        self._pose.append(np.full(3, np.nan, np.float32))
        self._blink.append(float("nan"))
        return None

    def skip(self) -> None:
        """Count the next frame as not tracked: a NaN row (:func:`fill_skipped` fills it from its neighbours)."""
        self._lm.append(np.full((N_LANDMARKS, 3), np.nan, np.float32))
        self._pose.append(np.full(3, np.nan, np.float32))
        self._blink.append(float("nan"))

    def track(self) -> Track:
        """The frames tracked so far."""
        n = len(self._lm)
        return Track(
            landmarks=np.stack(self._lm) if n else np.zeros((0, N_LANDMARKS, 3), np.float32),
            pose=np.stack(self._pose) if n else np.zeros((0, 3), np.float32),
            blink=np.asarray(self._blink, dtype=np.float32),
            fps=self.fps,
            size=self._size or (0, 0),
        )


def fill_skipped(track: Track, skipped: np.ndarray) -> Track:
    """Frames left out of tracking (:meth:`Tracker.skip`) filled in linearly between the tracked frames around them.

    Args:
        track: the raw track; rows of skipped frames are NaN.
        skipped: bool ``[F]``, True where a frame was not tracked; the first and last frames must be tracked.
    Returns:
        A new Track: each skipped frame holds the linear interpolation, by frame index, of the landmarks,
        pose and blink of the nearest tracked frames before and after it; NaN (no face) where either has none.
    Raises:
        ValueError: ``skipped`` has the wrong length, or the first or last frame was skipped.
    """
    skipped = np.asarray(skipped, bool)
    n = track.num_frames
    if skipped.shape != (n,) or (n and (skipped[0] or skipped[-1])):
        raise ValueError("fill_skipped: one flag per frame, and the first and last frames tracked")
    gap = np.flatnonzero(skipped)
    if not len(gap):
        return track
    kept = np.flatnonzero(~skipped)
    after = kept[np.searchsorted(kept, gap)]
    before = kept[np.searchsorted(kept, gap) - 1]
    w = ((gap - before) / (after - before)).astype(np.float32)

    def fill(a: np.ndarray) -> np.ndarray:
        out = a.copy()
        ww = w.reshape((-1,) + (1,) * (a.ndim - 1))
        out[gap] = (1.0 - ww) * a[before] + ww * a[after]
        return out

    return replace(track, landmarks=fill(track.landmarks), pose=fill(track.pose), blink=fill(track.blink))


def track_frames(frames: Iterable[np.ndarray], fps: float, limit: int | None = None) -> Track:
    """Track a face through frames (any iterator, e.g. a generator's output; streamed).

    Args:
        frames: uint8 ``[H, W, 3]`` RGB frames in time order.
        fps: their frame rate (> 0).
        limit: stop after this many frames (None: all).
    Returns:
        The :class:`Track` (NaN rows where no face).
    """
    with Tracker(fps) as tracker:
        for i, frame in enumerate(frames):
            if limit is not None and i >= limit:
                break
            tracker.add(frame)
        return tracker.track()


def video_frames(path: str | os.PathLike[str], fps: float | None = None) -> Iterator[np.ndarray]:
    """RGB frames of a video file on its own constant frame-rate grid (see :func:`read_video`)."""
    from talkinghead.media.video import probe_video, read_video

    rate = fps if fps is not None else probe_video(path).fps
    return read_video(path, fps=rate)


def track_video(path: str | os.PathLike[str], limit: int | None = None) -> Track:
    """Track the face through a video file at its own (mean) frame rate.

    Raises:
        InputError: the file is missing or not a readable video.
    """
    from talkinghead.media.video import probe_video

    fps = probe_video(path).fps
    return track_frames(video_frames(path, fps), fps, limit=limit)


def smooth_track(track: Track, sigma_frames: float = 1.0, max_yaw: float = 45.0) -> FaceTrack:
    """Fill a track's gaps and smooth it over time.

    Landmark jitter of MediaPipe (about 0.5 px on a still face) would make a re-animated mouth
    swim; a Gaussian of ``sigma_frames`` over time (applied within runs of found frames, never
    across a gap) removes it, and with it some speech-rate motion: its gain at f Hz is
    ``exp(-(2 pi f sigma / fps)^2 / 2)``, at 25 fps with a 1-frame sigma 0.75 at 3 Hz, 0.60 at 4 Hz
    and 0.32 at 6 Hz (dubbing uses :data:`talkinghead.dubbing.TRACK_SIGMA`).

    Args:
        track: the raw track (NaN rows where no face).
        sigma_frames: temporal Gaussian standard deviation, in frames (0: no smoothing).
        max_yaw: faces turned further than this (degrees) count as not found.
    Returns:
        The :class:`FaceTrack`. With no face in any frame, landmarks are all zeros and ``found``
        all False.
    """
    from talkinghead.motion.filters import gaussian_filter1d

    n = track.num_frames
    found = track.found & (np.abs(np.nan_to_num(track.pose[:, 1])) <= max_yaw)
    lm = track.landmarks.astype(np.float64)
    pose = track.pose.astype(np.float64)
    if not found.any():
        return FaceTrack(landmarks=np.zeros_like(track.landmarks), pose=np.zeros_like(track.pose),
                         found=found, fps=track.fps, size=track.size)
    idx = np.flatnonzero(found)
    frames = np.arange(n)
    flat, pflat = lm.reshape(n, -1), pose
    for arr in (flat, pflat):
        for j in range(arr.shape[1]):
            arr[:, j] = np.interp(frames, idx, arr[idx, j])
    if sigma_frames > 0:
        # Smooth each run of found frames on its own (a gap's fill stays a straight line).
        edges = np.flatnonzero(np.diff(found.astype(np.int8))) + 1
        for run in np.split(frames, edges):
            if found[run[0]] and len(run) > 2:
                flat[run] = gaussian_filter1d(flat[run], sigma_frames, axis=0, mode="nearest")
                pflat[run] = gaussian_filter1d(pflat[run], sigma_frames, axis=0, mode="nearest")
    return FaceTrack(landmarks=flat.reshape(lm.shape).astype(np.float32), pose=pflat.astype(np.float32),
                     found=found, fps=track.fps, size=track.size)


def blink_count(blink: np.ndarray, rise: float = 0.25, fall: float = 0.12) -> int:
    """Number of blinks in an eyelid-closure curve, with hysteresis above the clip's resting level.

    The resting level is the 10th percentile of the scores (people whose eyes look narrow score
    higher at rest; a low percentile, not the median, keeps clips with many blinks honest). A
    blink starts when the score rises ``rise`` above it and ends when it falls back below
    ``fall`` above it.

    Args:
        blink: float ``[F]`` eyelid closure scores in [0, 1] (NaN frames are skipped).
        rise, fall: hysteresis thresholds above the resting level (``fall < rise``).
    Returns:
        Blink count (>= 0).
    """
    b = np.asarray(blink, dtype=np.float64)
    b = b[np.isfinite(b)]
    if b.size == 0:
        return 0
    rest = float(np.percentile(b, 10))
    count, closed = 0, False
    for v in b - rest:
        if not closed and v >= rise:
            count, closed = count + 1, True
        elif closed and v < fall:
            closed = False
    return count


def blink_rate(blink: np.ndarray, fps: float) -> float:
    """Blinks per minute in an eyelid-closure curve (:func:`blink_count` over the clip's duration).

    Args:
        blink: float ``[F]`` eyelid closure scores.
        fps: frame rate (Hz).
    Returns:
        Blinks per minute (NaN for an empty curve).
    """
    n = len(blink)
    return float(blink_count(blink) * 60.0 * fps / n) if n else float("nan")
