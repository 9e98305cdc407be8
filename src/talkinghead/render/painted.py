"""The painted mouth interior (``--mouth painted``): cavity, teeth and tongue drawn from the lip shape.

The interior talkinghead drew before the real-mouth bank (:mod:`talkinghead.render.interior`),
kept as a style for drawings where a photographic mouth would look out of place, and as the
baseline the evaluation compares the bank with. Colours follow the portrait's lighting and
colourfulness (greyscale portraits get grey interiors).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from talkinghead.face.regions import LOWER_INNER_LIP, UPPER_INNER_LIP
from talkinghead.render.mouth import resample_contour

#: Positions of the gaps between teeth along the mouth, as a fraction of half its width (0 = centre).
TOOTH_EDGES = (0.0, 0.2, 0.37, 0.52, 0.66)


@dataclass(frozen=True)
class MouthStyle:
    """Colours of the painted interior, float32 RGB in [0, 255], matched to the portrait.

    Attributes:
        cavity: colour of the back of the mouth.
        teeth: colour of the upper teeth (lower teeth are drawn a little darker).
        tongue: colour of the tongue.
    """

    cavity: np.ndarray
    teeth: np.ndarray
    tongue: np.ndarray


def mouth_style(image: np.ndarray, landmarks: np.ndarray) -> MouthStyle:
    """Interior colours matched to a portrait's lighting and colourfulness.

    Args:
        image: uint8 ``[H, W, 3]`` RGB work image.
        landmarks: float ``[478, 2+]`` landmarks in that image.
    """
    h, w = image.shape[:2]
    pts = landmarks[:468, :2]
    x0, y0 = np.clip(pts.min(0).astype(int), 0, [w - 1, h - 1])
    x1, y1 = np.clip(pts.max(0).astype(int) + 1, 1, [w, h])
    face = image[y0:y1, x0:x1].reshape(-1, 3).astype(np.float32)
    if face.size == 0:
        face = image.reshape(-1, 3).astype(np.float32)
    lum = float(np.median(face.mean(1)))
    hsv = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2HSV).reshape(-1, 3)
    sat = float(np.median(hsv[:, 1])) / 255.0 if hsv.size else 0.0
    colourful = float(np.clip((sat - 0.05) / 0.2, 0.0, 1.0))
    bright = float(np.clip(lum / 150.0, 0.45, 1.1))

    def tone(rgb: tuple[float, float, float]) -> np.ndarray:
        c = np.array(rgb, np.float32)
        grey = np.full(3, c.mean(), np.float32)
        return np.clip((grey + colourful * (c - grey)) * bright, 0, 255)

    return MouthStyle(cavity=tone((34.0, 12.0, 13.0)), teeth=tone((212.0, 204.0, 188.0)), tongue=tone((138.0, 58.0, 60.0)))


def painted_interior(style: MouthStyle, landmarks: np.ndarray, origin: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The painted interior over one region of a frame.

    Args:
        style: colours (:func:`mouth_style`).
        landmarks: float ``[478, 2+]`` the frame's landmarks (pixels).
        origin: ``[2]`` (x, y) of the region's top-left in the frame.
        size: ``(height, width)`` of the region.
    Returns:
        float32 ``[h, w, 3]`` RGB in [0, 255]; meaningful inside the inner-lip opening.
    """
    up = resample_contour(landmarks[list(UPPER_INNER_LIP), :2].astype(np.float64))
    lo = resample_contour(landmarks[list(LOWER_INNER_LIP), :2].astype(np.float64))
    left, right = up[0], up[-1]
    width = max(float(np.hypot(*(right - left))), 1e-3)
    axis = (right - left) / width
    down = np.array([-axis[1], axis[0]])
    gap = max(float(np.max((lo - up) @ down)), 0.0)
    ph, pw = size
    x0, y0 = float(origin[0]), float(origin[1])

    def poly(p: np.ndarray) -> np.ndarray:
        return np.round((p - origin) * 8).astype(np.int32)

    interior = np.empty((ph, pw, 3), np.float32)
    interior[:] = style.cavity
    yy, xx = np.mgrid[0:ph, 0:pw].astype(np.float64)
    rel = np.stack([xx + x0, yy + y0], axis=-1) - (up.mean(0) + lo.mean(0)) / 2.0
    along = rel @ axis / (width / 2.0)  # -1..1 corner to corner
    interior *= (1.0 - 0.35 * np.clip(np.abs(along), 0, 1) ** 2)[..., None]  # darker to the corners
    # Tongue: a soft ellipse low in the mouth, seen when it is open.
    tr = rel - (lo.mean(0) + down * 0.05 * gap - (up.mean(0) + lo.mean(0)) / 2.0)
    te = (tr @ axis / (0.3 * width)) ** 2 + (tr @ down / max(0.4 * gap, 1.0)) ** 2
    t_alpha = np.clip(1.0 - te, 0.0, 1.0) * np.clip((gap - 0.08 * width) / (0.1 * width), 0.0, 1.0)
    interior += (style.tongue - interior) * (0.7 * t_alpha)[..., None]
    # Teeth: bands hanging from the upper lip and rising from the lower lip, across the middle.
    span = np.abs(np.linspace(-1.0, 1.0, len(up)))
    for contour, depth, colour, reach, sign in ((up, 0.105 * width, style.teeth, 0.80, 1.0),
                                                (lo, 0.065 * width, style.teeth * 0.86, 0.66, -1.0)):
        inner = contour + sign * down[None, :] * depth * (1.0 - (span / reach) ** 4)[:, None].clip(0, 1)
        sel = span <= reach
        band = np.concatenate([contour[sel] - sign * down * 2.0, inner[sel][::-1]])
        tmask = np.zeros((ph, pw), np.float32)
        cv2.fillPoly(tmask, [poly(band)], 1.0, lineType=cv2.LINE_AA, shift=3)
        tmask = cv2.GaussianBlur(tmask, (0, 0), 0.6)
        tshade = 1.0 - 0.45 * np.clip(np.abs(along) / reach, 0, 1) ** 2
        for edge in TOOTH_EDGES:
            tshade = tshade * (1.0 - 0.22 * np.exp(-(((np.abs(along) - edge) * width) / 1.2) ** 2))
        interior += (colour * tshade[..., None] - interior) * tmask[..., None]
    return interior

