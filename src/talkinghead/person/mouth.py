"""A mouth bank from footage: median real mouth interiors by opening (the person's own, or GRID s1's).

Every frame's mouth is mapped into the canonical mouth frame of :mod:`talkinghead.render.interior`
(inner-lip corners at x = -1 and +1), divided by that frame's skin colour (so lighting changes
cancel), and filed by how far the lips are open; each opening bin keeps up to ``per_bin`` frames
(reservoir sampling: all equally likely), and its per-pixel median becomes one interior. The
shipped bank (``talkinghead train mouth-bank``) is this over GRID s1's training clips; ``dub``
and ``fit`` build one from the person's own video.
"""

from __future__ import annotations

import cv2
import numpy as np

from talkinghead.face.regions import LOWER_INNER_LIP, UPPER_INNER_LIP
from talkinghead.render.interior import MouthBank, canonical_lips, skin_colour
from talkinghead.render.teeth import compose
from talkinghead.types import InputError

#: Canonical mouth frame of a bank: pixels per unit (half a mouth width) and extent.
SCALE = 32.0
ORIGIN = (-1.125, -0.5)
SIZE = (56, 72)  # height, width
#: Opening bins (mid-mouth gap over half the mouth width).
EDGES = (0.02, 0.06, 0.1, 0.15, 0.2, 0.26, 0.32, 0.39, 0.46, 0.54, 0.63, 0.75)
#: Fewest frames a bin needs to become an interior.
MIN_FRAMES = 5


class MouthBankBuilder:
    """Collects mouth crops frame by frame; :meth:`build` makes the bank.

    Args:
        per_bin: most frames kept per opening bin.
        seed: random seed of the reservoir sampling.
    """

    def __init__(self, per_bin: int = 240, seed: int = 0) -> None:
        self.per_bin = per_bin
        self._rng = np.random.default_rng(seed)
        self._bins: list[list[tuple[np.ndarray, np.ndarray, np.ndarray, float]]] = [[] for _ in range(len(EDGES) - 1)]
        self._seen = [0] * (len(EDGES) - 1)
        self.frames = 0
        s, (ox, oy) = SCALE, ORIGIN
        self._to_px = np.array([[s, 0.0, -ox * s], [0.0, s, -oy * s]])

    def add(self, frame: np.ndarray, landmarks: np.ndarray, skin: np.ndarray | None = None) -> None:
        """File one frame's mouth.

        Args:
            frame: uint8 ``[H, W, 3]`` RGB.
            landmarks: float ``[478, 2+]`` the face in it (pixels).
            skin: float RGB ``[3]`` the face's skin colour (default: measured on this frame).
        """
        up = landmarks[list(UPPER_INNER_LIP), :2].astype(np.float64)
        lo = landmarks[list(LOWER_INNER_LIP), :2].astype(np.float64)
        try:
            m, cu, cl, opening = canonical_lips(up, lo)
        except ValueError:
            return
        b = int(np.searchsorted(EDGES, opening)) - 1
        self.frames += 1
        if not 0 <= b < len(self._bins):
            return
        self._seen[b] += 1
        keep = len(self._bins[b]) < self.per_bin or self._rng.random() < self.per_bin / self._seen[b]
        if not keep:
            return
        skin = np.maximum(skin_colour(frame, landmarks) if skin is None else np.asarray(skin, np.float32), 1.0)
        full = compose(self._to_px, m)
        h, w = SIZE
        crop = cv2.warpAffine(frame, full, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        item = (crop.astype(np.float32) / skin, cu.astype(np.float32), cl.astype(np.float32), opening)
        if len(self._bins[b]) < self.per_bin:
            self._bins[b].append(item)
        else:
            self._bins[b][int(self._rng.integers(self.per_bin))] = item

    @property
    def counts(self) -> list[int]:
        """Frames kept per opening bin."""
        return [len(b) for b in self._bins]

    def build(self, exact: bool, source: str = "footage") -> MouthBank:
        """The bank: one median interior per bin with at least :data:`MIN_FRAMES` frames.

        Args:
            exact: the bank is of the person it will be drawn on (keep its colours, as filmed),
                rather than a generic one for any face (see :class:`~talkinghead.render.interior.MouthBank`).
            source: what the frames were, for the error message.
        Raises:
            InputError: fewer than two bins have enough frames (too little footage of a moving mouth).
        """
        kept = [b for b in self._bins if len(b) >= MIN_FRAMES]
        if len(kept) < 2:
            raise InputError(f"{source}: too few frames of a talking mouth to learn it from ({self.frames} frames)")
        images = np.stack([np.median(np.stack([x[0] for x in b]), axis=0) for b in kept]).astype(np.float32)
        upper = np.stack([np.median(np.stack([x[1] for x in b]), axis=0) for b in kept]).astype(np.float32)
        lower = np.stack([np.median(np.stack([x[2] for x in b]), axis=0) for b in kept]).astype(np.float32)
        openings = np.array([np.median([x[3] for x in b]) for b in kept], np.float32)
        return MouthBank.create(images, openings, upper, lower, SCALE, np.asarray(ORIGIN, np.float32), exact)
