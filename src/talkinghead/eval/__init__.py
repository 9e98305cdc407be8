"""Evaluation: metrics on face tracks and frames, and the self-reenactment benchmark.

- :mod:`talkinghead.face.track` (used here): MediaPipe face tracks of videos or frame iterators.
- :mod:`talkinghead.eval.metrics`: lip-sync, landmark, stability, image-quality and identity metrics.
- :mod:`talkinghead.eval.datasets`: the fixed GRID split, unseen speakers, real talking clips.
- :mod:`talkinghead.eval.systems`: the systems compared and the frames each makes for a clip.
- :mod:`talkinghead.eval.mouth_crop`: the mouth crop that mouth PSNR/SSIM are measured on.
- :mod:`talkinghead.eval.reference`: a real clip (or portrait + speech pair) prepared once for every system.
- :mod:`talkinghead.eval.scoring`: one system's frames tracked and scored against the real clip.
- :mod:`talkinghead.eval.benchmark`: run systems on clips and score them (``talkinghead eval``).
- :mod:`talkinghead.eval.report`: report.json, report.md and plots.
"""

from __future__ import annotations

from talkinghead.eval.benchmark import BenchmarkResult, ClipResult, evaluate_clip, run_benchmark
from talkinghead.eval.reference import EvalConfig, prepare_reference
from talkinghead.eval.scoring import Scores, score_frames
from talkinghead.eval.systems import DEFAULT_SYSTEMS, SYSTEMS
from talkinghead.eval.datasets import DEFAULT_SETS, SETS, Clip, grid_split, load_set
from talkinghead.eval.report import write_report
from talkinghead.face.track import Track, track_frames, track_video

__all__ = [
    "DEFAULT_SETS",
    "DEFAULT_SYSTEMS",
    "SETS",
    "SYSTEMS",
    "BenchmarkResult",
    "Clip",
    "ClipResult",
    "EvalConfig",
    "Scores",
    "Track",
    "evaluate_clip",
    "grid_split",
    "load_set",
    "prepare_reference",
    "run_benchmark",
    "score_frames",
    "track_frames",
    "track_video",
    "write_report",
]
