"""Real mouth interiors: the shipped bank, and the interior fitted inside a mouth."""

from __future__ import annotations

import numpy as np

from talkinghead.face.regions import LOWER_INNER_LIP, UPPER_INNER_LIP, canonical_mesh
from talkinghead.render.interior import canonical_frame, canonical_lips, fit_interior, load_bank


def _mouth(open_px: float, width: float = 120.0, at=(200.0, 150.0)) -> np.ndarray:
    """Landmarks of the canonical face scaled to pixels, inner lips opened by ``open_px`` mid-mouth."""
    m = canonical_mesh()[:, :2].astype(np.float64)
    s = width / abs(m[308, 0] - m[78, 0])
    lm = (m - m[[78, 308]].mean(0)) * s + at
    xs = lm[list(LOWER_INNER_LIP), 0]
    bump = open_px * np.clip(1 - ((xs - at[0]) / (width / 2)) ** 2, 0, 1)
    lm[list(LOWER_INNER_LIP), 1] += bump
    return lm


def test_the_shipped_bank_spans_closed_to_wide_open() -> None:
    bank = load_bank()
    k, h, w, c = bank.images.shape
    assert k >= 6 and c == 3 and np.all(np.diff(bank.openings) > 0)
    assert bank.openings[0] < 0.08 and bank.openings[-1] > 0.5
    # Each interior's contours open as much as its label says.
    for i in range(k):
        gap = np.mean(bank.lower[i, 3:8, 1] - bank.upper[i, 3:8, 1])
        assert abs(gap - bank.openings[i]) < 0.05


def test_opening_is_gap_over_half_width_and_frame_puts_corners_at_plus_minus_one() -> None:
    lm = _mouth(30.0)
    up, lo = lm[list(UPPER_INNER_LIP)], lm[list(LOWER_INNER_LIP)]
    m = canonical_frame(up, lo)
    corners = up[[0, -1]] @ m[:, :2].T + m[:, 2]
    assert np.allclose(corners, [[-1, 0], [1, 0]], atol=1e-9)
    assert 0.4 < canonical_lips(up, lo)[3] < 0.55  # about 30 px over a 60 px half-width, less off-centre


def test_a_wide_interior_is_dark_inside_lighter_teeth_above_and_takes_the_skin_colour() -> None:
    bank = load_bank()
    lm = _mouth(50.0)
    skin = np.array([200.0, 150.0, 120.0], np.float32)
    out = fit_interior(bank, lm, np.array([100.0, 100.0]), (150, 200), skin)
    assert out.shape == (150, 200, 3) and out.dtype == np.float32
    up, lo = lm[13] - [100, 100], lm[14] - [100, 100]
    col = out[int(up[1]):int(lo[1]), int(up[0]) - 3:int(up[0]) + 4].mean(axis=(1, 2))
    assert col.min() < 0.35 * skin.mean()  # the cavity is dark
    assert col[: len(col) // 3].max() > 2 * col.min()  # upper teeth brighter than the cavity
    # Black-and-white portrait: a grey interior.
    grey = fit_interior(bank, lm, np.array([100.0, 100.0]), (150, 200), np.full(3, 170.0, np.float32))
    assert np.abs(grey[..., 0] - grey[..., 2]).max() < 1.0
