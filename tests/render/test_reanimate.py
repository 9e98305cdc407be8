"""Re-animating a video frame's mouth: only the moving part of the face is recomputed."""

from __future__ import annotations

from functools import partial

import numpy as np

from talkinghead.face.landmarks import find_face
from talkinghead.face.neutral import neutralize
from talkinghead.face.regions import offsets_to_pixels
from talkinghead.media.image import load_image
from talkinghead.render import reanimate as R
from talkinghead.render.interior import fit_interior, load_bank, skin_colour
from talkinghead.render.teeth import fill_opening
from talkinghead.render.warp import backward_map, build_warp_mesh, warp


def test_the_moving_box_gives_the_same_frame_as_warping_the_whole_region(au_offsets) -> None:
    from importlib import resources

    image = load_image(resources.files("talkinghead.assets") / "astronaut.png")
    face = find_face(image)
    src = face.landmarks
    neutral = neutralize(face).landmarks
    tgt = src.copy()
    tgt[:, :2] = (neutral + offsets_to_pixels(au_offsets(jawOpen=0.7), neutral))[:, :2]
    interior = partial(fit_interior, load_bank(), skin=skin_colour(image, src))
    out = R.reanimate(image, src, tgt, interior)
    # The same frame with the dense field computed over the whole region (the definition).
    x0, y0, x1, y1 = R.face_region(np.concatenate([src[:, :2], tgt[:, :2]]), image.shape[:2])
    o = np.array([x0, y0], np.float32)
    region = np.ascontiguousarray(image[y0:y1, x0:x1])
    s, t = src[:, :2].astype(np.float32) - o, tgt[:, :2].astype(np.float32) - o
    mesh = build_warp_mesh(s, region.shape[:2])
    moved = np.concatenate([t[:mesh.num_face], mesh.source[mesh.num_face:]])
    result = warp(fill_opening(region, s), *backward_map(mesh, moved, region.shape[:2], step=2))
    R.paint_mouth(result, t, interior, None, R.SEAM_DARKNESS)
    ref = image.copy()
    ref[y0:y1, x0:x1] = result
    diff = np.abs(out.astype(int) - ref.astype(int))
    assert diff.max() <= 2 and diff.mean() < 0.01
    # And the mouth did open: the frame changed around it.
    assert np.abs(out.astype(int) - image.astype(int)).max() > 50
