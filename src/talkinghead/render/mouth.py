"""Mouth interior: real mouths fitted inside the wanted inner lips, the portrait's own teeth, the seam.

When the lips open wider than in the source there are no real pixels for the inside of the
mouth; warping would only stretch the lip seam. The interior is drawn inside the target's inner
lip contour from the mouth bank (:mod:`talkinghead.render.interior`: median real interiors by
opening, in the portrait's skin colour), with the portrait's own teeth on top where it shows
them (:mod:`talkinghead.render.teeth`). Everything is a function of the current lip geometry
only, so it is consistent from frame to frame: no flicker, no teeth that swim.
"""

from __future__ import annotations

import cv2
import numpy as np

from collections.abc import Callable

from talkinghead.face.regions import LOWER_INNER_LIP, UPPER_INNER_LIP
from talkinghead.render.teeth import OwnTeeth, draw_layer

#: Darkness of the line drawn where lips meet whose portrait's own opening was filled in.
SEAM_DARKNESS = 0.25
#: Makes the interior over a region of a frame: ``(landmarks [478, 2+], origin [2], (h, w)) -> float32 [h, w, 3]``.
Interior = Callable[[np.ndarray, np.ndarray, tuple[int, int]], np.ndarray]


def resample_contour(pts: np.ndarray, n: int = 24) -> np.ndarray:
    """A corner-to-corner lip contour (float ``[k, 2]``) resampled to ``n`` points evenly by arc length."""
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 1e-6:
        return np.repeat(pts[:1], n, axis=0)
    u = np.linspace(0.0, s[-1], n)
    return np.stack([np.interp(u, s, pts[:, 0]), np.interp(u, s, pts[:, 1])], axis=1)


def paint_mouth(frame: np.ndarray, landmarks: np.ndarray, interior: Interior,
                teeth: OwnTeeth | None = None, seam: float = 0.0) -> None:
    """Draw the mouth interior into ``frame`` in place.

    Args:
        frame: uint8 ``[H, W, 3]`` RGB warped frame (its source has a closed or filled-in mouth).
        landmarks: float ``[478, 2+]`` target landmarks in frame pixels.
        interior: what is inside: real mouths (:func:`talkinghead.render.interior.fit_interior`
            with its bank and skin colour bound) or painted ones (:func:`talkinghead.render.painted.painted_interior`).
        teeth: the portrait's own teeth (:func:`talkinghead.render.teeth.separate_mouth`), drawn
            over the interior.
        seam: darkness in [0, 1] of the line where the lips meet (for portraits whose opening was
            filled in, which lost their own); 0 draws none.
    """
    up = resample_contour(landmarks[list(UPPER_INNER_LIP), :2].astype(np.float64))
    lo = resample_contour(landmarks[list(LOWER_INNER_LIP), :2].astype(np.float64))
    if seam > 0:
        _draw_seam(frame, (up + lo) / 2.0, seam)
    left, right = up[0], up[-1]
    width = float(np.hypot(*(right - left)))
    if width < 4.0:
        return
    axis = (right - left) / width
    down = np.array([-axis[1], axis[0]])
    gap = float(np.max((lo - up) @ down))
    # A slit of a few pixels between lips that nearly touch shows nothing but the seam.
    fade = float(np.clip((gap - 0.01 * width) / (0.03 * width), 0.0, 1.0))
    if fade <= 0.0:
        return
    h, w = frame.shape[:2]
    pad = 3
    allp = np.concatenate([up, lo])
    x0, y0 = np.maximum(np.floor(allp.min(0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(allp.max(0)).astype(int) + pad, [w, h])
    if x1 <= x0 or y1 <= y0:
        return
    origin = np.array([x0, y0], np.float64)
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    opening = np.round((np.concatenate([up, lo[::-1]]) - origin) * 8).astype(np.int32)
    cv2.fillPoly(mask, [opening], 1.0, lineType=cv2.LINE_AA, shift=3)
    inside = interior(landmarks, origin, mask.shape)
    alpha = cv2.GaussianBlur(mask, (0, 0), 0.7)
    if teeth is not None:
        upper_m, lower_m = teeth.transforms(landmarks)
        draw_layer(inside, teeth.lower, lower_m, origin, alpha)
        draw_layer(inside, teeth.upper, upper_m, origin, alpha)
    # Contact shadow where the lips overhang the interior.
    edge = cv2.GaussianBlur(mask, (0, 0), 1.0 + 0.015 * width)
    inside *= (0.55 + 0.45 * np.clip(edge * 1.6 - 0.3, 0, 1))[..., None]
    a = (alpha * fade)[..., None]
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(roi + (inside - roi) * a, 0, 255).astype(np.uint8)


def _draw_seam(frame: np.ndarray, line: np.ndarray, darkness: float) -> None:
    """Darken a soft line along the lip seam ``line`` (``[n, 2]`` frame pixels), in place."""
    h, w = frame.shape[:2]
    width = float(np.hypot(*(line[-1] - line[0])))
    if width < 4.0:
        return
    pad = 4
    x0, y0 = np.maximum(np.floor(line.min(0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(line.max(0)).astype(int) + pad, [w, h])
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    pts = np.round((line - [x0, y0]) * 8).astype(np.int32)
    cv2.polylines(mask, [pts], False, 1.0, thickness=max(1, int(round(0.012 * width))), lineType=cv2.LINE_AA, shift=3)
    mask = cv2.GaussianBlur(mask, (0, 0), 0.4 + 0.004 * width)
    # Strongest in the middle, fading into the corners.
    along = np.linspace(-1.0, 1.0, mask.shape[1])[None, :]
    mask *= (1.0 - 0.6 * along ** 2).astype(np.float32)
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(roi * (1.0 - darkness * mask)[..., None], 0, 255).astype(np.uint8)
