from __future__ import annotations

import numpy as np

from talkinghead.face.regions import canonical_mesh, hole_triangles, jaw_weight, normalize_mesh, offsets_to_pixels, tessellation


def _pixel_mesh(angle: float = 0.3, scale: float = 80.0) -> np.ndarray:
    q = canonical_mesh()
    c, s = np.cos(angle), np.sin(angle)
    out = np.empty_like(q)
    out[:, 0] = (c * q[:, 0] - s * q[:, 1]) * scale + 200
    out[:, 1] = (s * q[:, 0] + c * q[:, 1]) * scale + 150
    out[:, 2] = q[:, 2] * scale
    return out


def test_normalize_undoes_scale_rotation_and_offsets_round_trip() -> None:
    px = _pixel_mesh()
    np.testing.assert_allclose(normalize_mesh(px), canonical_mesh(), atol=1e-4)
    off = np.zeros((478, 3), np.float32)
    off[14] = (0.0, 0.1, 0.0)  # lower lip down by 0.1 IOD in the face frame
    d = offsets_to_pixels(off, px)[14]
    assert abs(np.hypot(d[0], d[1]) - 8.0) < 1e-3  # 0.1 * 80 px
    assert d[0] < 0 and d[1] > 0  # "down" rotated by +0.3 rad


def test_triangles_are_valid_and_jaw_weights_split_the_lips() -> None:
    t = np.concatenate([tessellation(), hole_triangles()])
    assert t.min() >= 0 and t.max() < 468
    w = jaw_weight(canonical_mesh())
    assert w[14] == 1.0 and w[13] == 0.0 and w[152] > 0.9 and w[10] == 0.0
