"""Face landmarks, blendshapes and head pose with MediaPipe Face Landmarker.

The model (``face_landmarker.task``: face detector + 478-point Face Mesh V2 + Blendshape V2,
Apache-2.0, Google) ships in ``talkinghead/assets``. Source: Grishchenko et al., "Attention
Mesh: High-fidelity Face Mesh Prediction in Real-time", arXiv:2006.10962.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from types import ModuleType

import numpy as np

from talkinghead.types import FaceMesh, InputError

#: Face-oval landmark indices (MediaPipe FACE_OVAL), clockwise from the forehead top.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)


#: Modules that mediapipe's package imports only for tools talkinghead never calls:
#: ``matplotlib.pyplot`` (its ``plot_landmarks``) and ``sounddevice`` (microphone capture).
_UNUSED_BY_MEDIAPIPE = ("matplotlib", "matplotlib.pyplot", "sounddevice")
_MEDIAPIPE_LOCK = threading.Lock()


def import_mediapipe() -> ModuleType:
    """``import mediapipe``, without the plotting and sound libraries its package pulls in.

    mediapipe's ``__init__`` imports every task it has, and with them matplotlib.pyplot and
    sounddevice for tools talkinghead never uses: about 0.45 s of a 0.75 s import, paid by every
    run. Empty stand-ins (:data:`_UNUSED_BY_MEDIAPIPE`, each only where the real module is not
    imported already) take their place during the import and are removed at once, so a later
    ``import matplotlib.pyplot`` anywhere in the process gets the real one; only mediapipe's own
    plotting and recording helpers are left without them (and a thread of the caller's that
    imports matplotlib during those 0.3 s would get the stand-in).

    Returns:
        The ``mediapipe`` module (imported once per process).
    """
    import types

    with _MEDIAPIPE_LOCK:  # another thread waits here for the whole import, not a half-imported module
        if "mediapipe" in sys.modules:
            return sys.modules["mediapipe"]
        stubs = {name: types.ModuleType(name) for name in _UNUSED_BY_MEDIAPIPE if name not in sys.modules}
        for stub in stubs.values():
            stub.__path__ = []  # a package, for "import matplotlib.pyplot"
        sys.modules.update(stubs)
        try:
            import mediapipe
        finally:
            for name, stub in stubs.items():
                if sys.modules.get(name) is stub:
                    del sys.modules[name]
        return mediapipe


def model_path() -> Path:
    """Path of the shipped Face Landmarker model file."""
    return Path(str(resources.files("talkinghead") / "assets" / "face_landmarker.task"))


def rotation_to_euler_deg(r: np.ndarray) -> np.ndarray:
    """Pitch, yaw, roll in degrees from a 3x3 rotation matrix (R = Rz(roll) Ry(yaw) Rx(pitch)).

    Args:
        r: float ``[3, 3]`` rotation matrix.
    Returns:
        float32 ``[3]`` (pitch, yaw, roll) in degrees.
    """
    sy = math.hypot(r[0, 0], r[1, 0])
    if sy > 1e-6:
        pitch = math.atan2(r[2, 1], r[2, 2])
        yaw = math.atan2(-r[2, 0], sy)
        roll = math.atan2(r[1, 0], r[0, 0])
    else:  # gimbal lock
        pitch = math.atan2(-r[1, 2], r[1, 1])
        yaw = math.atan2(-r[2, 0], sy)
        roll = 0.0
    return np.degrees(np.array([pitch, yaw, roll], dtype=np.float64)).astype(np.float32)


def face_box(landmarks: np.ndarray, scale: float = 1.9) -> tuple[int, int, int, int]:
    """Square, face-centred crop box around the landmarks.

    The box is ``scale`` times the larger side of the landmarks' bounding box, centred slightly
    above the face centre so hair and chin fit. It may extend beyond the image.

    Args:
        landmarks: ``[N, 2+]`` pixel coordinates.
        scale: box side relative to the face size (> 1).
    Returns:
        ``(x0, y0, x1, y1)`` integer pixel box with ``x1 - x0 == y1 - y0`` (even).
    """
    xy = landmarks[:, :2]
    lo, hi = xy.min(0), xy.max(0)
    size = float(max(hi - lo)) * scale
    cx, cy = (lo + hi) / 2.0
    cy -= 0.04 * size
    half = int(round(size / 2.0))
    x0, y0 = int(round(cx)) - half, int(round(cy)) - half
    return (x0, y0, x0 + 2 * half, y0 + 2 * half)


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence MediaPipe's native start-up log lines (glog, TFLite) written straight to fd 2."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (e.g. some notebooks): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class FaceLandmarker:
    """MediaPipe Face Landmarker on RGB frames, as a context manager.

    Args:
        video: track across consecutive frames (MediaPipe VIDEO mode; faster and steadier on
            video, frames must be given with increasing timestamps) instead of detecting per image.
        max_faces: most faces to return per image.
        min_confidence: detection and presence confidence threshold in (0, 1).
    """

    def __init__(self, video: bool = False, max_faces: int = 4, min_confidence: float = 0.3) -> None:
        mp = import_mediapipe()
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        self._video = video
        self._t_ms = 0
        opts = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path())),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_faces=max_faces,
            min_face_detection_confidence=min_confidence,
            min_face_presence_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        with _quiet_native_stderr():
            self._landmarker = vision.FaceLandmarker.create_from_options(opts)

    def __enter__(self) -> FaceLandmarker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the MediaPipe graph (idempotent)."""
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def detect(self, image: np.ndarray, timestamp_ms: int | None = None) -> list[FaceMesh]:
        """All faces in one RGB image, largest first.

        Args:
            image: uint8 ``[H, W, 3]`` RGB.
            timestamp_ms: frame time for video mode (defaults to 40 ms after the previous frame).
        Returns:
            FaceMesh per face (possibly empty), sorted by face area, largest first.
        """
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected uint8 [H, W, 3] RGB, got {image.dtype} {image.shape}")
        mp_image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(image))
        if self._video:
            self._t_ms = self._t_ms + 40 if timestamp_ms is None else max(timestamp_ms, self._t_ms + 1)
            result = self._landmarker.detect_for_video(mp_image, self._t_ms)
        else:
            result = self._landmarker.detect(mp_image)
        h, w = image.shape[:2]
        faces = []
        for i, lms in enumerate(result.face_landmarks):
            pts = np.array([(p.x * w, p.y * h, p.z * w) for p in lms], dtype=np.float32)
            names: tuple[str, ...] = ()
            scores = np.zeros(0, np.float32)
            if result.face_blendshapes:
                cats = result.face_blendshapes[i]
                names = tuple(c.category_name for c in cats)
                scores = np.array([c.score for c in cats], dtype=np.float32)
            rot = np.zeros(3, np.float32)
            trans = np.zeros(3, np.float32)
            if result.facial_transformation_matrixes:
                m = np.asarray(result.facial_transformation_matrixes[i], dtype=np.float64)
                rot = rotation_to_euler_deg(m[:3, :3])
                trans = m[:3, 3].astype(np.float32)
            faces.append(FaceMesh(
                landmarks=pts, rotation_deg=rot, translation=trans, box=face_box(pts),
                image_size=(h, w), blendshape_names=names, blendshapes=scores,
            ))
        faces.sort(key=lambda f: -float(np.prod(np.ptp(f.landmarks[:, :2], axis=0))))
        return faces


def _retry_views(image: np.ndarray) -> list[tuple[np.ndarray, float, float, float]]:
    """Alternative views of an image for when the detector misses a face.

    Returns ``(view, scale, dx, dy)`` so that image coordinates = view coordinates / scale + (dx, dy).
    Padding to a square helps faces that fill a tall or wide image; zoomed centre crops help
    faces that are small in a large image.
    """
    import cv2

    h, w = image.shape[:2]
    views = []
    side = max(h, w)
    pad = np.full((side, side, 3), 255, np.uint8)
    oy, ox = (side - h) // 2, (side - w) // 2
    pad[oy:oy + h, ox:ox + w] = image
    padded = np.pad(pad, ((side // 4, side // 4), (side // 4, side // 4), (0, 0)), mode="edge")
    views.append((padded, 1.0, -ox - side // 4, -oy - side // 4))
    for frac in (0.6, 0.4):
        cw, ch = int(w * frac), int(h * frac)
        for cx, cy in ((w // 2, h // 2), (w // 2, int(h * 0.35))):
            x0, y0 = max(0, cx - cw // 2), max(0, cy - ch // 2)
            crop = image[y0:y0 + ch, x0:x0 + cw]
            s = 640.0 / max(crop.shape[:2])
            views.append((cv2.resize(crop, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC), s, x0, y0))
    return views


def _to_image_coords(face: FaceMesh, scale: float, dx: float, dy: float, size: tuple[int, int]) -> FaceMesh:
    pts = face.landmarks.copy()
    pts[:, :3] /= scale
    pts[:, 0] += dx
    pts[:, 1] += dy
    return FaceMesh(landmarks=pts, rotation_deg=face.rotation_deg, translation=face.translation,
                    box=face_box(pts), image_size=size, blendshape_names=face.blendshape_names,
                    blendshapes=face.blendshapes)


def find_face(image: np.ndarray, face_index: int = 0, source: str = "image") -> FaceMesh:
    """The face to animate in a portrait: the largest one, or the ``face_index``-th by size.

    Tries the image as given, then padded and zoomed views for hard cases (faces filling the
    frame, small faces in large images, heavy beards or glasses).

    Args:
        image: uint8 ``[H, W, 3]`` RGB.
        face_index: 0 for the largest face, 1 for the next, ...
        source: the file name, for error messages.
    Returns:
        The chosen FaceMesh in image pixel coordinates.
    Raises:
        InputError: no face found, or fewer than ``face_index + 1`` faces.
    """
    size = image.shape[:2]
    with FaceLandmarker(video=False) as lm:
        faces = lm.detect(image)
        if not faces:
            for view, s, dx, dy in _retry_views(image):
                faces = [_to_image_coords(f, s, dx, dy, size) for f in lm.detect(view)]
                if faces:
                    break
    if not faces:
        raise InputError(f"{source}: no face found")
    if face_index >= len(faces):
        raise InputError(f"{source}: found {len(faces)} face(s), cannot choose face {face_index}")
    return faces[face_index]
