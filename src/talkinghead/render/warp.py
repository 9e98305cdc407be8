"""Dense motion field from moved landmarks, and backward warping.

The idea is first-order-model / Audio2Head's keypoint-driven dense motion: sparse points move,
a dense field moves every pixel, and the source image is sampled backwards through it. Here the
sparse points are the 468-point face mesh plus rings of points on hair, neck and background and
the image border. The field is piecewise affine over a fixed triangulation (MediaPipe's face
tessellation, the mouth and eye openings, and a Delaunay triangulation outside the face), so it is exact
at every landmark, continuous, and the identity at the border: the background stays put.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from talkinghead.face.regions import FACE_OVAL, N_MESH, hole_triangles, tessellation


#: A vertex that moves less than this (pixels) stands still: its triangles are the identity and not drawn.
STILL_PX = 1e-4
#: Largest magnification (Frobenius norm of the target->source linear map) of a drawn triangle.
MAX_MAGNIFICATION = 8.0


@dataclass(frozen=True)
class WarpMesh:
    """A triangulated control mesh over a work image.

    Attributes:
        source: float32 ``[V, 2]`` vertex positions in the source work image (pixels).
        triangles: int32 ``[M, 3]`` vertex indices, in drawing order (later ones win overlaps).
        num_face: number of leading vertices that are face-mesh landmarks (468).
        num_face_triangles: number of trailing triangles on the face (holes + tessellation).
        ring_follow: float32 ``[V]`` how much each vertex follows the head's rigid motion
            (1 for face vertices, between 0 and 1 on hair/neck rings, 0 on the static border).
    """

    source: np.ndarray
    triangles: np.ndarray
    num_face: int
    num_face_triangles: int
    ring_follow: np.ndarray


def delaunay(points: np.ndarray) -> np.ndarray:
    """Delaunay triangulation of 2-D points (OpenCV's ``Subdiv2D``: no SciPy, whose import costs
    0.3 s of every run's start-up).

    Args:
        points: float ``[N, 2]`` points, not all on one line (a repeated point is triangulated once,
            under its first index).
    Returns:
        int64 ``[M, 3]`` vertex indices per triangle, starting from its smallest index, with a
        positive cross product (b - a) x (c - a), triangles sorted: the same for the same points.
    Raises:
        ValueError: OpenCV returned a triangle corner that is not one of ``points``.
    """
    pts = np.asarray(points, np.float32)
    # A bounding rectangle far larger than the points: Subdiv2D's three virtual outer vertices sit
    # beyond it, and only far away do they leave the hull triangles as Delaunay's (checked against SciPy).
    extent = float(np.ptp(pts, axis=0).max()) + 1.0
    lo, hi = pts.min(axis=0) - 100.0 * extent, pts.max(axis=0) + 100.0 * extent
    sub = cv2.Subdiv2D((int(np.floor(lo[0])), int(np.floor(lo[1])), int(np.ceil(hi[0] - lo[0])) + 1,
                        int(np.ceil(hi[1] - lo[1])) + 1))
    sub.insert(pts)
    # Corners come back as the float32 values inserted: look them up by their bits (+0.0 makes -0.0 0.0).
    keys = (pts + np.float32(0.0)).view(np.int64).ravel()
    uniq, first = np.unique(keys, return_index=True)  # a repeated point is one vertex: its first index
    corners = np.asarray(sub.getTriangleList(), np.float32).reshape(-1, 3, 2)
    ckeys = np.ascontiguousarray(corners + np.float32(0.0)).view(np.int64).ravel()
    at = np.minimum(np.searchsorted(uniq, ckeys), len(uniq) - 1)
    ids = np.where(uniq[at] == ckeys, first[at], -1).reshape(-1, 3)
    virtual = ids < 0
    if (virtual & (corners >= lo).all(axis=2) & (corners <= hi).all(axis=2)).any():
        raise ValueError("delaunay: a triangle corner is not an input point")
    tris = ids[~virtual.any(axis=1)]  # drop the triangles on Subdiv2D's virtual outer vertices
    p = pts.astype(np.float64)[tris]
    cross = (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (p[:, 1, 1] - p[:, 0, 1]) * (p[:, 2, 0] - p[:, 0, 0])
    tris[cross < 0] = tris[cross < 0][:, [0, 2, 1]]  # counter-clockwise in image axes
    start = np.argmin(tris, axis=1)  # rotate so each starts from its smallest index
    tris = tris[np.arange(len(tris))[:, None], (start[:, None] + np.arange(3)) % 3]
    return tris[np.lexsort(tris.T[::-1])].reshape(-1, 3)


def inside_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Whether each point lies inside a closed polygon (even-odd rule, edges crossed half-open).

    Args:
        points: float ``[N, 2]`` points.
        polygon: float ``[K, 2]`` vertices in order (the last joins the first), K >= 3.
    Returns:
        bool ``[N]``. A point exactly on an edge may count either way.
    """
    p = np.asarray(points, np.float64)
    a = np.asarray(polygon, np.float64)
    b = np.roll(a, -1, axis=0)
    px, py = p[:, None, 0], p[:, None, 1]
    crosses = (a[None, :, 1] > py) != (b[None, :, 1] > py)  # the edge spans the point's row
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = a[None, :, 0] + (py - a[None, :, 1]) * (b[None, :, 0] - a[None, :, 0]) / (b[None, :, 1] - a[None, :, 1])
    return (crosses & (px < x_at)).sum(axis=1) % 2 == 1


def build_warp_mesh(landmarks: np.ndarray, size: tuple[int, int]) -> WarpMesh:
    """Control mesh for a face in a work image.

    Args:
        landmarks: float ``[478, 2+]`` face landmarks in work-image pixels (as detected).
        size: ``(height, width)`` of the work image.
    Returns:
        The WarpMesh: 468 face vertices, then rings at 1.35x, 2x and 3.2x the face oval around its
        centre (following the head by 0.9, 0.35 and 0; less below the chin), then the border.
    """
    h, w = size
    face = landmarks[:N_MESH, :2].astype(np.float64)
    oval = face[list(FACE_OVAL)]
    c = oval.mean(axis=0)
    rings, follow = [], []
    below_chin = (oval[:, 1] - c[1]) / (np.ptp(oval[:, 1]) / 2.0)  # -1 top .. +1 chin
    for k, f in ((1.35, 0.9), (2.0, 0.35), (3.2, 0.0)):
        rings.append(c + k * (oval - c))
        neck = np.clip(below_chin, 0.0, 1.0)
        follow.append(f * (1.0 - 0.6 * neck))
    n_border = 8
    xs = np.linspace(0, w - 1, n_border + 1)
    ys = np.linspace(0, h - 1, n_border + 1)
    border = np.concatenate([
        np.stack([xs, np.zeros_like(xs)], 1), np.stack([xs, np.full_like(xs, h - 1)], 1),
        np.stack([np.zeros_like(ys[1:-1]), ys[1:-1]], 1), np.stack([np.full_like(ys[1:-1], w - 1), ys[1:-1]], 1),
    ])
    outer_pts = np.concatenate(rings + [border])
    outer_follow = np.concatenate(follow + [np.zeros(len(border))])
    # Keep outer points that are not inside the face, nor duplicates.
    inside = inside_polygon(outer_pts, oval)
    outer_pts, outer_follow = outer_pts[~inside], outer_follow[~inside]
    source = np.concatenate([face, outer_pts]).astype(np.float32)
    follow_all = np.concatenate([np.ones(N_MESH), outer_follow]).astype(np.float32)
    # Outside triangles: Delaunay over oval + outer points. All are kept and drawn first: the
    # face triangles drawn over them cover the inside of the oval, and no pixel is left out
    # where the oval is concave (a Delaunay edge need not follow the oval).
    oval_idx = np.array(FACE_OVAL)
    pts = np.concatenate([oval, outer_pts])
    idx_map = np.concatenate([oval_idx, N_MESH + np.arange(len(outer_pts))])
    outer_tris = idx_map[delaunay(pts)]
    face_tris = np.concatenate([hole_triangles(), tessellation()])
    triangles = np.concatenate([outer_tris, face_tris]).astype(np.int32)
    return WarpMesh(source=source, triangles=triangles, num_face=N_MESH, num_face_triangles=len(face_tris),
                    ring_follow=follow_all)


def backward_map(mesh: WarpMesh, target: np.ndarray, size: tuple[int, int], step: int = 2,
                 depth: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Dense backward map: for each output pixel, where to sample the source.

    Rasterises the target triangles (at 1/``step`` resolution, then upsampled bilinearly) and
    applies each triangle's affine target->source map. Pixels outside every triangle map to
    themselves. Triangles that turned over (seen from behind after a head turn, or folded by
    a lip deformation) are skipped, and with ``depth`` the face triangles are drawn far to near
    (painter's algorithm), so the visible surface wins where the mesh overlaps itself.

    Args:
        mesh: the control mesh (source positions and triangles).
        target: float ``[V, 2]`` target vertex positions (pixels).
        size: ``(height, width)`` of the output.
        step: map subsampling factor (1 = exact per pixel; 2 is visually identical and ~4x cheaper).
        depth: optional float ``[V]`` target depth (larger = farther) of the vertices.
    Returns:
        ``(map_x, map_y)`` float32 ``[H, W]`` for :func:`cv2.remap`.
    """
    h, w = size
    # Samples sit where cv2.resize's bilinear upsampling by ``step`` puts its source pixels (pixel
    # centres: sample j at output pixel step*j + (step-1)/2), one more on every side so no output
    # pixel is clamped at the edge; step 1 samples every pixel.
    pad = 1 if step > 1 else 0
    off = (step - 1) / 2.0 - pad * step  # output pixel of sample 0
    hs, ws = -(-h // step) + 2 * pad, -(-w // step) + 2 * pad
    src = mesh.source.astype(np.float64)
    tgt = target.astype(np.float64)
    tris = mesh.triangles
    tp = tgt[tris]  # [M,3,2]
    sp = src[tris]
    # Affine target->source per triangle, in closed form: L = [s1-s0, s2-s0] [t1-t0, t2-t0]^-1.
    te1, te2 = tp[:, 1] - tp[:, 0], tp[:, 2] - tp[:, 0]
    se1, se2 = sp[:, 1] - sp[:, 0], sp[:, 2] - sp[:, 0]
    det = te1[:, 0] * te2[:, 1] - te1[:, 1] * te2[:, 0]  # twice the signed target area
    sdet = se1[:, 0] * se2[:, 1] - se1[:, 1] * se2[:, 0]
    ok = np.abs(det) > 1e-6
    # Turned-over triangles are skipped; the mouth and eye openings are exempt (they may be
    # degenerate in the source).
    first_hole = len(tris) - mesh.num_face_triangles
    first_tess = len(tris) - len(tessellation())
    flipped = np.sign(det) != np.sign(sdet)
    flipped[first_hole:first_tess] = False
    ok &= ~flipped
    # Triangles whose corners did not move are the identity, which is the default: not drawn.
    moved = np.abs(tgt - src).max(axis=1) > STILL_PX
    ok &= moved[tris].any(axis=1)
    inv_det = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    lin = np.empty((len(tris), 2, 2))
    for r in range(2):  # row r of L: source coordinate r
        lin[:, r, 0] = (se1[:, r] * te2[:, 1] - se2[:, r] * te1[:, 1]) * inv_det
        lin[:, r, 1] = (se2[:, r] * te1[:, 0] - se1[:, r] * te2[:, 0]) * inv_det
    aff = np.zeros((len(tris), 2, 3))
    aff[:, :, :2] = lin
    aff[:, :, 2] = sp[:, 0] - lin[:, :, 0] * tp[:, 0, :1] - lin[:, :, 1] * tp[:, 0, 1:]
    # Triangles squashed to (nearly) nothing in the target (a closed eye, lips pressed together)
    # are invisible; their affine map would magnify the rasteriser's edge pixels far away.
    ok &= np.sqrt((lin ** 2).sum(axis=(1, 2))) < MAX_MAGNIFICATION
    # Rasterise triangle ids in target space.
    scale = 16.0 / step
    poly = np.round((tp - off) * scale).astype(np.int32)
    order = np.arange(len(tris))
    if depth is not None:
        n_outer = len(tris) - mesh.num_face_triangles
        far_first = np.argsort(-np.asarray(depth, np.float64)[tris[n_outer:]].mean(axis=1), kind="stable")
        order = np.concatenate([order[:n_outer], n_outer + far_first])
    ids = np.full((hs, ws), len(tris), np.int32)  # no triangle: the identity row appended below
    drawn = order[ok[order]]
    # The large triangles outside the face one OpenCV call each; the face's ~900 small ones (a few
    # samples each) at once, over them: 0.85 -> about 0.55 ms a frame at 256x256 (the field 1.98 -> 1.70 ms).
    n_big = int((drawn < len(tris) - mesh.num_face_triangles).sum())  # drawn first, in either order
    fill = cv2.fillConvexPoly  # positional arguments: a third of the loop's cost
    for m, corners in zip(drawn[:n_big].tolist(), list(poly[drawn[:n_big]])):
        fill(ids, corners, m, cv2.LINE_8, 4)
    fill_triangles(ids, poly, drawn[n_big:])
    gx, gy = _sample_grid(hs, ws, step, off)
    # Each pixel's affine map, one coefficient at a time (contiguous gathers, in place).
    coef = np.concatenate([aff.reshape(len(tris), 6), [[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]]]).T.astype(np.float32)
    flat = ids.ravel()
    maps = []
    for r in (0, 3):  # x, then y: a0 * gx + a1 * gy + a2
        m = np.take(coef[r], flat).reshape(hs, ws)
        m *= gx
        t = np.take(coef[r + 1], flat).reshape(hs, ws)
        t *= gy
        m += t
        m += np.take(coef[r + 2], flat).reshape(hs, ws)
        maps.append(m)
    mx, my = maps
    if step > 1:
        # Output pixel x reads sample (x + 0.5) / step - 0.5 of the padded grid, bilinearly (exact
        # for the affine maps inside a triangle): cv2.resize, 4-5x cheaper than the equivalent
        # warpAffine. The padding's ``step`` pixels on each side are cut off.
        big = cv2.resize(np.dstack([mx, my]), (ws * step, hs * step), interpolation=cv2.INTER_LINEAR)
        both = big[pad * step:pad * step + h, pad * step:pad * step + w]  # a window: no copy
        mx, my = both[..., 0], both[..., 1]
    return mx, my


def fill_triangles(ids: np.ndarray, poly: np.ndarray, order: np.ndarray) -> None:
    """Rasterise many small triangles into an id map at once (numpy, no call per triangle).

    A sample belongs to a triangle when it lies inside it or within half a sample outside an edge
    (measured along the edge's larger axis), and within half a sample of its bounding box: about
    what ``cv2.fillConvexPoly`` covers with the outline it draws, so a sample where two triangles
    meet at an angle, or beside a skipped one, is not left out. It is decided exactly, in integer
    arithmetic, one row of a triangle at a time (edge functions, as a GPU rasteriser's). Where
    triangles overlap, the later one in ``order`` wins (painter's algorithm). At 256x256 (a
    130x130 map) the face's ~900 triangles take about 0.55 ms instead of 0.85 ms in one OpenCV
    call each; the cost grows with their area, so triangles spanning the picture stay with OpenCV.

    Args:
        ids: int32 ``[H, W]`` id map, written in place where a triangle covers a sample.
        poly: int32 ``[M, 3, 2]`` triangle corners (x, y) in sixteenths of a sample (OpenCV's
            ``shift=4`` fixed point: sample ``(x, y)`` sits at ``(16 x, 16 y)``).
        order: int ``[K]`` indices into ``poly`` in drawing order; each covered sample gets the
            index of the last triangle covering it. Degenerate (zero-area) triangles draw nothing.
    """
    h, w = ids.shape
    if len(order) == 0:
        return
    order = np.asarray(order, np.int32)
    p = poly[order]  # [K, 3, 2]
    # Exact in int32 while |16 * edge * coordinate| stays far from 2**31 (any face up to 4096 px).
    dtype = np.int32 if int(np.abs(p).max()) < 1 << 16 and max(h, w) < 1 << 12 else np.int64
    p = p.astype(dtype)
    c0, c1, c2 = p[:, 0], p[:, 1], p[:, 2]
    lo = np.maximum(-((8 - np.minimum(np.minimum(c0, c1), c2)) // 16), 0)  # half a sample around the corners
    hi = np.minimum((np.maximum(np.maximum(c0, c1), c2) + 8) // 16, np.array([w - 1, h - 1], dtype))
    # Edge from corner i to i+1 as E(x, y) = a x + b y + c over sample coordinates, signed by the
    # triangle's orientation so that E >= 0 on its inner side: ex (16 y - ay) - ey (16 x - ax).
    ex, ey = (np.roll(p, -1, axis=1) - p).transpose(2, 0, 1)  # [K, 3] each
    orient = np.sign(ey[:, 0] * ex[:, 2] - ex[:, 0] * ey[:, 2])  # sign of (b - a) x (c - a); 0: degenerate
    ea, eb = -16 * ey * orient[:, None], 16 * ex * orient[:, None]
    # Moved out by half a sample (along the larger axis of each edge), like the outline OpenCV draws
    # around a filled polygon: a sample between two triangles that meet at an angle, or beside a
    # skipped (turned-over) one, is still covered.
    ec = (ey * p[:, :, 0] - ex * p[:, :, 1]) * orient[:, None] + 8 * np.maximum(np.abs(ex), np.abs(ey))
    # One row of a triangle's bounding box at a time: the run of samples inside it, solved exactly.
    rows = np.where(orient != 0, np.maximum(hi[:, 1] - lo[:, 1] + 1, 0), 0)
    k = np.repeat(np.arange(len(p), dtype=np.int32), rows)
    y = np.arange(len(k), dtype=dtype) - np.repeat((np.cumsum(rows) - rows).astype(dtype), rows) + lo[k, 1]
    # Along the row E = a x + r >= 0 for each edge: x >= -r / a where a > 0, x <= -r / a where a < 0.
    # The quotient of two integers under 2**31 is rounded up or down exactly in float64 (its distance
    # to the next integer, at least 2**-31, is far larger than the rounding error at |x| < 4096).
    x0, x1 = lo[k, 0].astype(np.float64), hi[k, 0].astype(np.float64)
    yf = y.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(3):
            a = ea[:, i].astype(np.float64)[k]
            r = eb[:, i].astype(np.float64)[k] * yf + ec[:, i].astype(np.float64)[k]
            q = -r / a  # +-inf or nan where a is 0 (a horizontal edge): decided by r alone
            x0 = np.where(a > 0, np.maximum(x0, np.ceil(q)), x0)
            x1 = np.where(a < 0, np.minimum(x1, np.floor(q)), x1)
            x1[(a == 0) & (r < 0)] = -1.0  # the row lies outside a horizontal edge
    x0, x1 = x0.astype(dtype), x1.astype(dtype)
    n = np.maximum(x1 - x0 + 1, 0)
    kk = np.repeat(k, n)
    at = (np.repeat(y * w + x0, n) + np.arange(int(n.sum()), dtype=dtype)
          - np.repeat((np.cumsum(n) - n).astype(dtype), n))
    best = np.full(h * w, -1, np.int32)
    np.maximum.at(best, at, kk)
    hit = np.flatnonzero(best >= 0)
    ids.ravel()[hit] = order[best[hit]]


@lru_cache(maxsize=8)
def _sample_grid(hs: int, ws: int, step: int, off: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Output-pixel coordinates ``(gx, gy)``, float32 ``[hs, ws]``, of the samples ``step * j + off``."""
    gx, gy = np.meshgrid((np.arange(ws) * step + off).astype(np.float32),
                         (np.arange(hs) * step + off).astype(np.float32))
    return gx, gy


def warp(image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """Sample ``image`` (uint8 ``[H, W, 3]``) through a backward map; bilinear, edges replicated.

    Maps that are the two channels of one float32 ``[H, W, 2]`` array (as :func:`backward_map` returns
    them with ``step`` > 1) go to OpenCV as that array: the same pixels, without copying each strided channel out
    (512x512: 1.32 -> 0.88 ms), also where it is a window of a larger map (no copy of it is made).
    """
    both = interleaved(map_x, map_y)
    if both is not None:
        return cv2.remap(image, both, None, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def interleaved(map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray | None:
    """The float32 ``[H, W, 2]`` view whose channels 0 and 1 are ``map_x`` and ``map_y``, or None
    where they are not the two channels of one such array (rows may be further apart than ``2 W``
    values: a window of a larger map, as :func:`backward_map` returns)."""
    base = map_x.base
    if (base is None or map_y.base is not base or not isinstance(base, np.ndarray)
            or map_x.dtype != np.float32 or map_y.dtype != np.float32 or map_x.ndim != 2
            or map_x.shape != map_y.shape or map_x.strides != map_y.strides or map_x.strides[1] != 8
            or map_x.strides[0] < 8 * map_x.shape[1]):
        return None
    if map_y.__array_interface__["data"][0] != map_x.__array_interface__["data"][0] + 4:
        return None
    return np.lib.stride_tricks.as_strided(map_x, shape=(*map_x.shape, 2), strides=(*map_x.strides, 4), writeable=False)
