"""Regions of the MediaPipe 478-point face mesh, and the face-normalised frame.

Pure data and geometry (no MediaPipe import), shared by the rig (``motion``), neutralisation
(``face``) and the renderer (``render``). Indices follow MediaPipe Face Mesh V2; contours run
from the subject's right mouth/eye corner (image left) to the left one.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np

#: Inner lip contours, corner to corner (78 = right corner, 308 = left corner).
UPPER_INNER_LIP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LOWER_INNER_LIP = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
#: Outer lip contours, corner to corner (61, 291 are the outer mouth corners).
UPPER_OUTER_LIP = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LOWER_OUTER_LIP = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)

#: Eyelid contours, corner to corner: (upper, lower) for the subject's right and left eye.
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_EYE_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
#: The ring of skin just above each upper lid (moves partly with the lid in a blink).
RIGHT_LID_CREASE = (130, 247, 30, 29, 27, 28, 56, 190, 243)
LEFT_LID_CREASE = (359, 467, 260, 259, 257, 258, 286, 414, 463)
#: Eyebrows.
BROWS = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46, 300, 293, 334, 296, 336, 285, 295, 282, 283, 276)

#: Face oval (silhouette), clockwise from the forehead top.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)

#: Outer eye corners used for the inter-ocular distance (IOD) and the in-plane rotation.
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263
#: Number of mesh landmarks without the iris points.
N_MESH = 468


@lru_cache(maxsize=1)
def tessellation() -> np.ndarray:
    """MediaPipe's face-mesh triangles, int32 ``[852, 3]`` (the mouth opening is a hole)."""
    from talkinghead.face.landmarks import import_mediapipe

    import_mediapipe()  # first: without its unused plotting and sound imports
    from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections as C

    return np.array([c.start for c in C.FACE_LANDMARKS_TESSELATION], dtype=np.int32).reshape(-1, 3)


def _strip(upper: tuple[int, ...], lower: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """Triangles filling the gap between two corner-to-corner contours that share their corners."""
    tris = []
    for i in range(len(upper) - 1):
        a, b, c, d = upper[i], upper[i + 1], lower[i], lower[i + 1]
        if a == c:  # shared corner
            tris.append((a, b, d))
        elif b == d:
            tris.append((a, b, c))
        else:
            tris.extend([(a, b, d), (a, d, c)])
    return tris


def hole_triangles() -> np.ndarray:
    """Triangles that fill the holes of the tessellation: the mouth opening and both eyes.

    Returns:
        int32 ``[M, 3]``: the mouth strip between the inner lips, then the two eye strips
        between the lids (so the iris moves with the eye and a blink closes over it).
    """
    tris = (_strip(UPPER_INNER_LIP, LOWER_INNER_LIP) + _strip(RIGHT_EYE_UPPER, RIGHT_EYE_LOWER)
            + _strip(LEFT_EYE_UPPER, LEFT_EYE_LOWER))
    return np.array(tris, dtype=np.int32)


def face_frame(landmarks: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The face-normalised frame of a mesh: origin, scale and in-plane angle.

    Args:
        landmarks: float ``[478, 2+]`` pixel coordinates.
    Returns:
        ``(origin [2], iod, roll_rad)``: origin is the midpoint of the outer eye corners (pixels),
        iod their distance (pixels, > 0), roll_rad the angle of the eye line (radians).
    """
    r, l = landmarks[RIGHT_EYE_OUTER, :2], landmarks[LEFT_EYE_OUTER, :2]
    d = l - r
    iod = float(np.hypot(*d))
    if iod <= 1e-6:
        raise ValueError("degenerate face mesh: eye corners coincide")
    return (r + l) / 2.0, iod, float(np.arctan2(d[1], d[0]))


def normalize_mesh(landmarks: np.ndarray) -> np.ndarray:
    """Express a pixel mesh in the face-normalised frame (IOD units, eye line horizontal).

    Args:
        landmarks: float ``[478, 3]`` pixels (x, y, z).
    Returns:
        float32 ``[478, 3]``: origin at the eye-corner midpoint, x along the eye line, y down,
        z scaled by the same factor.
    """
    origin, iod, roll = face_frame(landmarks)
    c, s = np.cos(-roll), np.sin(-roll)
    xy = landmarks[:, :2] - origin
    out = np.empty((landmarks.shape[0], 3), np.float32)
    out[:, 0] = (c * xy[:, 0] - s * xy[:, 1]) / iod
    out[:, 1] = (s * xy[:, 0] + c * xy[:, 1]) / iod
    out[:, 2] = landmarks[:, 2] / iod
    return out


def offsets_to_pixels(offsets: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Convert face-normalised offsets to pixel offsets for a particular face.

    Args:
        offsets: float ``[..., 478, 3]`` in IOD units (face-normalised frame).
        landmarks: float ``[478, 2+]`` the face's mesh in pixels (defines scale and roll).
    Returns:
        float32 ``[..., 478, 3]`` pixel offsets (z in the same pixel scale).
    """
    _, iod, roll = face_frame(landmarks)
    c, s = np.cos(roll), np.sin(roll)
    out = np.empty(offsets.shape, np.float32)
    out[..., 0] = (c * offsets[..., 0] - s * offsets[..., 1]) * iod
    out[..., 1] = (s * offsets[..., 0] + c * offsets[..., 1]) * iod
    out[..., 2] = offsets[..., 2] * iod
    return out


@lru_cache(maxsize=1)
def canonical_mesh() -> np.ndarray:
    """A neutral, closed-mouth reference face in the face-normalised frame, float32 ``[478, 3]``.

    Shipped as ``assets/canonical_mesh.npy``; made from the public-domain demo portrait by
    ``python -m talkinghead.train.canonical`` (detect, close the lips, normalise).
    """
    path = resources.files("talkinghead") / "assets" / "canonical_mesh.npy"
    with path.open("rb") as f:
        return np.load(f).astype(np.float32)


def seam_y(mesh: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Height of the lip seam (mid-line between inner lips) at horizontal positions ``x``.

    Args:
        mesh: ``[478, 2+]`` landmarks in any consistent frame (y down).
        x: horizontal positions in that frame.
    Returns:
        y of the seam at each x (held constant beyond the mouth corners).
    """
    up = mesh[list(UPPER_INNER_LIP), :2]
    lo = mesh[list(LOWER_INNER_LIP), :2]
    mid = (up + lo) / 2.0
    return along(mid[:, 0], mid[:, 1], x)


def along(xs: np.ndarray, ys: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A contour's height at positions ``x``: linear between its points (``xs``, ``ys``, any order), held beyond its ends."""
    order = np.argsort(xs)
    return np.interp(x, xs[order], ys[order])


def smoothstep(a: float | np.ndarray, b: float | np.ndarray, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 (x <= a) to 1 (x >= b); ``a`` and ``b`` may be arrays like ``x`` (a width
    under 1e-3 counts as 1e-3, so a step that closes up stays a step)."""
    t = np.clip((np.asarray(x, dtype=np.float32) - a) / np.maximum(np.asarray(b) - a, 1e-3), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def mouth_center(mesh: np.ndarray) -> np.ndarray:
    """Centre of the mouth opening (mean of the inner lip contours), ``[2]`` in the mesh's frame."""
    return mesh[list(UPPER_INNER_LIP + LOWER_INNER_LIP), :2].mean(axis=0)


def jaw_weight(mesh: np.ndarray) -> np.ndarray:
    """How much each landmark follows the lower jaw, float32 ``[478]`` in [0, 1].

    1 on the lower lip, chin and the lower face near the mouth; 0 on and above the upper lip;
    0.5 at the mouth corners; fading out towards the jaw angles. Works on closed and open
    mouths (the step sits at the mid-line between the inner lips).

    Args:
        mesh: ``[478, 2+]`` face-normalised landmarks (IOD units, y down).
    """
    x, y = mesh[:, 0], mesh[:, 1]
    cx = mouth_center(mesh)[0]
    d = y - seam_y(mesh, x)
    w = smoothstep(-0.015, 0.015, d) * (1.0 - smoothstep(0.3, 0.75, np.abs(x - cx)))
    w[list(UPPER_INNER_LIP)] = 0.0
    w[list(LOWER_INNER_LIP)] = 1.0
    w[[78, 308]] = 0.5
    return w.astype(np.float32)


def lip_weight(mesh: np.ndarray) -> np.ndarray:
    """How much each landmark belongs to the lips and the skin right around them, float32 ``[478]``.

    1 within the mouth, fading to 0 about 0.35 IOD from the mouth centre (used for rounding,
    spreading and pressing the lips).

    Args:
        mesh: ``[478, 2+]`` face-normalised landmarks.
    """
    c = mouth_center(mesh)
    half_w = abs(mesh[308, 0] - mesh[78, 0]) / 2.0
    dx = (mesh[:, 0] - c[0]) / max(half_w, 1e-3)
    below = mesh[:, 1] > c[1]
    dy = (mesh[:, 1] - c[1]) / np.where(below, 0.8, 0.3) / max(half_w, 1e-3)
    r = np.sqrt(dx * dx + dy * dy)
    return (1.0 - smoothstep(1.0, 1.6, r)).astype(np.float32)
