from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from talkinghead.motion.rig import AU_NAMES, default_rig


@pytest.fixture(scope="session")
def au_offsets() -> Callable[..., np.ndarray]:
    """``au_offsets(jawOpen=0.8, ...)``: one frame of landmark offsets ``[478, 3]`` from action units on the default rig."""

    def offsets(**values: float) -> np.ndarray:
        a = np.zeros((1, len(AU_NAMES)), np.float32)
        for k, v in values.items():
            a[0, AU_NAMES.index(k)] = v
        return default_rig().offsets(a)[0]

    return offsets
