"""Stage timing, the progress bar of a job and the frames of motion pieces (split out of ``pipeline.py``;
still importable from there)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from talkinghead.types import MotionSequence

#: Environment variable naming a file where the command line writes a run's :class:`StageTimes`
#: as JSON (``talkinghead bench`` sets it for the processes it times).
STAGE_TIMES_ENV = "TALKINGHEAD_STAGE_TIMES"


@dataclass
class StageTimes:
    """Wall-clock seconds spent per stage of one run (for the real-time factor)."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, dt: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + dt

    @property
    def total(self) -> float:
        return float(sum(self.seconds.values()))


def times_merge(a: StageTimes, b: StageTimes) -> StageTimes:
    """One StageTimes holding the sums of both."""
    out = StageTimes(dict(a.seconds))
    for k, v in b.seconds.items():
        out.add(k, v)
    return out


@contextlib.contextmanager
def progress_bar(enabled: bool, total: int, desc: str) -> Iterator[Any]:
    """A frame-counting tqdm bar on stderr for a block: yields it (None when not ``enabled``).

    One bar can cover a job's stages: ``bar.set_description_str`` names the next stage; stages
    that make no frames (speech analysis) show their name and the time elapsed, and the rate
    and ETA come with the frames (``bar.update``).
    """
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=total, unit="frame", desc=desc, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()


def frame_motion(motion: MotionSequence | Iterable[MotionSequence], times: StageTimes | None = None
                 ) -> Iterator[tuple[np.ndarray, np.ndarray, float]]:
    """Each frame's ``(offsets [478, 3], pose [6], blink)`` of a motion or of its consecutive pieces.

    ``times``: where the frames are waited for as ``render`` (rendered elsewhere), the time spent here
    making the next piece (:func:`make_motion_pieces` adds it as ``motion``) is taken off ``render``.
    """
    pieces = iter([motion] if isinstance(motion, MotionSequence) else motion)
    while True:
        t = time.perf_counter()
        piece = next(pieces, None)
        if times is not None:
            times.add("render", -(time.perf_counter() - t))  # inside the wait for a frame
        if piece is None:
            return
        for i in range(piece.num_frames):
            yield piece.landmark_offsets[i], piece.head_pose[i], float(piece.blink[i])
