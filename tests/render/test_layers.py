"""The portrait's own teeth, the filled lip seam and the drawn blink, on real portraits."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from talkinghead.face.landmarks import find_face
from talkinghead.face.neutral import neutralize
from talkinghead.face.regions import LOWER_INNER_LIP, UPPER_INNER_LIP
from talkinghead.media.image import load_image
from talkinghead.render.renderer import RenderConfig, Renderer
from talkinghead.render.teeth import separate_mouth, similarity


@pytest.fixture(scope="module")
def smile() -> Renderer:
    """The demo portrait: a smile that shows its upper teeth."""
    with resources.as_file(resources.files("talkinghead") / "assets" / "astronaut.png") as p:
        img = load_image(p)
    face = find_face(img)
    return Renderer(img, face, neutralize(face), RenderConfig(size=512))


def _lum(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float32).mean(axis=2)


def test_similarity_recovers_a_rotation_scale_and_shift() -> None:
    rng = np.random.default_rng(0)
    src = rng.normal(size=(11, 2)) * 30
    a = np.radians(12.0)
    lin = 1.3 * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    dst = src @ lin.T + [5.0, -7.0]
    m = similarity(src, dst)
    assert np.allclose(m[:, :2], lin, atol=1e-9) and np.allclose(m[:, 2], [5.0, -7.0], atol=1e-9)


def test_a_closed_portrait_is_left_alone(shared_data) -> None:
    img = load_image(shared_data / "portraits" / "photo" / "sadtalker_people_0.png")
    face = find_face(img)
    lm = neutralize(face).landmarks
    clean, teeth = separate_mouth(img, lm)
    assert clean is img and teeth is None


def test_the_smile_keeps_its_own_teeth_and_closes_without_a_bright_seam(smile: Renderer, au_offsets) -> None:
    assert smile.teeth is not None
    # Closed: along the seam no pixel is brighter than the lips around it (the squeezed teeth
    # used to leave a white line there).
    closed = smile.render(au_offsets(), np.zeros(6), 0.0)
    lm = smile.target_landmarks(au_offsets(), np.zeros(6), 0.0)
    seam = (lm[list(UPPER_INNER_LIP[2:-2]), :2] + lm[list(LOWER_INNER_LIP[2:-2]), :2]) / 2
    lum = _lum(closed)
    on_seam = [lum[int(round(y)) - 1:int(round(y)) + 2, int(round(x))].max() for x, y in seam]
    lips = [lum[int(round(y)) - 8, int(round(x))] for x, y in seam] + [lum[int(round(y)) + 8, int(round(x))] for x, y in seam]
    assert max(on_seam) <= np.percentile(lips, 90) + 10
    # Open: the middle of the upper part of the opening shows the portrait's own bright teeth.
    opened = smile.render(au_offsets(jawOpen=0.6), np.zeros(6), 0.0)
    lm = smile.target_landmarks(au_offsets(jawOpen=0.6), np.zeros(6), 0.0)
    up, lo = lm[13, :2], lm[14, :2]
    assert lo[1] - up[1] > 12
    x, y = int(round(up[0])), int(round(up[1] + 0.2 * (lo[1] - up[1])))
    teeth_px = opened[y - 1:y + 2, x - 3:x + 4].reshape(-1, 3).astype(np.float32)
    src_lm = smile._src_lm
    sx, sy = int(round(src_lm[13, 0])), int(round((src_lm[13, 1] + src_lm[14, 1]) / 2))
    assert _lum(teeth_px[None]).mean() > np.percentile(lips, 90) + 20
    # ... the colour of the teeth in the portrait (not painted ones).
    own = smile.teeth.upper[..., :3][sy - int(smile.teeth.origin[1]), sx - int(smile.teeth.origin[0])]
    assert np.abs(teeth_px.mean(axis=0) - own).max() < 40


def test_a_blink_covers_the_eye_with_lid_and_lash_line(smile: Renderer, au_offsets) -> None:
    still = smile.render(au_offsets(), np.zeros(6), 0.0)
    shut = smile.render(au_offsets(), np.zeros(6), 1.0)
    lm = smile.target_landmarks(au_offsets(), np.zeros(6), 0.0)
    for iris, above in ((468, 27), (473, 257)):
        x, y = np.round(lm[iris, :2]).astype(int)
        # The dark iris is covered by skin nearly as bright as the skin above the eye.
        assert _lum(shut[y - 1:y + 2, x - 1:x + 2]).mean() > _lum(still[y - 1:y + 2, x - 1:x + 2]).mean() + 40
        sx, sy = np.round(lm[above, :2]).astype(int)
        assert _lum(shut[y - 1:y + 2, x - 1:x + 2]).mean() > 0.6 * _lum(still[sy - 3:sy, sx - 1:sx + 2]).mean()
    # No bright eye-white line left where the lids meet: the shut eye is nowhere brighter than the skin.
    eye = lm[[33, 133, 159, 145], :2]
    x0, y0 = np.floor(eye.min(0)).astype(int)
    x1, y1 = np.ceil(eye.max(0)).astype(int)
    assert _lum(shut[y0:y1 + 1, x0:x1 + 1]).max() <= _lum(still[y0 - 20:y0 - 8, x0:x1]).max() + 15


def test_a_blink_hides_heavy_lashes_under_the_lid(shared_data, au_offsets) -> None:
    img = load_image(shared_data / "portraits" / "photo" / "sadtalker_people_0.png")
    face = find_face(img)
    r = Renderer(img, face, neutralize(face), RenderConfig(size=512))
    assert all(0.05 <= b <= 0.31 for b in r.lids.bands)
    assert float(np.mean(r.lids.lashes)) < 60  # dark lashes
    still = r.render(au_offsets(), np.zeros(6), 0.0)
    shut = r.render(au_offsets(), np.zeros(6), 1.0)
    lm = r.target_landmarks(au_offsets(), np.zeros(6), 0.0)
    width = float(np.hypot(*(lm[133, :2] - lm[33, :2])))
    # Just above the open lid's edge (the lash line) the shut eye shows lid skin instead.
    for i in (159, 158, 386, 385):
        x, y = np.round(lm[i, :2] - [0, 0.02 * width]).astype(int)
        assert _lum(shut[y - 1:y + 2, x - 1:x + 2]).mean() > _lum(still[y - 1:y + 2, x - 1:x + 2]).mean() + 15
