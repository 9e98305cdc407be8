"""Joining two motions made separately over the same stretch of time without a seam.

Speech too long to analyse whole is made in segments that overlap (:mod:`talkinghead.long_speech`);
over the overlap both segments' motions exist, and the output passes from one to the other with
a linear cross-fade, as the learned model's windows are joined (:mod:`talkinghead.motion.learned`).
"""

from __future__ import annotations

import numpy as np

from talkinghead.types import MotionSequence

#: Eyelid closure below which an eye counts as open: where a blink may pass from one motion to the other.
OPEN_EYE = 0.01


def cross_fade(before: MotionSequence, after: MotionSequence) -> MotionSequence:
    """The same frames of two motions, passing linearly from ``before`` to ``after``.

    Landmark offsets, action units and head pose are blended with weights that go from ``before``
    to ``after`` over the frames (frame i of F weighs ``after`` by (i + 0.5) / F). A blink is not
    blended (half of one is a droop, not a blink): the eyelids follow ``before`` up to the frame
    nearest the middle where both motions have the eyes open, and ``after`` from there (the middle
    if there is none).

    Args:
        before: the motion that ends (``F`` frames).
        after: the motion that begins, over the same ``F`` frames (same rate and channels).
    Returns:
        A MotionSequence of ``F`` frames, float32, ``after``'s source.
    Raises:
        ValueError: the two differ in length, frame rate or channels.
    """
    n = before.num_frames
    if after.num_frames != n or after.fps != before.fps or after.au_names != before.au_names:
        raise ValueError("cross_fade: the two motions must cover the same frames at the same rate and channels")
    w = ((np.arange(n) + 0.5) / max(n, 1)).astype(np.float32)

    def mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ww = w.reshape((n,) + (1,) * (a.ndim - 1))
        return (a + ww * (b - a)).astype(np.float32)

    both_open = np.flatnonzero((before.blink < OPEN_EYE) & (after.blink < OPEN_EYE))
    switch = int(both_open[np.argmin(np.abs(both_open - n // 2))]) if both_open.size else n // 2
    blink = np.concatenate([before.blink[:switch], after.blink[switch:]]).astype(np.float32)
    return MotionSequence(fps=after.fps, au_names=after.au_names, au=mix(before.au, after.au),
                          landmark_offsets=mix(before.landmark_offsets, after.landmark_offsets),
                          head_pose=mix(before.head_pose, after.head_pose), blink=blink, source=after.source)
