"""Neutralising a portrait's expression: close an open mouth so the rig starts from closed lips.

An open-mouth or teeth-showing source must still close its lips on "m" (issue 2): we move the
lower lip and jaw up and the upper lip down until the inner lips meet, with the same jaw
weighting the rig uses, so skin around the mouth follows smoothly.
"""

from __future__ import annotations

import numpy as np

from talkinghead.face.regions import (
    LOWER_INNER_LIP,
    UPPER_INNER_LIP,
    jaw_weight,
    normalize_mesh,
    offsets_to_pixels,
    smoothstep,
)
from talkinghead.types import FaceMesh

#: Share of the lip gap closed by raising the jaw; the rest lowers the upper lip.
JAW_SHARE = 0.7


def lip_gap(mesh: np.ndarray) -> np.ndarray:
    """Vertical gap between inner lips at the 9 inner contour points, in the mesh's units ``[9]``."""
    up = mesh[list(UPPER_INNER_LIP[1:-1]), 1]
    lo = mesh[list(LOWER_INNER_LIP[1:-1]), 1]
    return lo - up


def neutralize(face: FaceMesh, min_gap: float = 0.01) -> FaceMesh:
    """A copy of ``face`` whose landmarks have the lips closed (the identity's neutral mesh).

    Args:
        face: detected face; its landmarks are in image pixels.
        min_gap: inner-lip gap (IOD units) below which the mouth counts as closed already.
    Returns:
        FaceMesh with the same pose/box and modified landmarks (lower lip, chin and jaw raised,
        upper lip lowered, inner lips meeting). Unchanged if the mouth is already closed.
    """
    q = normalize_mesh(face.landmarks)
    gaps = lip_gap(q)
    if float(np.max(gaps)) < min_gap:
        return face
    xs = q[list(UPPER_INNER_LIP[1:-1]), 0]
    order = np.argsort(xs)
    gap_at = np.interp(q[:, 0], xs[order], np.maximum(gaps[order], 0.0))
    wj = jaw_weight(q)
    # Upper lip: points just above the seam move down, fading over ~0.12 IOD upwards.
    d_above = (q[LOWER_INNER_LIP[5], 1] + q[UPPER_INNER_LIP[5], 1]) / 2.0 - q[:, 1]
    cx = (q[78, 0] + q[308, 0]) / 2.0
    wu = (1.0 - smoothstep(0.0, 0.12, d_above)) * (1.0 - wj) * (1.0 - smoothstep(0.25, 0.5, np.abs(q[:, 0] - cx)))
    off = np.zeros_like(q)
    off[:, 1] = -JAW_SHARE * gap_at * wj + (1.0 - JAW_SHARE) * gap_at * wu
    moved = q + off
    # Make the inner lips meet exactly.
    up, lo = list(UPPER_INNER_LIP), list(LOWER_INNER_LIP)
    meet = (moved[up, 1] + moved[lo, 1]) / 2.0
    off[up, 1] += meet - moved[up, 1]
    off[lo, 1] += meet - moved[lo, 1]
    pts = face.landmarks + offsets_to_pixels(off, face.landmarks)
    return FaceMesh(landmarks=pts.astype(np.float32), rotation_deg=face.rotation_deg,
                    translation=face.translation, box=face.box, image_size=face.image_size,
                    blendshape_names=face.blendshape_names, blendshapes=face.blendshapes)
