"""Stage timing and the progress bar of a job (split out of ``pipeline.py``; still importable from there)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

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
