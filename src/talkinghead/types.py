"""The data contracts passed between pipeline stages (see DESIGN.md, "Pipeline and contracts").

Stages exchange these frozen dataclasses, never dicts or file paths. Arrays are numpy;
shapes, dtypes and units are given per field.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Audio feature frame rate (frames per second): one frame every 10 ms.
FEATURE_RATE = 100.0
#: Number of mel bands in :class:`AudioFeatures`.
N_MELS = 80
#: Number of MediaPipe face-mesh landmarks (468 mesh + 10 iris).
N_LANDMARKS = 478
#: int16 samples of :class:`Speech` stand for ``int16 / PCM16_SCALE`` (the 16-bit PCM convention of
#: FFmpeg and libsndfile, so a 16-bit file's samples go to int16 and back exactly: see
#: :func:`pcm16_samples`).
PCM16_SCALE = 32768.0
#: Samples converted to 16-bit at a time by :func:`pcm16_samples` (bounds its float temporaries).
PCM16_BLOCK = 1 << 20


def pcm16_samples(x: np.ndarray) -> np.ndarray:
    """Samples as 16-bit PCM by the :data:`PCM16_SCALE` convention, a block at a time.

    Args:
        x: ``[N]`` samples, float in [-1, 1] (rounded to the nearest step; beyond clipped to
            -32768..32767; NaN as 0), or int16 (returned as it is, no copy).
    Returns:
        int16 ``[N]``: ``x * 32768`` rounded and clipped. A float ``x`` that came from int16 by
        ``/ 32768`` gives those int16 back exactly.
    """
    if x.dtype == np.int16:
        return x
    out = np.empty(len(x), np.int16)
    for i in range(0, len(x), PCM16_BLOCK):
        b = np.nan_to_num(x[i:i + PCM16_BLOCK], nan=0.0, posinf=1.0, neginf=-1.0)
        out[i:i + len(b)] = np.clip(np.rint(b * np.float32(PCM16_SCALE)), -32768, 32767)
    return out


@dataclass(frozen=True)
class Speech:
    """Mono speech, decoded and resampled once at the edge.

    Attributes:
        samples: float32 ``[N]`` in [-1, 1]; or int16 ``[N]``, 16-bit PCM standing for ``int16 /``
            :data:`PCM16_SCALE` (:func:`talkinghead.audio.phones.pcm16_speech`), half the memory: the
            speech analysis (features, alignment, recognition) takes either, and speech travels to the
            analysis process this way. Everything else takes float32.
        sample_rate: samples per second (Hz), > 0.
    """

    samples: np.ndarray
    sample_rate: int

    @property
    def duration_s(self) -> float:
        """Duration in seconds."""
        return float(len(self.samples)) / float(self.sample_rate)


@dataclass(frozen=True)
class AudioFeatures:
    """Frame-level acoustic features at :data:`FEATURE_RATE` (100 Hz, 10 ms hop).

    Attributes:
        mel: float32 ``[T, 80]`` natural-log mel power spectrogram (floor 1e-10).
        energy: float32 ``[T]`` loudness as RMS level in dBFS (about -100 for digital silence, 0 at full scale).
        f0: float32 ``[T]`` fundamental frequency in Hz, 0 where unvoiced.
        formants: float32 ``[T, 2]`` first and second formant (F1, F2) in Hz, 0 where unvoiced or unknown.
        frame_rate: frames per second (100).
    """

    mel: np.ndarray
    energy: np.ndarray
    f0: np.ndarray
    formants: np.ndarray
    frame_rate: float = FEATURE_RATE

    @property
    def num_frames(self) -> int:
        return int(self.energy.shape[0])

    def slice(self, start: int, stop: int | None = None) -> AudioFeatures:
        """Frames ``[start, stop)`` (views, same frame rate)."""
        s = slice(start, stop)
        return AudioFeatures(mel=self.mel[s], energy=self.energy[s], f0=self.f0[s], formants=self.formants[s],
                             frame_rate=self.frame_rate)


@dataclass(frozen=True)
class PhoneSegment:
    """One phone: ARPAbet symbol without stress digits (``"AA"``, ``"P"``), or ``"SIL"`` for silence."""

    phone: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class PhoneSegments:
    """A phone sequence covering (part of) an utterance.

    Attributes:
        segments: phones in time order, non-overlapping, times in seconds.
        source: how they were obtained: ``"alignment"`` (known transcript), ``"recognition"``,
            ``"tts"``, or ``"none"`` (no phones: the acoustic path drives the mouth).
    """

    segments: tuple[PhoneSegment, ...]
    source: str

    def __len__(self) -> int:
        return len(self.segments)


@dataclass(frozen=True)
class FaceMesh:
    """A face found in an image.

    Attributes:
        landmarks: float32 ``[478, 3]``: x, y in image pixels; z is relative depth in the same
            pixel scale (MediaPipe convention: smaller z is nearer the camera).
        rotation_deg: float32 ``[3]`` head pose pitch, yaw, roll in degrees.
        translation: float32 ``[3]`` head translation from MediaPipe's facial transformation matrix (cm).
        box: ``(x0, y0, x1, y1)`` integer face crop box in image pixels (may extend past the image).
        image_size: ``(height, width)`` of the image the face was found in.
        blendshape_names: names of the 52 ARKit-style blendshapes (empty if unavailable).
        blendshapes: float32 ``[52]`` blendshape scores in [0, 1].
    """

    landmarks: np.ndarray
    rotation_deg: np.ndarray
    translation: np.ndarray
    box: tuple[int, int, int, int]
    image_size: tuple[int, int]
    blendshape_names: tuple[str, ...] = ()
    blendshapes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    def blendshape(self, name: str) -> float:
        """Score of one blendshape by ARKit name, 0.0 if not present."""
        try:
            return float(self.blendshapes[self.blendshape_names.index(name)])
        except ValueError:
            return 0.0


@dataclass(frozen=True)
class FaceTrack:
    """A video's face, frame by frame, ready to animate: gaps filled and smoothed.

    Attributes:
        landmarks: float32 ``[F, 478, 3]`` pixels (x, y) and relative depth z; where no face was
            found, the nearest found frame's (edges) or a linear fill (gaps).
        pose: float32 ``[F, 3]`` pitch, yaw, roll in degrees, filled the same way.
        found: bool ``[F]``: a face was found in that frame (False also for turned-away faces
            whose yaw exceeds the limit given to :func:`talkinghead.face.track.smooth_track`).
        fps: frames per second.
        size: ``(height, width)`` of the frames.
    """

    landmarks: np.ndarray
    pose: np.ndarray
    found: np.ndarray
    fps: float
    size: tuple[int, int]

    @property
    def num_frames(self) -> int:
        return int(self.landmarks.shape[0])


@dataclass(frozen=True)
class PersonModel:
    """What was learned from one person's footage (``talkinghead fit``), saved as ``.thp``.

    Attributes:
        name: a label (the first video's file name).
        portrait: uint8 ``[H, W, 3]`` RGB: one of their frames (frontal, mouth closed), what
            ``generate --person`` animates.
        mouth_images: float32 ``[K, h, w, 3]`` their median mouth interiors by opening, relative
            to their skin colour, in the canonical mouth frame (see :mod:`talkinghead.person.mouth`).
        mouth_openings: float32 ``[K]`` each interior's opening (increasing).
        mouth_upper, mouth_lower: float32 ``[K, 11, 2]`` each interior's inner-lip contours.
        mouth_scale: pixels per canonical unit of the interiors.
        mouth_origin: float32 ``[2]`` canonical (x, y) of the interiors' pixel (0, 0).
        pose_std: float32 ``[3]`` standard deviation of their head pitch, yaw, roll within a video (degrees).
        blink_rate: their blinks per minute.
        seconds: seconds of footage it was fitted on.
        motion_onnx: uint8 ``[N]``: the learned motion model fine-tuned on their footage (an ONNX
            graph, :mod:`talkinghead.train.person`), or None (the shipped model drives them).
    """

    name: str
    portrait: np.ndarray
    mouth_images: np.ndarray
    mouth_openings: np.ndarray
    mouth_upper: np.ndarray
    mouth_lower: np.ndarray
    mouth_scale: float
    mouth_origin: np.ndarray
    pose_std: np.ndarray
    blink_rate: float
    seconds: float
    motion_onnx: np.ndarray | None = None


@dataclass(frozen=True)
class MotionSequence:
    """Facial motion at the video frame rate; never sees pixels.

    Landmark offsets are expressed in a face-normalised frame: frontal (head pose removed),
    x to the image right, y down, z away from the camera, in units of the inter-ocular
    distance (distance between the outer eye corners). The renderer scales and poses them
    onto a particular face.

    Attributes:
        fps: video frames per second (> 0).
        au_names: names of the K action-unit / blendshape channels.
        au: float32 ``[F, K]`` coefficients in [0, 1].
        landmark_offsets: float32 ``[F, 478, 3]`` offsets from the identity's neutral mesh (IOD units).
        head_pose: float32 ``[F, 6]``: pitch, yaw, roll (degrees); tx, ty, tz (IOD units).
        blink: float32 ``[F]`` eyelid closure in [0, 1] (1 = fully closed).
        source: which model produced it (``"rules"``, ``"acoustic"``, ``"learned"``...).
    """

    fps: float
    au_names: tuple[str, ...]
    au: np.ndarray
    landmark_offsets: np.ndarray
    head_pose: np.ndarray
    blink: np.ndarray
    source: str = "rules"

    @property
    def num_frames(self) -> int:
        return int(self.au.shape[0])

    @classmethod
    def concatenate(cls, pieces: Sequence[MotionSequence]) -> MotionSequence:
        """Consecutive pieces of one motion as one sequence (the first piece's fps, names and source).

        Raises:
            ValueError: no pieces, or pieces of different frame rates or channels.
        """
        if not pieces:
            raise ValueError("no motion pieces to concatenate")
        a = pieces[0]
        if any(p.fps != a.fps or p.au_names != a.au_names for p in pieces):
            raise ValueError("motion pieces differ in frame rate or channels")
        return cls(fps=a.fps, au_names=a.au_names, au=np.concatenate([p.au for p in pieces]),
                   landmark_offsets=np.concatenate([p.landmark_offsets for p in pieces]),
                   head_pose=np.concatenate([p.head_pose for p in pieces]),
                   blink=np.concatenate([p.blink for p in pieces]), source=a.source)

    def slice(self, start: int, stop: int | None = None) -> MotionSequence:
        """Frames ``[start, stop)`` (views of the arrays, same rate, names and source)."""
        s = slice(start, stop)
        return MotionSequence(fps=self.fps, au_names=self.au_names, au=self.au[s], landmark_offsets=self.landmark_offsets[s],
                              head_pose=self.head_pose[s], blink=self.blink[s], source=self.source)

    def curve(self, name: str) -> np.ndarray:
        """One action-unit curve ``[F]`` by name. Raises KeyError if absent."""
        if name not in self.au_names:
            raise KeyError(f"no action unit {name!r}; have {', '.join(self.au_names)}")
        return self.au[:, self.au_names.index(name)]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write as ``.npz`` (arrays) with a JSON header (fps, names, source), atomically."""
        path = Path(path)
        meta = json.dumps({"fps": self.fps, "au_names": list(self.au_names), "source": self.source})
        fd, tmp = tempfile.mkstemp(suffix=".npz", dir=path.parent or ".")
        os.close(fd)
        try:
            np.savez_compressed(
                tmp,
                meta=np.array(meta),
                au=self.au,
                landmark_offsets=self.landmark_offsets,
                head_pose=self.head_pose,
                blink=self.blink,
            )
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a saved motion file is an ordinary file
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MotionSequence:
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            return cls(
                fps=float(meta["fps"]),
                au_names=tuple(meta["au_names"]),
                au=z["au"],
                landmark_offsets=z["landmark_offsets"],
                head_pose=z["head_pose"],
                blink=z["blink"],
                source=str(meta.get("source", "rules")),
            )


class InputError(ValueError):
    """A user-facing problem with an input or output path (unreadable file, no face, silent audio...).

    The message is one line that names the file and the problem; the CLI prints it and exits non-zero.
    """


def one_line(e: BaseException) -> str:
    """An exception as one short line for a user-facing message (an OSError's own reason, not its repr)."""
    text = " ".join(str(getattr(e, "strerror", None) or e).split())
    return text or type(e).__name__
