from __future__ import annotations

import numpy as np

from talkinghead.face.regions import LOWER_INNER_LIP, UPPER_INNER_LIP, canonical_mesh
from talkinghead.motion.rig import AU_NAMES, default_rig

K = len(AU_NAMES)


def au(**values: float) -> np.ndarray:
    a = np.zeros((1, K), np.float32)
    for k, v in values.items():
        a[0, AU_NAMES.index(k)] = v
    return a


def gap(offsets: np.ndarray) -> float:
    m = canonical_mesh() + offsets[0]
    return float(np.mean(m[list(LOWER_INNER_LIP[1:-1]), 1] - m[list(UPPER_INNER_LIP[1:-1]), 1]))


def width(offsets: np.ndarray) -> float:
    m = canonical_mesh() + offsets[0]
    return float(m[291, 0] - m[61, 0])


def test_neutral_is_closed_and_jaw_opens_lips() -> None:
    rig = default_rig()
    assert abs(gap(rig.offsets(au()))) < 0.01
    assert gap(rig.offsets(au(jawOpen=1.0))) > 0.15
    assert gap(rig.offsets(au(jawOpen=1.0))) > gap(rig.offsets(au(jawOpen=0.5))) > 0.05


def test_mouth_close_cancels_jaw_separation() -> None:
    rig = default_rig()
    assert abs(gap(rig.offsets(au(jawOpen=0.4, mouthClose=1.0)))) < 0.01


def test_rounding_narrows_and_spreading_widens() -> None:
    rig = default_rig()
    w0 = width(rig.offsets(au()))
    assert width(rig.offsets(au(mouthPucker=1.0))) < 0.85 * w0
    assert width(rig.offsets(au(mouthStretch=1.0))) > 1.05 * w0


def test_jaw_does_not_move_the_eyes_or_forehead() -> None:
    off = default_rig().offsets(au(jawOpen=1.0))[0]
    assert np.abs(off[[33, 263, 10, 1]]).max() < 1e-6  # eye corners, forehead, nose tip


def test_offsets_shape_and_batch() -> None:
    a = np.random.default_rng(0).uniform(0, 1, (7, K)).astype(np.float32)
    off = default_rig().offsets(a)
    assert off.shape == (7, 478, 3) and off.dtype == np.float32
