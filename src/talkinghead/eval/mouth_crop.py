"""The mouth crop that image quality of the mouth is measured on (issue 8's PSNR and SSIM).

A grey crop of the mouth, aligned on points that speech does not move (eye corners, nose
bridge and tip) by a least-squares similarity to the canonical face, so a generated and a real
frame are compared on the same patch of face whatever the head does; the mouth itself is not
used for the alignment, so its errors are not aligned away.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from talkinghead.face.regions import canonical_mesh
from talkinghead.render.teeth import compose, similarity

#: Landmarks the crop is aligned on (eye corners, nose bridge and tip).
ALIGN_POINTS = (33, 133, 362, 263, 168, 6, 197, 195, 5, 4, 1)
#: Crop size ``(height, width)`` in pixels, and its scale (pixels per inter-ocular distance).
CROP_SIZE = (64, 96)
CROP_SCALE = 96.0
#: Real mouth opening (IOD units, :func:`~talkinghead.eval.metrics.mouth_opening`) above which a frame counts as open.
OPEN_MOUTH = 0.12


@lru_cache(maxsize=1)
def _template() -> tuple[np.ndarray, np.ndarray]:
    mesh = canonical_mesh()
    h, w = CROP_SIZE
    centre = mesh[[13, 14], :2].mean(axis=0).astype(np.float64)
    to_px = np.array([[CROP_SCALE, 0.0, w / 2 - CROP_SCALE * centre[0]], [0.0, CROP_SCALE, h / 2 - CROP_SCALE * centre[1]]])
    return mesh[list(ALIGN_POINTS), :2].astype(np.float64), to_px


def mouth_crop(frame: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Grey mouth crop of one frame, aligned on the eyes and nose.

    Args:
        frame: uint8 ``[H, W, 3]`` RGB.
        landmarks: float ``[478, 2+]`` the face in it (pixels), from the evaluation's tracker.
    Returns:
        uint8 ``[64, 96]`` grey (BT.601 luma), 96 pixels per inter-ocular distance, mouth centred.
    """
    template, to_px = _template()
    m = similarity(np.asarray(landmarks, np.float64)[list(ALIGN_POINTS), :2], template)
    full = compose(to_px, m)
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    h, w = CROP_SIZE
    return cv2.warpAffine(grey, full, (w, h), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
