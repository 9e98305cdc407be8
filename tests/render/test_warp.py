from __future__ import annotations

import numpy as np

from talkinghead.face.regions import canonical_mesh
from talkinghead.render.warp import backward_map, build_warp_mesh, warp


def _mesh_px() -> np.ndarray:
    q = canonical_mesh()
    return np.concatenate([q[:, :2] * 90 + [128, 100], q[:, 2:] * 90], axis=1).astype(np.float32)


def _image() -> np.ndarray:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)
    import cv2

    return cv2.GaussianBlur(img, (0, 0), 2.0)


def test_identity_target_reproduces_the_source() -> None:
    mesh = build_warp_mesh(_mesh_px(), (256, 256))
    for step in (1, 2):
        mx, my = backward_map(mesh, mesh.source, (256, 256), step=step)
        gx, gy = np.meshgrid(np.arange(256), np.arange(256))
        assert np.abs(mx - gx).max() < 0.02 and np.abs(my - gy).max() < 0.02
    img = _image()
    assert np.abs(warp(img, mx, my).astype(int) - img).max() <= 1


def test_moving_the_face_moves_pixels_and_keeps_the_border() -> None:
    mesh = build_warp_mesh(_mesh_px(), (256, 256))
    target = mesh.source.copy()
    target[: mesh.num_face, 0] += 5.0  # face 5 px right
    mx, my = backward_map(mesh, target, (256, 256), step=1)
    nose = _mesh_px()[1]
    x, y = int(round(nose[0] + 5)), int(round(nose[1]))
    assert abs(mx[y, x] - (x - 5)) < 0.05  # output nose samples the source nose
    # the image border is static (background does not move)
    gx, gy = np.meshgrid(np.arange(256), np.arange(256))
    border = np.zeros((256, 256), bool)
    border[:3], border[-3:], border[:, :3], border[:, -3:] = True, True, True, True
    assert np.abs(mx - gx)[border].max() < 0.05
    # and the field is continuous: no jumps between neighbouring pixels
    assert np.abs(np.diff(mx, axis=1)).max() < 1.5
