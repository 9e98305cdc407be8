"""Mouth interior: dark cavity, upper and lower teeth, a hint of tongue.

When the lips open wider than in the source there are no real pixels for the inside of the
mouth; warping would only stretch the lip seam. We paint the interior inside the target's inner
lip contour. Everything is a function of the current lip geometry only (teeth hang from the
upper inner lip, lower teeth rise from the lower one), so it is consistent from frame to frame:
no flicker, no teeth that swim.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from talkinghead.face.regions import LOWER_INNER_LIP, UPPER_INNER_LIP
from talkinghead.render.teeth import OwnTeeth, draw_layer


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

    Greyscale or sepia portraits get grey interiors; dark or dim ones get dimmer teeth.

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


def _smooth_contour(pts: np.ndarray, n: int = 24) -> np.ndarray:
    """Resample a corner-to-corner contour ``[11, 2]`` to ``n`` points by arc length."""
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 1e-6:
        return np.repeat(pts[:1], n, axis=0)
    u = np.linspace(0.0, s[-1], n)
    return np.stack([np.interp(u, s, pts[:, 0]), np.interp(u, s, pts[:, 1])], axis=1)


def paint_mouth(frame: np.ndarray, landmarks: np.ndarray, style: MouthStyle, teeth: OwnTeeth | None = None,
                seam: float = 0.0) -> None:
    """Paint the mouth interior into ``frame`` in place.

    Args:
        frame: uint8 ``[H, W, 3]`` RGB warped frame (its source has a closed or filled-in mouth).
        landmarks: float ``[478, 2+]`` target landmarks in frame pixels.
        style: interior colours.
        teeth: the portrait's own teeth (:func:`talkinghead.render.teeth.separate_mouth`), drawn
            instead of painted ones.
        seam: darkness in [0, 1] of the line where the lips meet (for portraits whose opening was
            filled in, which lost their own); 0 draws none.
    """
    up0 = _smooth_contour(landmarks[list(UPPER_INNER_LIP), :2].astype(np.float64))
    lo0 = _smooth_contour(landmarks[list(LOWER_INNER_LIP), :2].astype(np.float64))
    if seam > 0:
        _draw_seam(frame, (up0 + lo0) / 2.0, seam)
    up, lo = up0, lo0
    left, right = up[0], up[-1]
    width = float(np.hypot(*(right - left)))
    if width < 4.0:
        return
    axis = (right - left) / width
    down = np.array([-axis[1], axis[0]])
    gaps = (lo - up) @ down
    gap = float(np.max(gaps))
    if gap < 0.6:
        return
    h, w = frame.shape[:2]
    pad = int(0.15 * width) + 3
    allp = np.concatenate([up, lo])
    x0, y0 = np.maximum(np.floor(allp.min(0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(allp.max(0)).astype(int) + pad, [w, h])
    if x1 <= x0 or y1 <= y0:
        return
    origin = np.array([x0, y0], np.float64)
    pw, ph = x1 - x0, y1 - y0
    shift = 3
    sc = float(1 << shift)

    def poly(p: np.ndarray) -> np.ndarray:
        return np.round((p - origin) * sc).astype(np.int32)

    opening = np.concatenate([up, lo[::-1]])
    mask = np.zeros((ph, pw), np.float32)
    cv2.fillPoly(mask, [poly(opening)], 1.0, lineType=cv2.LINE_AA, shift=shift)
    # Interior layers.
    interior = np.empty((ph, pw, 3), np.float32)
    interior[:] = style.cavity
    yy, xx = np.mgrid[0:ph, 0:pw].astype(np.float64)
    pts = np.stack([xx + x0, yy + y0], axis=-1)
    centre = (up.mean(0) + lo.mean(0)) / 2.0
    rel = pts - centre
    along = rel @ axis / (width / 2.0)  # -1..1 corner to corner
    # Darker towards the back and the corners.
    shade = 1.0 - 0.35 * np.clip(np.abs(along), 0, 1) ** 2
    interior *= shade[..., None]
    # Tongue: a soft ellipse low in the mouth, seen when it is open.
    tongue_c = lo.mean(0) + down * 0.05 * gap
    tr = rel - (tongue_c - centre)
    te = (tr @ axis / (0.3 * width)) ** 2 + (tr @ down / max(0.4 * gap, 1.0)) ** 2
    t_alpha = np.clip(1.0 - te, 0.0, 1.0) * np.clip((gap - 0.08 * width) / (0.1 * width), 0.0, 1.0)
    interior += (style.tongue - interior) * (0.7 * t_alpha)[..., None]
    # Teeth: bands hanging from the upper lip and rising from the lower lip, across the middle.
    n = len(up)
    span = np.abs(np.linspace(-1.0, 1.0, n))
    if teeth is not None:
        upper_m, lower_m = teeth.transforms(landmarks)
        clip = cv2.GaussianBlur(mask, (0, 0), 0.7)
        draw_layer(interior, teeth.lower, lower_m, origin, clip)
        draw_layer(interior, teeth.upper, upper_m, origin, clip)
    painted = () if teeth is not None else (
        (up, 0.105 * width, style.teeth, 0.80, 1.0),
        (lo, 0.065 * width, style.teeth * 0.86, 0.66, -1.0),
    )
    for contour, depth, colour, reach, sign in painted:
        inner = contour + sign * down[None, :] * depth * (1.0 - (span / reach) ** 4)[:, None].clip(0, 1)
        sel = span <= reach
        band = np.concatenate([contour[sel] - sign * down * 2.0, inner[sel][::-1]])
        tmask = np.zeros((ph, pw), np.float32)
        cv2.fillPoly(tmask, [poly(band)], 1.0, lineType=cv2.LINE_AA, shift=shift)
        tmask = cv2.GaussianBlur(tmask, (0, 0), 0.6)
        # Teeth darken towards the corners and the cutting edge.
        tshade = 1.0 - 0.45 * np.clip(np.abs(along) / reach, 0, 1) ** 2
        # Faint gaps between teeth (incisors narrow, then wider towards the back).
        for edge in TOOTH_EDGES:
            tshade = tshade * (1.0 - 0.22 * np.exp(-(((np.abs(along) - edge) * width) / 1.2) ** 2))
        interior += (colour * tshade[..., None] - interior) * tmask[..., None]
    # Contact shadow under the lips, and an anti-aliased edge.
    alpha = cv2.GaussianBlur(mask, (0, 0), 0.7)
    edge = cv2.GaussianBlur(mask, (0, 0), 1.5 + 0.02 * width)
    interior *= (0.3 + 0.7 * np.clip(edge * 1.6 - 0.3, 0, 1))[..., None]
    # A slit of a few pixels between lips that nearly touch shows nothing but the seam.
    fade = float(np.clip((gap - 0.015 * width) / (0.03 * width), 0.0, 1.0))
    a = (alpha * fade)[..., None]
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(roi + (interior - roi) * a, 0, 255).astype(np.uint8)


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
    mask = cv2.GaussianBlur(mask, (0, 0), 0.6 + 0.004 * width)
    # Strongest in the middle, fading into the corners.
    along = np.linspace(-1.0, 1.0, mask.shape[1])[None, :]
    mask *= (1.0 - 0.6 * along ** 2).astype(np.float32)
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(roi * (1.0 - darkness * mask)[..., None], 0, 255).astype(np.uint8)
