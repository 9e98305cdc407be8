"""How fast the mp4 writer's memory grows with the length of the output (the index the mp4 needs at its end).

    python benchmarks/mp4_index.py [--seconds 1800]

Writes ``--seconds`` of 64x64 video at 25 fps with 16 kHz sound through
:class:`talkinghead.media.writer.VideoWriter` (frames this small cost nothing to make or encode)
and prints this process's RSS every 300 s of output: what the writer alone adds per second of
speech, to set beside ``benchmarks/memory.py``'s growth of the main process over a long render.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def main() -> None:
    from talkinghead.media.writer import VideoWriter
    from talkinghead.types import Speech

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=1800)
    a = ap.parse_args()
    speech = Speech((0.1 * np.sin(np.arange(a.seconds * 16000) * 0.05)).astype(np.float32), 16000)
    frame = np.zeros((64, 64, 3), np.uint8)
    marks = []
    with tempfile.TemporaryDirectory() as tmp:
        w = VideoWriter(Path(tmp) / "index.mp4", 25, (64, 64), speech)
        for i in range(a.seconds * 25):
            frame[..., 0] = i % 251
            w.write(frame)
            if i % (300 * 25) == 0:
                marks.append((i // 25, rss_mib()))
        w.close()
    for s, m in marks:
        print(f"{s:6d} s written: RSS {m:.1f} MiB")
    if len(marks) > 1:
        (s0, m0), (s1, m1) = marks[1], marks[-1]
        print(f"growth {(m1 - m0) * 1024 / max(1, s1 - s0):.2f} KiB per second of output ({(m1 - m0) / max(1, s1 - s0) * 1800:.1f} MiB per half hour)")


if __name__ == "__main__":
    main()
