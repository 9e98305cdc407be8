from __future__ import annotations

import numpy as np

from talkinghead.face.regions import canonical_mesh
from talkinghead.render.warp import backward_map, build_warp_mesh, fill_triangles, warp


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


def test_a_translated_face_maps_back_by_the_translation_at_every_step_and_the_border_stays_exact() -> None:
    mesh = build_warp_mesh(_mesh_px(), (256, 256))
    target = mesh.source.copy()
    target[: mesh.num_face] += [5.0, -3.0]  # the face moves right and up; the rings and border stay
    nose = _mesh_px()[1]
    xs, ys = np.meshgrid(np.arange(int(nose[0]) - 20, int(nose[0]) + 21), np.arange(int(nose[1]) - 15, int(nose[1]) + 16))
    gx, gy = np.meshgrid(np.arange(256, dtype=np.float32), np.arange(256, dtype=np.float32))
    for step in (1, 2, 3):
        for depth in (None, np.linspace(0.0, 1.0, len(target))):
            mx, my = backward_map(mesh, target, (256, 256), step=step, depth=depth)
            assert mx.shape == my.shape == (256, 256) and mx.dtype == np.float32
            # exact where the output pixel is a sample or halfway between two; OpenCV's bilinear
            # weights are in 1/32 steps, so a third of the way is off by up to 1/32 px
            tol = 1e-3 if step < 3 else 1 / 32 + 1e-3
            assert np.abs(mx[ys, xs] - (xs - 5.0)).max() < tol and np.abs(my[ys, xs] - (ys + 3.0)).max() < tol
            # pixels in no moved triangle are the identity (exactly, up to float rounding in the
            # corners and the same 1/32 px elsewhere)
            corners = [mx[0, 0] - 0.0, my[0, 0] - 0.0, mx[255, 255] - 255.0, my[255, 255] - 255.0]
            assert np.abs(corners).max() < 1e-4
            assert np.abs(mx[0] - gx[0]).max() < tol and np.abs(my[:, 0] - gy[:, 0]).max() < tol


def test_delaunay_without_scipy_is_scipys_triangulation() -> None:
    from scipy.spatial import Delaunay

    from talkinghead.render.warp import delaunay

    rng = np.random.default_rng(0)
    for n in (3, 50, 400):
        pts = rng.uniform(0, 500, (n, 2))
        tris = delaunay(pts)
        assert sorted(map(tuple, np.sort(tris, 1).tolist())) == sorted(map(tuple, np.sort(Delaunay(pts).simplices, 1).tolist()))
        a, b, c = pts[tris[:, 0]], pts[tris[:, 1]], pts[tris[:, 2]]
        assert np.all((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0] > 0)  # one orientation
        assert tris.tolist() == sorted(tris.tolist())  # a fixed drawing order
        perm = rng.permutation(n)  # the same triangles whatever the order of the points
        assert sorted(map(tuple, np.sort(perm[delaunay(pts[perm])], 1).tolist())) == sorted(map(tuple, np.sort(tris, 1).tolist()))
    square = delaunay(np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 0.0], [10.0, 10.0]]))
    assert len(square) == 2 and 3 not in square  # the repeated corner is vertex 1 only


def test_inside_polygon_agrees_with_opencv_off_the_edges() -> None:
    import cv2

    from talkinghead.render.warp import inside_polygon

    rng = np.random.default_rng(1)
    t = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    oval = np.stack([200 + 80 * np.cos(t) * (1 + 0.2 * np.sin(3 * t)), 150 + 110 * np.sin(t)], 1)  # not convex
    pts = rng.uniform(0, 400, (2000, 2))
    want = np.array([cv2.pointPolygonTest(oval.astype(np.float32), (float(x), float(y)), True) for x, y in pts])
    got = inside_polygon(pts, oval)
    away = np.abs(want) > 1e-3
    assert got.any() and not got.all()
    assert np.array_equal(got[away], want[away] > 0)


def test_the_maps_go_to_opencv_as_one_array_with_the_same_pixels_as_two() -> None:
    from talkinghead.render.warp import interleaved

    mesh = build_warp_mesh(_mesh_px(), (256, 256))
    target = mesh.source.copy()
    target[: mesh.num_face, 1] += 4.0
    mx, my = backward_map(mesh, target, (256, 256), step=2)
    assert interleaved(mx, my) is not None
    assert interleaved(my, mx) is None  # channels swapped: not the layout OpenCV reads
    assert interleaved(mx.copy(), my.copy()) is None
    assert interleaved(mx[1:], my[1:]) is not None and interleaved(mx[:, 1:], my[:-1, 1:]) is None
    assert np.array_equal(interleaved(mx, my), np.dstack([mx, my]))
    img = _image()
    assert np.array_equal(warp(img, mx, my), warp(img, mx.copy(), my.copy()))


def _covering(poly: np.ndarray, order: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Per-sample reference for fill_triangles: a sample is covered by a triangle where each edge's
    function (in sixteenths) is at least minus half a sample along the edge's larger axis, within
    half a sample of the triangle's bounding box."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w]
    ref = np.full(shape, -1, np.int64)
    for m in order:
        p = poly[m].astype(np.int64)
        e = np.roll(p, -1, axis=0) - p
        area = e[0, 0] * (p[2, 1] - p[0, 1]) - e[0, 1] * (p[2, 0] - p[0, 0])
        if area == 0:
            continue
        inside = ((16 * xs >= p[:, 0].min() - 8) & (16 * xs <= p[:, 0].max() + 8)
                  & (16 * ys >= p[:, 1].min() - 8) & (16 * ys <= p[:, 1].max() + 8))
        for i in range(3):
            f = np.sign(area) * (e[i, 0] * (16 * ys - p[i, 1]) - e[i, 1] * (16 * xs - p[i, 0]))
            inside &= f >= -8 * max(abs(e[i, 0]), abs(e[i, 1]))
        ref[inside] = m
    return ref


def test_fill_triangles_is_the_per_sample_test_with_later_triangles_on_top() -> None:
    rng = np.random.default_rng(3)
    shape = (70, 90)
    centre = rng.uniform(-4, 94, (400, 1, 2))
    poly = np.round((centre + rng.normal(0, 2.5, (400, 3, 2))) * 16).astype(np.int32)
    poly[::40, 1] = poly[::40, 0]  # degenerate: draws nothing
    poly[::23, 1, 1] = poly[::23, 0, 1]  # a horizontal edge
    order = rng.permutation(400).astype(np.int32)
    ids = np.full(shape, -1, np.int32)
    fill_triangles(ids, poly, order)
    assert np.array_equal(ids, _covering(poly, order, shape))
    assert (ids >= 0).mean() > 0.3  # it drew something


def test_fill_triangles_covers_a_mesh_without_gaps_like_opencv() -> None:
    import cv2

    # A 10x8 grid of squares, each split in two, jittered: every sample inside the grid is covered,
    # and by one of the triangles OpenCV gives it or a neighbour sharing that triangle's corner.
    rng = np.random.default_rng(4)
    gx, gy = np.meshgrid(np.arange(11) * 6.0 + 3, np.arange(9) * 6.0 + 3)
    pts = np.stack([gx, gy], -1) + rng.uniform(-1.5, 1.5, (9, 11, 2))
    pts[[0, -1]] = np.stack([gx, gy], -1)[[0, -1]]
    pts[:, [0, -1]] = np.stack([gx, gy], -1)[:, [0, -1]]
    tris, corner = [], []
    for r in range(8):
        for c in range(10):
            a, b, d, e = (r, c), (r, c + 1), (r + 1, c), (r + 1, c + 1)
            tris += [[pts[a], pts[b], pts[e]], [pts[a], pts[e], pts[d]]]
            corner += [{a, b, e}, {a, e, d}]
    poly = np.round(np.array(tris) * 16).astype(np.int32)
    order = np.arange(len(poly), dtype=np.int32)
    ids = np.full((60, 72), -1, np.int32)
    fill_triangles(ids, poly, order)
    cv = np.full((60, 72), -1, np.int32)
    for m in order:
        cv2.fillConvexPoly(cv, poly[m], int(m), cv2.LINE_8, 4)
    grid = ids[3:52, 3:64]
    assert (grid >= 0).all()
    agree = ids == cv
    assert agree[3:52, 3:64].mean() > 0.8
    for y, x in zip(*np.nonzero(~agree & (cv >= 0))):
        assert corner[ids[y, x]] & corner[cv[y, x]]  # a neighbour's, where they differ
