"""Re-animating the mouth of a video frame: the frame's own pixels, moved to new lips and jaw.

Dubbing keeps every frame of the video and changes only the lower face. Per frame: the region
around the face is cut out, its mouth opening is inpainted from the lips (the frame's own
interior must not show through: it belongs to other speech), the same dense motion field as in
one-shot rendering (:mod:`talkinghead.render.warp`: the face mesh moved, rings around it and the
region's border fixed, so the change fades to nothing before the region's edge and no box or
seam can show) warps it from the tracked landmarks to the wanted ones, and the interior is drawn
inside the new inner lips from a mouth bank (the person's own, see :mod:`talkinghead.person.mouth`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from talkinghead.face.regions import FACE_OVAL, N_MESH
from talkinghead.render.mouth import SEAM_DARKNESS, Interior, paint_mouth
from talkinghead.render.teeth import fill_opening
from talkinghead.render.warp import STILL_PX, WarpMesh, backward_map, build_warp_mesh, warp

#: The region worked on, around the face oval's box: this many times its size.
REGION_SCALE = 1.6


def face_region(landmarks: np.ndarray, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The box ``(x0, y0, x1, y1)`` re-animated around a face (``[478, 2+]`` pixels), inside an image of ``(h, w)``."""
    oval = landmarks[list(FACE_OVAL), :2]
    lo, hi = oval.min(axis=0), oval.max(axis=0)
    c, half = (lo + hi) / 2.0, (hi - lo) / 2.0 * REGION_SCALE
    h, w = size
    x0, y0 = np.maximum(np.floor(c - half).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(c + half).astype(int), [w, h])
    return int(x0), int(y0), int(x1), int(y1)


def reanimate(frame: np.ndarray, source: np.ndarray, target: np.ndarray, interior: Interior,
              seam: float = SEAM_DARKNESS, map_step: int = 2) -> np.ndarray:
    """One video frame with its face moved from ``source`` to ``target`` landmarks.

    Args:
        frame: uint8 ``[H, W, 3]`` RGB video frame (not modified).
        source: float ``[478, 2+]`` the face as tracked in ``frame`` (pixels).
        target: float ``[478, 2+]`` where its landmarks should be (pixels); equal to ``source``
            away from the mouth and jaw.
        interior: draws the inside of the mouth (:data:`talkinghead.render.mouth.Interior`).
        seam: darkness of the line where closed lips meet (0..1).
        map_step: dense-field subsampling (see :func:`talkinghead.render.warp.backward_map`).
    Returns:
        uint8 ``[H, W, 3]``: a copy of ``frame``, changed only inside :func:`face_region`.
    """
    x0, y0, x1, y1 = face_region(np.concatenate([source[:, :2], target[:, :2]]), frame.shape[:2])
    out = frame.copy()
    if x1 - x0 < 8 or y1 - y0 < 8:
        return out
    shift = np.array([x0, y0], np.float32)
    src = np.asarray(source, np.float32)[:, :2] - shift
    tgt = np.asarray(target, np.float32)[:, :2] - shift
    region = np.ascontiguousarray(frame[y0:y1, x0:x1])
    clean = fill_opening(region, src)  # the frame's own interior never shows
    size = region.shape[:2]
    mesh = build_warp_mesh(src, size)
    moved = np.concatenate([tgt[:N_MESH], mesh.source[mesh.num_face:]])
    result = clean.copy()
    box = _moving_box(mesh, moved, size, map_step)
    if box is not None:
        # Only the triangles that move change the picture; the map is the identity elsewhere.
        bx0, by0, bx1, by1 = box
        o = np.array([bx0, by0], np.float32)
        map_x, map_y = backward_map(replace(mesh, source=mesh.source - o), moved - o, (by1 - by0, bx1 - bx0),
                                    step=map_step)
        map_x += o[0]  # back to the work image's pixels, in place: the maps are ours, and where they are the
        map_y += o[1]  # channels of one array, warp() hands OpenCV that array
        result[by0:by1, bx0:bx1] = warp(clean, map_x, map_y)
    paint_mouth(result, tgt, interior, None, seam)
    out[y0:y1, x0:x1] = result
    return out


def _moving_box(mesh: WarpMesh, target: np.ndarray, size: tuple[int, int], step: int) -> tuple[int, int, int, int] | None:
    """The box ``(x0, y0, x1, y1)`` of a work image that holds every triangle with a moving corner, where it
    is and where it goes (a margin of a few pixels; the corner on the map's sampling grid); None if nothing moves."""
    still = np.abs(target - mesh.source).max(axis=1) <= STILL_PX
    tris = mesh.triangles[~still[mesh.triangles].all(axis=1)]
    if len(tris) == 0:
        return None
    pts = np.concatenate([mesh.source[tris].reshape(-1, 2), target[tris].reshape(-1, 2)])
    h, w = size
    pad = 2 * step + 2
    x0, y0 = (np.maximum(np.floor(pts.min(axis=0)).astype(int) - pad, 0) // step) * step
    x1, y1 = np.minimum(np.ceil(pts.max(axis=0)).astype(int) + pad, [w, h])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return int(x0), int(y0), int(x1), int(y1)
