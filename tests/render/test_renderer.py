from __future__ import annotations

import numpy as np
import pytest

from talkinghead.face.landmarks import find_face
from talkinghead.face.neutral import neutralize
from talkinghead.media.image import load_image
from talkinghead.render.renderer import RenderConfig, Renderer


@pytest.fixture(scope="module")
def portrait(shared_data):
    img = load_image(shared_data / "portraits" / "photo" / "sadtalker_people_0.png")
    face = find_face(img)
    return img, face, neutralize(face)


def test_crop_output_size_and_open_mouth_is_dark_inside(portrait, au_offsets) -> None:
    img, face, neutral = portrait
    r = Renderer(img, face, neutral, RenderConfig(size=256))
    assert r.output_size == (256, 256)
    still = r.render(au_offsets(), np.zeros(6), 0.0)
    opened = r.render(au_offsets(jawOpen=0.8), np.zeros(6), 0.0)
    assert still.shape == (256, 256, 3) and still.dtype == np.uint8
    lm = r.target_landmarks(au_offsets(jawOpen=0.8), np.zeros(6), 0.0)
    up, lo = lm[13], lm[14]
    mid = ((up + lo) / 2).round().astype(int)
    assert lo[1] - up[1] > 8  # lips apart
    # the inside of the open mouth has a dark cavity: its darker part is well below the lips that
    # were there when closed
    y, x = mid[1], mid[0]
    inside = opened[int(up[1]) + 1:int(lo[1]), x - 6:x + 7].astype(np.float32).mean(axis=2)
    assert np.percentile(inside, 20) < still[y - 1:y + 2, x - 3:x + 4].mean() - 40
    # far from the face (top corners) nothing changes
    assert np.abs(opened[:20, :20].astype(int) - still[:20, :20]).max() <= 2


def test_full_frame_keeps_background_and_blink_closes_eyes(portrait, au_offsets) -> None:
    img, face, neutral = portrait
    r = Renderer(img, face, neutral, RenderConfig(full_frame=True))
    w, h = r.output_size
    assert (w % 2, h % 2) == (0, 0)
    frame = r.render(au_offsets(jawOpen=0.5), np.array([3.0, 4.0, 2.0, 0, 0, 0]), 1.0)
    assert frame.shape == (h, w, 3)
    x0, y0, x1, y1 = r.roi
    outside = np.ones((h, w), bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(frame[outside], r.background[outside])
    lm = r.target_landmarks(au_offsets(), np.zeros(6), 1.0)
    assert abs(lm[159, 1] - lm[145, 1]) < 0.25 * abs(r._neutral[159, 1] - r._neutral[145, 1]) + 0.5
