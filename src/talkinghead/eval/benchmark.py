"""Self-reenactment benchmark: generate each real clip from its own first frame and audio, compare.

This module runs the systems over the clips (:func:`evaluate_clip`, :func:`run_benchmark`); the
real side is prepared in :mod:`talkinghead.eval.reference`, each system's frames are made in
:mod:`talkinghead.eval.systems` and scored in :mod:`talkinghead.eval.scoring`.

For every clip (DESIGN.md, "Evaluation"): the portrait is the clip's first frame, the drive is
the clip's own audio, the transcript is the clip's word alignment where there is one (GRID).
Each system's frames are tracked in memory with the same MediaPipe model as the real frames,
truncated to the shorter of the two, and scored against them (:mod:`talkinghead.eval.metrics`).
Pairs of an arbitrary portrait and arbitrary speech (the ``cross`` set) have no real frames:
they get the metrics that need none (mouth-vs-loudness correlation, bilabial closure, jitter,
head motion, blinks, identity, speed).

Systems (later models are added as rows):

- ``still``: the portrait itself, unmoving (the floor every system must beat).
- ``loudness``: ``jawOpen`` = the normalised audio envelope through the AU rig; no head motion,
  no blinks (the "mouth opens with every loud frame" baseline).
- ``rules``, ``learned``: the pipeline (:class:`~talkinghead.pipeline.TalkingHeadPipeline`)
  with that motion model, full-frame so its frames line up with the real ones, given the
  clip's transcript where it has one (GRID's word alignment; others: word recognition).
- ``auto-notext``: what a user gets with the photo and the recording alone: the default
  settings (``--phones auto --motion auto``) and no transcript.
- ``learned-nophones``, ``rules-nophones``: each motion model with no phones at all
  (``--phones acoustic``): the models' own reading of the audio.
- ``learned-stream``: live streaming (:meth:`~talkinghead.pipeline.TalkingHeadPipeline.stream`):
  the speech fed in 20 ms chunks, no phones, each frame made with a fixed look-ahead.
- ``oracle``: the real frames themselves (a check of the machinery: every score is perfect).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from talkinghead.eval import metrics as M
from talkinghead.eval.datasets import Clip, load_set
from talkinghead.eval.reference import EvalConfig, Pair, Reference, prepare_pair, prepare_reference, sample_indices
from talkinghead.eval.scoring import RealScores, SystemRun, real_scores, score_frames, score_pair
from talkinghead.eval.systems import system_frames, systems_for
from talkinghead.types import InputError

log = logging.getLogger("talkinghead")


@dataclass(frozen=True)
class ClipResult:
    """All systems on one clip.

    Attributes:
        clip: the clip.
        real: the real clip's own scores (None without ground truth).
        real_opening: float64 ``[F]`` real mouth opening (None without ground truth).
        loudness: float32 ``[F]`` audio envelope.
        fps: frame rate.
        runs: per system, in run order.
        real_sheet: frame index -> uint8 real face crop (empty without ground truth).
        errors: system -> message, for systems that could not run on this clip.
    """

    clip: Clip
    real: RealScores | None
    real_opening: np.ndarray | None
    loudness: np.ndarray
    fps: float
    runs: tuple[SystemRun, ...]
    real_sheet: dict[int, np.ndarray]
    errors: dict[str, str] = field(default_factory=dict)


def evaluate_clip(clip: Clip, config: EvalConfig = EvalConfig(), systems: Sequence[str] | None = None,
                  on_system: Callable[[str], None] | None = None) -> ClipResult:
    """Run and score every system on one clip (a real video, or a pair without ground truth).

    Args:
        clip: the clip.
        config: settings.
        systems: systems to run (default ``config.systems``; ``oracle`` is skipped on pairs).
        on_system: called after each system (progress).
    Returns:
        The :class:`ClipResult`; a system that fails on this clip with a user-level problem
        (e.g. no face found in the portrait) is listed in ``errors`` instead of ``runs``.
    Raises:
        InputError: the clip itself cannot be read or has no face in its portrait.
    """
    systems = systems_for(clip, systems if systems is not None else config.systems)
    src: Reference | Pair
    if clip.has_ground_truth:
        src = prepare_reference(clip, config)
    else:
        src = prepare_pair(clip)
    runs = []
    errors = {}
    for system in systems:
        if system == "oracle" and isinstance(src, Pair):
            if on_system is not None:
                on_system(system)
            continue
        try:
            frames, setup_s = system_frames(system, src, config)
            if isinstance(src, Pair):
                runs.append(score_pair(src, frames, system, config, setup_s=setup_s))
            else:
                runs.append(score_frames(src, frames, system, config, setup_s=setup_s))
        except InputError as e:
            log.warning("%s: %s failed: %s", clip.name, system, e)
            errors[system] = str(e)
        except ImportError as e:  # a stage of the system is not installed (or not written yet)
            log.warning("%s: %s is not available: %s", clip.name, system, e)
            errors[system] = f"not available: {e}"
        if on_system is not None:
            on_system(system)
    if isinstance(src, Pair):
        return ClipResult(clip=clip, real=None, real_opening=None, loudness=src.loudness, fps=src.fps,
                          runs=tuple(runs), real_sheet={}, errors=errors)
    sheet_idx = sample_indices(src.num_frames, config.sheet_frames)
    return ClipResult(clip=clip, real=real_scores(src), real_opening=M.mouth_opening(src.track.landmarks),
                      loudness=src.loudness, fps=src.fps, runs=tuple(runs),
                      real_sheet={i: src.crops[i] for i in sheet_idx}, errors=errors)


@dataclass(frozen=True)
class BenchmarkResult:
    """A whole run.

    Attributes:
        config: the settings.
        data_root: the data folder.
        clips: per clip, in set order.
        systems: systems that ran.
        skipped: system -> why it was not run at all.
        failed: (set, clip) -> why the clip could not be evaluated.
        elapsed_s: wall-clock seconds of the run.
    """

    config: EvalConfig
    data_root: Path
    clips: tuple[ClipResult, ...]
    systems: tuple[str, ...]
    skipped: dict[str, str]
    failed: dict[str, str]
    elapsed_s: float


def collect_clips(root: Path, config: EvalConfig) -> list[Clip]:
    """The clips of ``config.sets`` (quick subset, limit) under the data folder ``root``."""
    clips: list[Clip] = []
    for s in config.sets:
        clips.extend(load_set(s, root, quick=config.quick, limit=config.limit))
    return clips


def run_benchmark(root: Path, config: EvalConfig = EvalConfig(), clips: Sequence[Clip] | None = None,
                  progress: bool = True) -> BenchmarkResult:
    """Run the self-reenactment benchmark.

    Args:
        root: the shared data folder (``../shared/data``).
        config: settings.
        clips: clips to run (default: :func:`collect_clips`).
        progress: show a tqdm progress bar (one step per clip and system).
    Returns:
        The :class:`BenchmarkResult` (write it with :func:`talkinghead.eval.report.write_report`).
    Raises:
        InputError: bad settings or a missing data set.
    """
    config.validate()
    t0 = time.perf_counter()
    clips = list(clips) if clips is not None else collect_clips(root, config)
    systems = list(config.systems)
    skipped: dict[str, str] = {}
    results = []
    failed = {}
    clips = [c for c in clips if systems_for(c, systems)]  # a noisy clip without its systems: nothing to run
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=sum(len(systems_for(c, systems)) for c in clips), unit="run", desc="eval", dynamic_ncols=True)
    try:
        for clip in clips:
            if bar is not None:
                bar.set_postfix_str(f"{clip.set}/{clip.name}")
            try:
                results.append(evaluate_clip(clip, config, systems,
                                             on_system=(lambda _s: bar.update(1)) if bar is not None else None))
            except InputError as e:
                log.warning("%s: cannot evaluate: %s", clip.name, e)
                failed[f"{clip.set}/{clip.name}"] = str(e)
                if bar is not None:
                    bar.update(len(systems_for(clip, systems)))
    finally:
        if bar is not None:
            bar.close()
    return BenchmarkResult(config=config, data_root=root, clips=tuple(results), systems=tuple(systems),
                           skipped=skipped, failed=failed, elapsed_s=time.perf_counter() - t0)
