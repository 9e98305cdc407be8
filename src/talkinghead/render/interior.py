"""Mouth interiors made from real mouths: a bank of mean interiors by opening, fitted to the lips.

Instead of painting teeth, the inside of the mouth comes from real talking footage (GRID s1's
training clips, CC BY 4.0): every frame's mouth is mapped into a canonical mouth frame (inner-lip
corners at x = -1 and +1), divided by that speaker's skin colour, and the frames are grouped by
how far the lips are open; each group's per-pixel median is one interior (``assets/mouth_bank.png``,
built by ``talkinghead train mouth-bank``). The median keeps what all of them share (upper teeth
shadowed under the upper lip, darker corners, lower teeth and tongue on wide openings) and
averages away what they do not.

At render time the two interiors whose opening brackets the wanted one are blended (so the
interior changes smoothly with the lips, never flickering between exemplars), stretched
column by column from their own inner-lip contour to the wanted one, and multiplied by the
portrait's skin colour: a black-and-white photo gets a grey mouth, sepia a sepia one, a stone
statue one of stone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import cv2
import numpy as np

from talkinghead.face.regions import LOWER_INNER_LIP, UPPER_INNER_LIP, along

#: Landmarks whose surroundings give a face's skin colour (both cheeks and the chin).
SKIN_POINTS = (205, 425, 200)
#: Exponent applied to the relative interior (> 1 darkens the cavity more than the teeth).
CONTRAST = 2.0
#: Brightness of the bank's brightest teeth after the contrast curve, relative to the skin.
TEETH_LEVEL = 0.92
#: Pixel values in the bank are (interior / skin colour) * BANK_SCALE.
BANK_SCALE = 127.5


@dataclass(frozen=True)
class MouthBank:
    """Mean mouth interiors by opening, in the canonical mouth frame.

    Attributes:
        images: float32 ``[K, H, W, 3]`` interior relative to skin colour (1 = as bright as the skin).
        openings: float32 ``[K]`` each interior's inner-lip opening (mid-mouth gap over half the
            mouth width), increasing.
        upper, lower: float32 ``[K, 11, 2]`` each interior's inner-lip contours (canonical units,
            corner to corner).
        scale: pixels per canonical unit.
        origin: ``[2]`` canonical (x, y) of pixel (0, 0).
        bright: the brightest teeth's relative brightness (99th percentile inside the openings).
        exact: the bank is the person's own, filmed like the frames it is drawn on: its colours
            are used as they are. Otherwise (the shipped bank, drawn on any face) only its
            brightness is kept, its contrast deepened, and the colour comes from the portrait.
    """

    images: np.ndarray
    openings: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    scale: float
    origin: np.ndarray
    bright: float
    exact: bool = False

    @classmethod
    def create(cls, images: np.ndarray, openings: np.ndarray, upper: np.ndarray, lower: np.ndarray, scale: float,
               origin: np.ndarray, exact: bool) -> MouthBank:
        """A bank from its arrays (shapes as the attributes), measuring :attr:`bright`."""
        return cls(images=images, openings=openings, upper=upper, lower=lower, scale=float(scale),
                   origin=np.asarray(origin, np.float32), bright=_teeth_brightness(images, upper, lower, scale, origin),
                   exact=exact)

    def interior(self, opening: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The interior for an opening, blended from the two nearest: ``(image [H, W, 3], upper [11, 2], lower [11, 2])``."""
        o = self.openings
        k = int(np.clip(np.searchsorted(o, opening), 1, len(o) - 1))
        t = float(np.clip((opening - o[k - 1]) / max(o[k] - o[k - 1], 1e-6), 0.0, 1.0))
        mix = lambda a: (1.0 - t) * a[k - 1] + t * a[k]  # noqa: E731
        return mix(self.images), mix(self.upper), mix(self.lower)


@lru_cache(maxsize=1)
def load_bank() -> MouthBank:
    """The shipped bank (``assets/mouth_bank.png`` + ``.json``), loaded once."""
    base = resources.files("talkinghead") / "assets"
    meta = json.loads((base / "mouth_bank.json").read_text())
    with resources.as_file(base / "mouth_bank.png") as p:
        atlas = cv2.cvtColor(cv2.imread(str(p), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    h, w = meta["height"], meta["width"]
    k = len(meta["openings"])
    images = atlas[: k * h].reshape(k, h, w, 3).astype(np.float32) / BANK_SCALE
    return MouthBank.create(images, np.asarray(meta["openings"], np.float32), np.asarray(meta["upper"], np.float32),
                            np.asarray(meta["lower"], np.float32), float(meta["scale"]),
                            np.asarray(meta["origin"], np.float32), exact=False)


def _teeth_brightness(images: np.ndarray, upper: np.ndarray, lower: np.ndarray, scale: float, origin: np.ndarray) -> float:
    """The 99th percentile of relative brightness inside the bank's openings (its brightest teeth)."""
    k, h, w = images.shape[:3]
    origin = np.asarray(origin, np.float64)
    values = []
    for i in range(k):
        poly = np.concatenate([np.asarray(upper[i]), np.asarray(lower[i])[::-1]])
        mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(mask, [np.round((poly - origin) * scale).astype(np.int32)], 1)
        values.append(images[i].mean(axis=2)[mask > 0])
    inside = np.concatenate(values)
    return float(np.percentile(inside, 99)) if inside.size else 1.0


def skin_colour(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """A face's skin colour: float32 RGB ``[3]``, the median around :data:`SKIN_POINTS`.

    Args:
        image: uint8 ``[H, W, 3]`` RGB.
        landmarks: float ``[478, 2+]`` the face in it (pixels).
    """
    h, w = image.shape[:2]
    iod = float(np.hypot(*(landmarks[263, :2] - landmarks[33, :2])))
    r = max(1, int(0.06 * iod))
    px = []
    for i in SKIN_POINTS:
        x, y = np.clip(np.round(landmarks[i, :2]).astype(int), [r, r], [w - r - 1, h - r - 1])
        px.append(image[y - r:y + r + 1, x - r:x + r + 1].reshape(-1, 3))
    return np.median(np.concatenate(px), axis=0).astype(np.float32)


def canonical_frame(up: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Similarity putting a mouth's inner-lip corners at (-1, 0) and (+1, 0): float64 ``[2, 3]`` pixel -> canonical.

    Args:
        up, lo: float ``[11, 2]`` inner-lip contours (pixels), corner to corner.
    """
    c0, c1 = up[0], up[-1]
    d = (c1 - c0) / 2.0
    s2 = float(d @ d)
    if s2 <= 1e-9:
        raise ValueError("degenerate mouth: the corners coincide")
    # z -> (z - centre) / d as complex numbers.
    inv = np.array([[d[0], d[1]], [-d[1], d[0]]]) / s2
    centre = (c0 + c1) / 2.0
    return np.concatenate([inv, (-inv @ centre)[:, None]], axis=1)


def canonical_lips(up: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Inner-lip contours in the canonical mouth frame, and how open they are.

    Args:
        up, lo: float ``[11, 2]`` inner-lip contours (pixels), corner to corner.
    Returns:
        ``(matrix [2, 3] pixel -> canonical, upper [11, 2], lower [11, 2], opening)``: the opening
        is the mid-mouth gap over half the mouth width (canonical units).
    Raises:
        ValueError: the mouth corners coincide.
    """
    m = canonical_frame(up, lo)
    cu = up @ m[:, :2].T + m[:, 2]
    cl = lo @ m[:, :2].T + m[:, 2]
    return m, cu, cl, float(np.mean(cl[3:8, 1] - cu[3:8, 1]))


def fit_interior(bank: MouthBank, landmarks: np.ndarray, origin: np.ndarray, size: tuple[int, int],
                 skin: np.ndarray) -> np.ndarray:
    """The bank's interior fitted to a frame's inner lips, over one region of the frame.

    Each pixel's place between the wanted upper and lower inner lip (at its position along the
    mouth) is taken to the same place between the interior's own contours.

    Args:
        bank: the mouth bank.
        landmarks: float ``[478, 2+]`` the frame's landmarks (pixels).
        origin: ``[2]`` (x, y) of the region's top-left in the frame.
        size: ``(height, width)`` of the region.
        skin: float RGB ``[3]`` the portrait's skin colour (:func:`skin_colour`).
    Returns:
        float32 ``[h, w, 3]`` RGB in [0, 255]; meaningful inside the inner-lip opening.
    """
    up = landmarks[list(UPPER_INNER_LIP), :2].astype(np.float64)
    lo = landmarks[list(LOWER_INNER_LIP), :2].astype(np.float64)
    m, cu, cl, opening = canonical_lips(up, lo)
    image, eu, el = bank.interior(opening)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    x = m[0, 0] * (xx + origin[0]) + m[0, 1] * (yy + origin[1]) + m[0, 2]
    y = m[1, 0] * (xx + origin[0]) + m[1, 1] * (yy + origin[1]) + m[1, 2]
    xc = np.clip(x, -1.0, 1.0)
    tu, tl = along(cu[:, 0], cu[:, 1], xc), along(cl[:, 0], cl[:, 1], xc)
    t = (y - tu) / np.maximum(tl - tu, 0.02)
    su, sl = along(eu[:, 0], eu[:, 1], xc), along(el[:, 0], el[:, 1], xc)
    ys = su + t * np.maximum(sl - su, 0.02)
    map_x = ((x - bank.origin[0]) * bank.scale).astype(np.float32)
    map_y = ((ys - bank.origin[1]) * bank.scale).astype(np.float32)
    rel = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if bank.exact:
        return np.clip(rel * np.asarray(skin, np.float32), 0.0, 255.0)
    # Brightness from the footage (its soft video contrast deepened: shadows darker, teeth near 1
    # kept); colour from the portrait's skin, warmed towards red in the shadows (a mouth's inside
    # is flesh), so no tint of the footage's camera comes along.
    lum = (TEETH_LEVEL * np.power(np.clip(rel.mean(axis=2) / bank.bright, 0.0, 1.2), CONTRAST))[..., None]
    skin = np.asarray(skin, np.float32)
    flesh = skin * np.array([1.0, 0.62, 0.62], np.float32)
    grey = float(skin.mean())
    flesh = grey + (flesh - grey) * _colourfulness(skin)  # none for black-and-white portraits
    colour = flesh + (skin - flesh) * np.clip(lum, 0.0, 1.0)
    return np.clip(lum * colour, 0.0, 255.0)


def _colourfulness(rgb: np.ndarray) -> float:
    """0 for grey, 1 for ordinary skin saturation and above."""
    sat = (float(rgb.max()) - float(rgb.min())) / max(float(rgb.max()), 1.0)
    return float(np.clip((sat - 0.04) / 0.16, 0.0, 1.0))

