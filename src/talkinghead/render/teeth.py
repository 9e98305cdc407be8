"""The portrait's own mouth: a lip-closed picture to warp, and its visible teeth as two layers.

A portrait that shows its teeth (a smile) has them inside its inner-lip contour. Warping that
picture to a closed mouth squeezes the teeth into a bright jagged line along the lip seam, and
opening it stretches them. So the opening is taken apart once per portrait, as in 2D cut-out
animation:

- the opening is filled with the lips' own colours (inpainting from its border), so lips that
  close meet lip to lip;
- what was inside becomes two layers: upper teeth, fixed to the skull (they follow the rigid
  upper face: nose and eye corners), and lower teeth, fixed to the jaw (they follow the chin);
  the renderer draws them inside the wanted inner-lip contour, so the lips cover and reveal them.

Whatever the opening shows (teeth, a tongue, darkness) is kept this way; where the wanted
opening is larger than what the portrait showed, the real-mouth interior
(:mod:`talkinghead.render.interior`) shows behind the layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from talkinghead.face.regions import LOWER_INNER_LIP, LOWER_OUTER_LIP, UPPER_INNER_LIP, UPPER_OUTER_LIP, along

#: Landmarks fixed to the skull (nose bridge and tip, eye corners): they carry the upper teeth.
SKULL_POINTS = (6, 168, 197, 195, 5, 4, 1, 33, 133, 362, 263)
#: Landmarks on the chin: the lower teeth follow their motion relative to the skull.
CHIN_POINTS = (152, 148, 377, 175)
#: The lower incisors sit nearer the jaw's hinge than the chin: they move this share of it.
JAW_LEVER = 0.85
#: Smallest inner-lip gap (pixels) that counts as an open mouth in the portrait.
MIN_OPEN_PX = 1.5


@dataclass(frozen=True)
class OwnTeeth:
    """The teeth a portrait shows, as two RGBA layers in its own pixels.

    Attributes:
        origin: int ``[2]`` (x, y) of the layers' top-left corner in the work image.
        upper: float32 ``[h, w, 4]`` upper teeth, RGB in [0, 255] and alpha in [0, 1].
        lower: float32 ``[h, w, 4]`` lower teeth (alpha 0 where none show).
        skull: float64 ``[11, 2]`` the portrait's :data:`SKULL_POINTS` (pixels).
        chin: float64 ``[2]`` the portrait's chin (mean of :data:`CHIN_POINTS`, pixels).
    """

    origin: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    skull: np.ndarray
    chin: np.ndarray

    def transforms(self, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where the layers go for one frame: float64 ``[2, 3]`` affine maps, layer pixel -> frame pixel.

        The upper map is the least-squares similarity from the portrait's skull points to
        ``landmarks``' (``[478, 2+]``, frame pixels); the lower map adds the chin's motion beyond
        it, times :data:`JAW_LEVER`.
        """
        target = landmarks[list(SKULL_POINTS), :2].astype(np.float64)
        m = similarity(self.skull, target)
        m[:, 2] += m[:, :2] @ self.origin
        chin_now = landmarks[list(CHIN_POINTS), :2].astype(np.float64).mean(axis=0)
        chin_rigid = m[:, :2] @ (self.chin - self.origin) + m[:, 2]
        low = m.copy()
        low[:, 2] += JAW_LEVER * (chin_now - chin_rigid)
        return m, low


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping ``src`` to ``dst``.

    Umeyama (1991) without reflection. Args: float ``[N, 2]`` point sets, N >= 2.
    Returns: float64 ``[2, 3]`` affine matrix.
    """
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - ms, dst - md
    var = float((a ** 2).sum())
    if var <= 1e-12:
        return np.array([[1.0, 0.0, md[0] - ms[0]], [0.0, 1.0, md[1] - ms[1]]])
    # Complex-number form: dst ~ z * src with z = s * e^{i theta}.
    za, zb = a[:, 0] + 1j * a[:, 1], b[:, 0] + 1j * b[:, 1]
    z = complex((np.conj(za) * zb).sum() / var)
    lin = np.array([[z.real, -z.imag], [z.imag, z.real]])
    return np.concatenate([lin, (md - lin @ ms)[:, None]], axis=1)


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The affine map ``outer(inner(p))``: float64 ``[2, 3]`` from two ``[2, 3]`` maps."""
    outer, inner = np.asarray(outer, np.float64), np.asarray(inner, np.float64)
    return np.concatenate([outer[:, :2] @ inner[:, :2], (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]], axis=1)


def _opening_mask(shape: tuple[int, int], landmarks: np.ndarray, origin: np.ndarray) -> np.ndarray:
    up = landmarks[list(UPPER_INNER_LIP), :2] - origin
    lo = landmarks[list(LOWER_INNER_LIP), :2] - origin
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(np.concatenate([up, lo[::-1]]) * 8).astype(np.int32)], 255, cv2.LINE_AA, shift=3)
    return mask


def _fill(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The opening inpainted from the lips: ``(clean image, region origin [2], soft opening mask of the region)``, None when closed."""
    up = landmarks[list(UPPER_INNER_LIP), :2].astype(np.float64)
    lo = landmarks[list(LOWER_INNER_LIP), :2].astype(np.float64)
    if float(np.max(lo[1:-1, 1] - up[1:-1, 1])) < MIN_OPEN_PX:
        return None
    h, w = image.shape[:2]
    lips = landmarks[list(UPPER_OUTER_LIP + LOWER_OUTER_LIP), :2]
    pad = int(0.3 * np.ptp(lips[:, 0])) + 4
    x0, y0 = np.maximum(np.floor(lips.min(axis=0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(lips.max(axis=0)).astype(int) + pad, [w, h])
    origin = np.array([x0, y0], np.float64)
    roi = image[y0:y1, x0:x1]
    soft = _opening_mask(roi.shape[:2], landmarks, origin)
    # A little beyond the tracked inner-lip contour (teeth often show past it, most at the
    # corners), in proportion to the mouth: on a small mouth a few pixels are much of the lip.
    mw = float(np.hypot(*(up[-1] - up[0])))
    kx, ky = 2 * int(round(0.02 * mw)) + 1, 2 * int(round(0.01 * mw)) + 1
    hole = cv2.dilate((soft > 0).astype(np.uint8) * 255, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kx, ky)))
    clean = image.copy()
    clean[y0:y1, x0:x1] = cv2.inpaint(roi, hole, 3, cv2.INPAINT_TELEA)
    return clean, origin, soft


def fill_opening(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """``image`` with its inner-lip opening inpainted from the lips around it (``image`` itself when closed).

    The first half of :func:`separate_mouth`, for frames whose own interior is not wanted (dubbing).

    Args:
        image: uint8 ``[H, W, 3]`` RGB.
        landmarks: float ``[478, 2+]`` the face in it (pixels).
    """
    filled = _fill(image, landmarks)
    return image if filled is None else filled[0]


def separate_mouth(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, OwnTeeth | None]:
    """Take an open mouth apart: the picture with the opening filled by lip, and what was inside.

    Args:
        image: uint8 ``[H, W, 3]`` RGB work image.
        landmarks: float ``[478, 2+]`` the face as detected in it (pixels).
    Returns:
        ``(clean, teeth)``: ``clean`` is :func:`fill_opening`'s picture; ``teeth`` holds what the
        opening showed (teeth, tongue or darkness: the portrait's own, always more like this
        person than anything drawn), None when the mouth is closed.
    """
    filled = _fill(image, landmarks)
    if filled is None:
        return image, None
    clean, origin, soft = filled
    up = landmarks[list(UPPER_INNER_LIP), :2].astype(np.float64)
    lo = landmarks[list(LOWER_INNER_LIP), :2].astype(np.float64)
    x0, y0 = int(origin[0]), int(origin[1])
    roi = image[y0:y0 + soft.shape[0], x0:x0 + soft.shape[1]]
    inside = cv2.erode(soft, np.ones((3, 3), np.uint8)) > 128
    if inside.sum() < 6:
        return clean, None
    lum = roi.astype(np.float32).mean(axis=2)
    # Where the upper and lower layers part: the darkest row across the middle third of the mouth,
    # in the lower two thirds of the opening (between the rows of teeth, or above the tongue);
    # none when it is not clearly darker (all of it then stays with the skull).
    n = 12
    t = np.linspace(0.0, 1.0, n)
    mid = (up[5] + lo[5]) / 2.0
    xs = np.linspace(-1.0, 1.0, 9) * 0.17 * np.ptp(up[:, 0])
    prof = []
    for ti in t:
        y = up[5, 1] + ti * (lo[5, 1] - up[5, 1]) - y0
        xx = np.clip(np.round(mid[0] + xs - x0).astype(int), 0, roi.shape[1] - 1)
        prof.append(float(np.mean(lum[int(np.clip(round(y), 0, roi.shape[0] - 1)), xx])))
    prof = np.array(prof)
    k = int(np.argmin(prof[4:-1])) + 4
    split = t[k] if prof[k] < 0.8 * float(np.median(prof[1:-1])) else 1.0
    alpha = soft.astype(np.float32) / 255.0
    yy = np.arange(roi.shape[0], dtype=np.float64)[:, None] + y0
    xx = np.arange(roi.shape[1], dtype=np.float64)[None, :] + x0
    u_at = along(up[:, 0], up[:, 1], xx)
    l_at = along(lo[:, 0], lo[:, 1], xx)
    cut = u_at + split * (l_at - u_at)
    below = np.clip((yy - cut) + 0.5, 0.0, 1.0).astype(np.float32)
    rgb = roi.astype(np.float32)
    upper = np.dstack([rgb, alpha * (1.0 - below)])
    lower = np.dstack([rgb, alpha * below])
    skull = landmarks[list(SKULL_POINTS), :2].astype(np.float64)
    chin = landmarks[list(CHIN_POINTS), :2].astype(np.float64).mean(axis=0)
    return clean, OwnTeeth(origin=origin, upper=upper, lower=lower, skull=skull, chin=chin)


def draw_layer(canvas: np.ndarray, layer: np.ndarray, matrix: np.ndarray, origin: np.ndarray, clip: np.ndarray) -> None:
    """Composite an RGBA layer onto a float canvas in place, through an affine map and a clip mask.

    Args:
        canvas: float32 ``[h, w, 3]`` RGB region of a frame whose top-left is ``origin`` (frame pixels).
        layer: float32 ``[lh, lw, 4]`` RGB + alpha.
        matrix: float ``[2, 3]`` layer pixel -> frame pixel.
        origin: ``[2]`` the canvas's top-left in frame pixels.
        clip: float32 ``[h, w]`` in [0, 1]: where the layer may show.
    """
    m = matrix.astype(np.float64).copy()
    m[:, 2] -= origin
    h, w = canvas.shape[:2]
    moved = cv2.warpAffine(layer, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    a = (moved[..., 3] * clip)[..., None]
    canvas += (moved[..., :3] - canvas) * a
