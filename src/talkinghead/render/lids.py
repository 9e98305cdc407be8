"""Blinks: the upper lid drawn closing over the eye, lid skin above a lash line.

Stretching the portrait's upper lid down over the eye (what the dense field alone would do)
smears the lashes across the eye and squeezes the eye white into a bright line. Instead the
field moves the lid only a little, and a lid is drawn over the eye: its skin colour is read,
column by column, from the frame just above the lashes, it darkens a little towards its edge,
and a tapered lash line runs along the edge. At a full blink the edge lies on the lower lid.
"""

from __future__ import annotations

import cv2
import numpy as np

from talkinghead.face.regions import LEFT_EYE_LOWER, LEFT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER

#: Share of a blink by which the dense field itself lowers the upper lid (the rest is drawn).
LID_DRAG = 0.4
#: Share of a blink by which the lower lid rises.
LOWER_LID_RISE = 0.1
#: Height of the band above the open lid's edge that the drawn lid also covers (its lashes), in eye widths.
LASH_BAND = 0.12
#: Thickness of the drawn lash line at the middle of the eye, in eye widths.
LASH_WIDTH = 0.055


def lash_colour(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Colour of the portrait's upper lashes: float32 RGB ``[3]``, the darkest tenth of the lid edges.

    Args:
        image: uint8 ``[H, W, 3]`` RGB work image.
        landmarks: float ``[478, 2+]`` the face in it (pixels).
    """
    samples = []
    h, w = image.shape[:2]
    for upper in (RIGHT_EYE_UPPER, LEFT_EYE_UPPER):
        for p in landmarks[list(upper[1:-1]), :2]:
            x, y = int(np.clip(round(p[0]), 1, w - 2)), int(np.clip(round(p[1]), 2, h - 2))
            samples.append(image[y - 2:y + 1, x - 1:x + 2].reshape(-1, 3))
    px = np.concatenate(samples).astype(np.float32)
    lum = px.mean(axis=1)
    return px[lum <= np.percentile(lum, 10)].mean(axis=0)


def paint_lids(frame: np.ndarray, landmarks: np.ndarray, blink: float, lashes: np.ndarray) -> None:
    """Draw both upper lids closed by ``blink`` over ``frame``, in place.

    Args:
        frame: uint8 ``[H, W, 3]`` RGB warped frame.
        landmarks: float ``[478, 2+]`` the frame's landmarks, lids moved by :data:`LID_DRAG` and
            :data:`LOWER_LID_RISE` times ``blink``.
        blink: closure in [0, 1] (0 draws nothing).
        lashes: float RGB ``[3]`` lash colour (:func:`lash_colour`).
    """
    if blink <= 0.02:
        return
    for upper, lower in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)):
        _paint_lid(frame, landmarks[list(upper), :2].astype(np.float64), landmarks[list(lower), :2].astype(np.float64),
                   float(min(blink, 1.0)), lashes)


def _paint_lid(frame: np.ndarray, up: np.ndarray, lo: np.ndarray, blink: float, lashes: np.ndarray) -> None:
    c0, c1 = up[0], up[-1]
    width = float(np.hypot(*(c1 - c0)))
    if width < 4.0:
        return
    axis = (c1 - c0) / width
    normal = np.array([-axis[1], axis[0]])
    if float(((lo - c0) @ normal).sum()) < float(((up - c0) @ normal).sum()):
        normal = -normal  # make it point from the upper lid to the lower one
    su, vu = (up - c0) @ axis / width, (up - c0) @ normal
    sl, vl = (lo - c0) @ axis / width, (lo - c0) @ normal
    band = LASH_BAND * width
    h, w = frame.shape[:2]
    corners = np.concatenate([up - normal * band, lo + normal * 0.1 * width])
    x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int) - 2, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(0)).astype(int) + 3, [w, h])
    if x1 - x0 < 3 or y1 - y0 < 3:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    rel_x, rel_y = xx - c0[0], yy - c0[1]
    s = (rel_x * axis[0] + rel_y * axis[1]) / width
    v = rel_x * normal[0] + rel_y * normal[1]
    sc = np.clip(s, 0.0, 1.0)
    v_up = np.interp(sc, *_increasing(su, vu))
    v_lo = np.interp(sc, *_increasing(sl, vl))
    edge = v_up + blink * np.maximum(v_lo - v_up, 0.0)
    taper = np.clip(1.0 - (2.0 * sc - 1.0) ** 2, 0.0, 1.0)  # 1 mid-eye, 0 at the corners
    top = v_up - band * np.sqrt(taper)
    inside_s = np.clip(np.minimum(s, 1.0 - s) * width / 1.5 + 0.5, 0.0, 1.0)
    alpha = _ramp(v, top, (top + v_up) / 2.0) * np.clip(edge - v + 0.5, 0.0, 1.0) * inside_s
    # Lid skin: the skin above the lid mirrored down across the band's top line, so its texture,
    # shading and colour carry on without a seam (compressed where the lid is taller than that skin).
    reach = np.maximum(edge - top, 1.0)
    squeeze = np.minimum(1.0, 0.18 * width / reach)
    back = (v - top) * (1.0 + squeeze)  # distance from the pixel to its mirror image, along the normal
    map_x = (xx - back * normal[0]).astype(np.float32)
    map_y = (yy - back * normal[1]).astype(np.float32)
    lid = cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    # Lid skin is smooth: soften what the mirror brings along (lashes above the lid become a shadow).
    lid = cv2.GaussianBlur(lid, (0, 0), 0.5 + 0.025 * width)
    depth = np.clip((v - top) / np.maximum(edge - top, 1.0), 0.0, 1.0)
    lid *= (1.0 - 0.16 * depth ** 2)[..., None]
    # Lash line along the edge, thickest mid-eye.
    thick = LASH_WIDTH * width * (0.35 + 0.65 * taper) * (0.4 + 0.6 * blink)
    lash = np.clip(1.0 - np.abs(v - (edge - 0.35 * thick)) / np.maximum(thick * 0.65, 0.6), 0.0, 1.0) * inside_s
    lid += (np.asarray(lashes, np.float32) - lid) * (0.9 * lash)[..., None]
    a = np.maximum(alpha, lash)
    # The drawn lid comes in with the blink, never popping in at its start.
    a *= min(1.0, blink / 0.15)
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(roi + (lid - roi) * a[..., None], 0, 255).astype(np.uint8)


def _increasing(s: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(s)
    return s[order], v[order]


def _ramp(v: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    t = np.clip((v - a) / np.maximum(b - a, 1e-3), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)
