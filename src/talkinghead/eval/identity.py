"""Face identity embeddings with dlib's face-recognition model (optional, offline).

The model is dlib's ResNet-34-like network trained for face verification (King, dlib 19.3;
99.38% on LFW), 128-D embeddings compared by Euclidean distance, 0.6 being dlib's same-person
threshold. Its weight files come from the ``face-recognition-models`` package (CC0), found on
disk by its import spec, without importing it (its ``__init__`` needs ``pkg_resources``, which
current setuptools no longer ships). ``dlib`` itself comes from the ``dlib-bin`` wheel.

Faces are located with the MediaPipe mesh the evaluation already has (no second detector); the
box given to dlib's 5-point aligner mimics dlib's own detector box (brows to chin).
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from talkinghead.face.regions import BROWS


def model_dir() -> Path | None:
    """Folder holding ``dlib_face_recognition_resnet_model_v1.dat`` and the 5-point shape predictor, or None."""
    try:
        spec = importlib.util.find_spec("face_recognition_models")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        d = Path(loc) / "models"
        if (d / "dlib_face_recognition_resnet_model_v1.dat").is_file() and (d / "shape_predictor_5_face_landmarks.dat").is_file():
            return d
    return None


class IdentityModel:
    """dlib face embedding: RGB image + MediaPipe mesh -> 128-D identity vector.

    Args:
        models: folder with dlib's model files (:func:`model_dir`).
    """

    def __init__(self, models: Path) -> None:
        import dlib

        self._dlib = dlib
        self._shape = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
        self._net = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))

    def box(self, landmarks: np.ndarray) -> tuple[int, int, int, int]:
        """dlib-detector-like face box ``(left, top, right, bottom)`` from a mesh: cheek to cheek, brows to chin."""
        xy = np.asarray(landmarks, dtype=np.float64)[:468, :2]
        x0, x1 = xy[:, 0].min(), xy[:, 0].max()
        y1 = xy[:, 1].max()
        brow = float(xy[list(BROWS), 1].mean())
        w = x1 - x0
        return (int(round(x0)), int(round(brow - 0.18 * w)), int(round(x1)), int(round(y1 - 0.17 * w)))

    def embed(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """128-D embedding of the face the mesh marks.

        Args:
            image: uint8 ``[H, W, 3]`` RGB.
            landmarks: float ``[478, 2+]`` its MediaPipe mesh in pixels.
        Returns:
            float64 ``[128]``.
        """
        left, top, right, bottom = self.box(landmarks)
        rect = self._dlib.rectangle(left, top, right, bottom)
        img = np.ascontiguousarray(image, dtype=np.uint8)
        shape = self._shape(img, rect)
        return np.asarray(self._net.compute_face_descriptor(img, shape), dtype=np.float64)


@lru_cache(maxsize=1)
def identity_model() -> IdentityModel | None:
    """The shared :class:`IdentityModel`, or None when dlib or the model files are not installed."""
    models = model_dir()
    if models is None or importlib.util.find_spec("dlib") is None:
        return None
    try:
        return IdentityModel(models)
    except (ImportError, RuntimeError):
        return None
