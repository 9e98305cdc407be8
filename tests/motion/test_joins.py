from __future__ import annotations

import numpy as np
import pytest

from talkinghead.motion.joins import cross_fade
from talkinghead.types import MotionSequence


def _motion(value: float, blink: np.ndarray) -> MotionSequence:
    n = len(blink)
    return MotionSequence(fps=25.0, au_names=("jawOpen",), au=np.full((n, 1), value, np.float32),
                          landmark_offsets=np.full((n, 478, 3), value, np.float32),
                          head_pose=np.full((n, 6), 10 * value, np.float32), blink=blink.astype(np.float32), source="learned")


def test_cross_fade_passes_linearly_and_switches_blinks_where_both_eyes_are_open() -> None:
    n = 20
    before_blink, after_blink = np.zeros(n), np.zeros(n)
    before_blink[8:12] = 1.0  # a blink across the middle in the motion that ends
    after_blink[3:5] = 0.5
    out = cross_fade(_motion(0.0, before_blink), _motion(1.0, after_blink))
    w = out.landmark_offsets[:, 0, 0]
    assert out.num_frames == n and np.all(np.diff(w) > 0) and 0 < w[0] < 0.05 and 0.95 < w[-1] < 1
    assert np.allclose(out.au[:, 0], w) and np.allclose(out.head_pose[:, 0], 10 * w)
    # the whole of the first motion's blink, none of the second's (it switched after 12, both open there)
    assert np.array_equal(out.blink[8:12], np.ones(4)) and out.blink[3:5].max() == 0
    assert out.blink.max() == 1.0 and (out.blink > 0).sum() == 4


def test_cross_fade_needs_the_same_frames() -> None:
    with pytest.raises(ValueError, match="same frames"):
        cross_fade(_motion(0.0, np.zeros(10)), _motion(1.0, np.zeros(11)))
