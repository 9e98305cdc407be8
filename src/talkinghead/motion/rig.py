"""Action-unit rig: AU / blendshape coefficients -> offsets of the 478-point face mesh.

Each action unit is a displacement field over the mesh in the face-normalised frame (IOD units),
built from anatomical regions of a reference face (jaw, lips, brows). Jaw and lips are separate
actions, as in JALI (Edwards et al., SIGGRAPH 2016): ``jawOpen`` drops the jaw, the lip units
round, spread, press or tuck the lips whatever the jaw does. ``mouthClose`` is the one non-linear
unit: it cancels the lip separation the jaw would cause, so bilabials close fully even when the
jaw is slightly open. This is the explicit motion prior of HM-Talker, on ARKit-style names.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from talkinghead.face.regions import (
    BROWS,
    LOWER_INNER_LIP,
    UPPER_INNER_LIP,
    canonical_mesh,
    jaw_weight,
    lip_weight,
    mouth_center,
    smoothstep,
)
from talkinghead.types import N_LANDMARKS

#: Action units of the rig, in channel order.
AU_NAMES: tuple[str, ...] = (
    "jawOpen",        # jaw drop (vowel height, loudness)
    "mouthClose",     # lips together (bilabials p, b, m)
    "mouthPucker",    # lips rounded and pushed forward, small opening (w, uw, oo)
    "mouthFunnel",    # lips rounded and flared open (ow, sh, ch)
    "mouthStretch",   # lips spread wide (iy, s, ee)
    "mouthRollLower", # lower lip tucked under the upper teeth (f, v)
    "mouthUpperUp",   # upper lip raised, showing upper teeth
    "browInnerUp",    # brows raised (prosodic emphasis)
)

#: Full-scale displacements in IOD units.
JAW_DROP = 0.24
PUCKER_NARROW = 0.28
FUNNEL_NARROW = 0.18
STRETCH_WIDEN = 0.12
LIP_PROTRUDE = 0.06
ROLL_LOWER_UP = 0.10
UPPER_UP = 0.035
BROW_UP = 0.05


@dataclass(frozen=True)
class Rig:
    """Linear displacement basis plus the non-linear lip closure.

    Attributes:
        basis: float32 ``[K, 478, 3]`` displacement per unit of each action unit (IOD units).
        lip_gap_of_jaw: float32 ``[478, 3]`` the part of the jaw displacement that separates the
            lips (what ``mouthClose`` cancels).
    """

    basis: np.ndarray
    lip_gap_of_jaw: np.ndarray

    def offsets(self, au: np.ndarray) -> np.ndarray:
        """Mesh offsets for AU coefficients.

        Args:
            au: float ``[F, K]`` coefficients in [0, 1] in :data:`AU_NAMES` order.
        Returns:
            float32 ``[F, 478, 3]`` offsets from the neutral mesh in IOD units.
        """
        au = np.asarray(au, dtype=np.float32)
        if au.ndim != 2 or au.shape[1] != len(AU_NAMES):
            raise ValueError(f"expected AU array [F, {len(AU_NAMES)}], got {au.shape}")
        out = np.tensordot(au, self.basis, axes=(1, 0))
        close = au[:, 1] * au[:, 0]
        out -= close[:, None, None] * self.lip_gap_of_jaw[None]
        return out.astype(np.float32)


@lru_cache(maxsize=1)
def default_rig() -> Rig:
    """The rig built on the shipped reference face (:func:`~talkinghead.face.regions.canonical_mesh`)."""
    return build_rig(canonical_mesh())


def build_rig(mesh: np.ndarray) -> Rig:
    """Build the AU displacement fields on a neutral, closed-mouth reference mesh.

    Args:
        mesh: float ``[478, 3]`` face-normalised neutral mesh (IOD units, y down).
    Returns:
        The :class:`Rig`.
    """
    n = mesh.shape[0]
    if n != N_LANDMARKS:
        raise ValueError(f"expected {N_LANDMARKS} landmarks, got {n}")
    wj = jaw_weight(mesh)
    wl = lip_weight(mesh)
    c = mouth_center(mesh)
    dx = mesh[:, 0] - c[0]
    basis = np.zeros((len(AU_NAMES), n, 3), np.float32)

    # jawOpen: drop (and slightly retract) everything that follows the jaw.
    basis[0, :, 1] = JAW_DROP * wj
    basis[0, :, 2] = 0.25 * JAW_DROP * wj

    # Lip region split: the lower lip follows the jaw; what the jaw does to the lips, closure undoes.
    chin_fade = 1.0 - smoothstep(0.12, 0.35, mesh[:, 1] - c[1])  # lips, not the chin
    lip_gap = np.zeros((n, 3), np.float32)
    lip_gap[:, 1] = JAW_DROP * wj * chin_fade * wl
    lip_gap[:, 2] = 0.25 * JAW_DROP * wj * chin_fade * wl

    # mouthClose alone: a slight press, the lips thin towards the seam.
    to_seam = np.where(mesh[:, 1] > c[1], -1.0, 1.0) * wl * (1.0 - smoothstep(0.0, 0.15, np.abs(mesh[:, 1] - c[1])))
    basis[1, :, 1] = 0.01 * to_seam
    basis[1, list(UPPER_INNER_LIP + LOWER_INNER_LIP), 1] = 0.0

    # mouthPucker: corners in, lips forward, opening small.
    basis[2, :, 0] = -PUCKER_NARROW * dx * wl
    basis[2, :, 2] = -LIP_PROTRUDE * wl
    # mouthFunnel: corners in, lips flare away from the seam (an open round mouth).
    basis[3, :, 0] = -FUNNEL_NARROW * dx * wl
    basis[3, :, 2] = -0.7 * LIP_PROTRUDE * wl
    flare = np.where(mesh[:, 1] > c[1], 1.0, -1.0) * wl * (1.0 - smoothstep(0.15, 0.35, np.abs(dx)))
    basis[3, :, 1] = 0.035 * flare
    # mouthStretch: corners out and a little up.
    basis[4, :, 0] = STRETCH_WIDEN * dx * wl
    basis[4, :, 1] = -0.02 * wl * smoothstep(0.1, 0.3, np.abs(dx))
    # mouthRollLower: lower lip up and back, under the upper teeth.
    lower_lip = wj * wl * chin_fade
    basis[5, :, 1] = -ROLL_LOWER_UP * lower_lip
    basis[5, :, 2] = 0.04 * lower_lip
    # mouthUpperUp: upper lip raised.
    upper_lip = (1.0 - wj) * wl * (mesh[:, 1] < c[1] + 0.01)
    basis[6, :, 1] = -UPPER_UP * upper_lip
    basis[6, list(LOWER_INNER_LIP), 1] = 0.0
    basis[6, [78, 308], 1] = -0.5 * UPPER_UP
    # browInnerUp: brows and the forehead skin right above them.
    brow_y = float(mesh[list(BROWS), 1].mean())
    eye_y = 0.0
    above = 1.0 - smoothstep(0.0, 0.35, np.abs(mesh[:, 1] - brow_y))
    above *= mesh[:, 1] < eye_y - 0.05
    basis[7, :, 1] = -BROW_UP * above
    return Rig(basis=basis, lip_gap_of_jaw=lip_gap)
