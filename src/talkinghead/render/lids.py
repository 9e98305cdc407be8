"""Blinks: the upper lid drawn closing over the eye, lid skin above a lash line.

Stretching the portrait's upper lid down over the eye (what the dense field alone would do)
smears the lashes across the eye and squeezes the eye white into a bright line. Instead the
field moves the lid only a little, and a lid is drawn over the eye: its skin colour is read,
column by column, from the frame just above the lashes, it darkens a little towards its edge,
and a tapered lash line runs along the edge. At a full blink the edge lies on the lower lid.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from talkinghead.face.regions import LEFT_EYE_LOWER, LEFT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER, along, smoothstep

#: Share of a blink by which the dense field itself lowers the upper lid (the rest is drawn).
LID_DRAG = 0.6
#: Share of a blink by which the lower lid rises.
LOWER_LID_RISE = 0.1
#: Range of the band above the open lid's edge that the drawn lid also covers (its lashes), in eye widths.
LASH_BAND = (0.06, 0.3)
#: Thickness of the drawn lash line at the middle of the eye, in eye widths.
LASH_WIDTH = 0.055


@dataclass(frozen=True)
class LidLook:
    """What a portrait's upper lids look like, measured once.

    Attributes:
        lashes: float32 RGB ``[3]`` lash colour: the darkest tenth along the upper lid edges.
        bands: per eye (right, left), how far above the lid edge the lashes reach, in eye widths
            (where the skin above gets as bright as the lid skin); the drawn lid covers that band.
    """

    lashes: np.ndarray
    bands: tuple[float, float]


def lid_look(image: np.ndarray, landmarks: np.ndarray) -> LidLook:
    """Measure a portrait's lashes: their colour and how far above the lid edge they reach.

    Args:
        image: uint8 ``[H, W, 3]`` RGB work image.
        landmarks: float ``[478, 2+]`` the face in it (pixels).
    """
    samples = []
    h, w = image.shape[:2]
    grey = cv2.blur(image, (3, 3)).astype(np.float32).mean(axis=2)
    bands = []
    for upper in (RIGHT_EYE_UPPER, LEFT_EYE_UPPER):
        pts = landmarks[list(upper), :2].astype(np.float64)
        for p in pts[1:-1]:
            x, y = int(np.clip(round(p[0]), 1, w - 2)), int(np.clip(round(p[1]), 2, h - 2))
            samples.append(image[y - 2:y + 1, x - 1:x + 2].reshape(-1, 3))
        # Brightness above the middle of the lid edge, going up along the eye's normal.
        width = float(np.hypot(*(pts[-1] - pts[0])))
        axis = (pts[-1] - pts[0]) / max(width, 1e-6)
        up = np.array([axis[1], -axis[0]])
        if up[1] > 0:
            up = -up
        steps = np.linspace(0.0, 0.45, 28) * width
        mid = pts[2:-2]
        prof = []
        for d in steps:
            q = np.clip(np.round(mid + d * up).astype(int), 0, [w - 1, h - 1])
            prof.append(float(grey[q[:, 1], q[:, 0]].mean()))
        prof = np.array(prof)
        skin = float(np.max(prof[len(prof) // 3:]))
        reach = int(np.argmax(prof >= 0.85 * skin))
        bands.append(float(np.clip(steps[reach] / max(width, 1e-6), *LASH_BAND)))
    px = np.concatenate(samples).astype(np.float32)
    lum = px.mean(axis=1)
    return LidLook(lashes=px[lum <= np.percentile(lum, 10)].mean(axis=0), bands=(bands[0], bands[1]))


def paint_lids(frame: np.ndarray, landmarks: np.ndarray, blink: float, look: LidLook) -> None:
    """Draw both upper lids closed by ``blink`` over ``frame``, in place.

    Args:
        frame: uint8 ``[H, W, 3]`` RGB warped frame.
        landmarks: float ``[478, 2+]`` the frame's landmarks, lids moved by :data:`LID_DRAG` and
            :data:`LOWER_LID_RISE` times ``blink``.
        blink: closure in [0, 1] (0 draws nothing).
        look: the portrait's lashes (:func:`lid_look`).
    """
    if blink <= 0.02:
        return
    for (upper, lower), band in zip(((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)), look.bands):
        _paint_lid(frame, landmarks[list(upper), :2].astype(np.float64), landmarks[list(lower), :2].astype(np.float64),
                   float(min(blink, 1.0)), look.lashes, band)


def _paint_lid(frame: np.ndarray, up: np.ndarray, lo: np.ndarray, blink: float, lashes: np.ndarray, band: float) -> None:
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
    band = band * width
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
    v_up = along(su, vu, sc)
    v_lo = along(sl, vl, sc)
    edge = v_up + blink * np.maximum(v_lo - v_up, 0.0)
    taper = np.clip(1.0 - (2.0 * sc - 1.0) ** 2, 0.0, 1.0)  # 1 mid-eye, 0 at the corners
    top = v_up - band * np.sqrt(taper)
    inside_s = np.clip(np.minimum(s, 1.0 - s) * width / 1.5 + 0.5, 0.0, 1.0)
    alpha = smoothstep(top, (top + v_up) / 2.0, v) * np.clip(edge - v + 0.5, 0.0, 1.0) * inside_s
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

