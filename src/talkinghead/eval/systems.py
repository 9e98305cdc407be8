"""The systems the benchmark compares: what each one is, and the frames it makes for a clip.

Each system turns a real clip (:class:`~talkinghead.eval.reference.Reference`) or a portrait +
speech pair (:class:`~talkinghead.eval.reference.Pair`) into frames: the still portrait, a
loudness-only mouth, the pipeline with each motion model, phone condition and mouth interior,
dubbing of the clip's own video, the speaker's person model (``person``, on ``grid_person``), or
the real frames themselves (``oracle``).
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from talkinghead.eval import metrics as M
from talkinghead.eval.datasets import Clip
from talkinghead.face.track import video_frames
from talkinghead.types import InputError, PersonModel, Speech

if TYPE_CHECKING:
    from talkinghead.eval.reference import EvalConfig, Pair, Reference
    from talkinghead.pipeline import TalkingHeadPipeline
    from talkinghead.types import MotionSequence

#: Systems that can be evaluated, in table order.
SYSTEMS = ("still", "loudness", "rules", "learned", "auto-notext", "learned-nophones", "rules-nophones", "learned-painted",
           "learned-stream", "dub", "person", "oracle")
#: Systems evaluated by default.
DEFAULT_SYSTEMS = ("still", "loudness", "rules", "learned", "auto-notext", "learned-nophones", "rules-nophones",
                   "learned-painted", "dub")
#: Systems run on the cross-dubbing set (another clip's video made to say this clip's speech).
DUB_CROSS_SYSTEMS = ("dub", "learned")
#: Sets of GRID s1 clips, dubbed with the person model of s1's training split; other clips draw
#: their mouths from their own frames at least this far (s) from the frame being made.
DUB_S1_SETS, DUB_HOLDOUT_S = ("grid_test", "grid_validation", "dub_cross"), 2.0
#: Systems run on the ``grid_person`` set: one-shot without a transcript, and the speaker's person model
#: (``fit`` on their other clips: mouth, pose spread, blinks and fine-tuned motion; no transcript).
PERSON_SYSTEMS = ("auto-notext", "learned-nophones", "person")
#: Systems run on the noisy sets (the conditions noise is about: no transcript).
NOISY_SYSTEMS = ("auto-notext", "learned-nophones", "rules-nophones", "learned-stream")


def eval_pipeline(src: Reference | Pair, pose_scale: float, blink_rate: float, config: EvalConfig,
                  motion: str = "rules", mouth: str = "real", person: PersonModel | None = None) -> TalkingHeadPipeline:
    """The pipeline the eval runs on a source's portrait, with the eval's exact settings.

    Full-frame for real clips (frames line up with the real ones), a face crop of
    ``config.crop_size`` for pairs; the source's frame rate and ``config.seed``. Its phones come
    from the analysis the caller passes to ``.motion()``.

    Args:
        src: a prepared real clip or portrait + speech pair.
        pose_scale: head-motion scale (0 = still head).
        blink_rate: blinks per minute (0 = none).
        config: the eval's settings.
        motion, mouth: ``GenerateConfig.motion`` and ``GenerateConfig.mouth``.
        person: a person model for the pipeline (their mouths, pose spread and motion model).
    Raises:
        InputError: no face found in the portrait.
    """
    from talkinghead.eval.reference import Pair
    from talkinghead.pipeline import GenerateConfig, TalkingHeadPipeline

    pair = isinstance(src, Pair)
    cfg = GenerateConfig(size=config.crop_size, fps=src.fps, full_frame=not pair, pose_scale=pose_scale,
                         blink_rate=blink_rate, seed=config.seed, phones="auto", motion=motion, mouth=mouth)
    where = str(src.clip.portrait) if pair else f"{src.clip.video} (frame {src.clip.portrait_frame})"
    return TalkingHeadPipeline(src.portrait, cfg, source=where, person=person)


#: Pipeline systems: motion model, whether the clip's transcript is given, phone mode, mouth interior.
PIPELINE_SYSTEMS: dict[str, tuple[str, bool, str, str]] = {
    "rules": ("rules", True, "auto", "real"), "learned": ("learned", True, "auto", "real"),
    "auto-notext": ("auto", False, "auto", "real"), "learned-nophones": ("learned", False, "acoustic", "real"),
    "rules-nophones": ("rules", False, "acoustic", "real"), "learned-painted": ("learned", True, "auto", "painted"),
}


def loudness_motion(speech: Speech, fps: float, num_frames: int) -> MotionSequence:
    """The loudness-only baseline's motion: ``jawOpen`` = normalised audio envelope, nothing else moves.

    Returns:
        MotionSequence with ``num_frames`` frames, zero head pose, no blinks.
    """
    from talkinghead.motion.rig import AU_NAMES, default_rig
    from talkinghead.types import MotionSequence

    au = np.zeros((num_frames, len(AU_NAMES)), np.float32)
    au[:, AU_NAMES.index("jawOpen")] = M.loudness_envelope(speech.samples, speech.sample_rate, fps, num_frames)
    return MotionSequence(fps=fps, au_names=AU_NAMES, au=au, landmark_offsets=default_rig().offsets(au),
                          head_pose=np.zeros((num_frames, 6), np.float32), blink=np.zeros(num_frames, np.float32),
                          source="loudness")


def system_frames(system: str, src: Reference | Pair,
                  config: EvalConfig | None = None) -> tuple[Iterator[np.ndarray], float]:
    """A system's generated frames for a real clip or a pair, and the seconds its set-up took.

    Args:
        system: one of :data:`SYSTEMS` (``oracle`` needs a real clip).
        src: the real clip (:func:`prepare_reference`) or the pair (:func:`prepare_pair`).
        config: settings (seed, crop size for pairs).
    Returns:
        ``(frames, setup_s)``: a lazy iterator of uint8 RGB frames at ``src.fps``.
    Raises:
        InputError: the portrait has no face (pipeline systems), ``oracle`` on a pair, or an unknown system.
    """
    from talkinghead.eval.reference import EvalConfig, Pair

    config = config or EvalConfig()
    t = time.perf_counter()
    if system == "still":
        if isinstance(src, Pair):  # the portrait as the renderer frames it, unmoved
            return itertools.repeat(eval_pipeline(src, 0.0, 0.0, config).renderer.source, src.num_frames), \
                time.perf_counter() - t
        return itertools.repeat(src.portrait, src.num_frames), time.perf_counter() - t
    if system == "oracle":
        if isinstance(src, Pair):
            raise InputError(f"{src.clip.name}: no real video for the oracle")
        return video_frames(src.clip.video, src.fps), 0.0
    if system == "loudness":
        pipe = eval_pipeline(src, 0.0, 0.0, config)
        n = max(1, int(round(src.speech.duration_s * src.fps)))
        motion = loudness_motion(src.speech, src.fps, n)
        return pipe.frames(motion), time.perf_counter() - t
    if system == "dub":
        return _dub_frames(src, config, t)
    if system == "person":  # the speaker's person model (fitted on their other clips), no transcript
        from talkinghead.eval.datasets import person_fit_videos
        from talkinghead.pipeline import analyse_speech

        if isinstance(src, Pair):
            raise InputError(f"{src.clip.name}: no person footage for a pair")
        person = fitted_person(person_fit_videos(src.clip))
        t = time.perf_counter()  # the fit is done once per speaker, not part of making this clip
        pipe = eval_pipeline(src, 1.0, person.blink_rate, config, motion="learned", person=person)
        return pipe.frames(pipe.motion(analyse_speech(src.speech, None, "auto"))), time.perf_counter() - t
    if system == "learned-stream":  # live streaming: the speech fed in chunks as `live` reads it, a fixed look-ahead
        from talkinghead.live import speech_chunks
        from talkinghead.motion.streaming import STREAM_RATE

        if src.speech.sample_rate != STREAM_RATE:
            raise InputError(f"{src.clip.name}: streaming takes {STREAM_RATE} Hz speech, got {src.speech.sample_rate} Hz")
        pipe = eval_pipeline(src, 1.0, 15.0, config, motion="learned")
        return (frame for _, frame in pipe.stream(speech_chunks(src.speech.samples))), time.perf_counter() - t
    if system in PIPELINE_SYSTEMS:
        from talkinghead.pipeline import analyse_speech

        motion_mode, transcript, phones, mouth = PIPELINE_SYSTEMS[system]
        pipe = eval_pipeline(src, 1.0, 15.0, config, motion=motion_mode, mouth=mouth)
        analysis = analyse_speech(src.speech, src.clip.transcript if transcript else None, phones)
        motion = pipe.motion(analysis)
        return pipe.frames(motion), time.perf_counter() - t
    raise InputError(f"unknown system {system!r}; choose from {', '.join(SYSTEMS)}")


def _dub_frames(src: Reference | Pair, config: EvalConfig, t0: float) -> tuple[Iterator[np.ndarray], float]:
    """``dub``: the clip's video (or ``dub_video``) re-animated to the clip's speech with the learned
    motion (transcript where known, as ``learned``); the mouth from the person model of GRID s1's
    training split on s1 clips, else from the video's own frames at least :data:`DUB_HOLDOUT_S` away."""
    from dataclasses import replace

    from talkinghead.dubbing import Dubber, frames_needed
    from talkinghead.eval.reference import Pair
    from talkinghead.media.video import probe_video
    from talkinghead.media.yuv import to_rgb
    from talkinghead.pipeline import GenerateConfig, analyse_speech
    from talkinghead.render.interior import load_bank

    if isinstance(src, Pair):
        raise InputError(f"{src.clip.name}: no video to dub")
    s1 = src.clip.set in DUB_S1_SETS
    bank = replace(load_bank(), exact=True) if s1 else None
    video = src.clip.dub_video or src.clip.video
    info = probe_video(video)
    # As `dub` reads it: no more frames than the speech needs (then the frames pass through as decoded).
    dubber = Dubber(video, GenerateConfig(motion="learned", seed=config.seed), bank=bank,
                    holdout_s=None if s1 else DUB_HOLDOUT_S, max_frames=frames_needed(src.speech.duration_s, info),
                    info=info)
    motion = dubber.motion(analyse_speech(src.speech, src.clip.transcript, "auto"))
    frames = (f if isinstance(f, np.ndarray) else to_rgb(f) for f in dubber.frames(motion))
    return frames, time.perf_counter() - t0


@functools.lru_cache(maxsize=2)
def fitted_person(videos: tuple[Path, ...]) -> PersonModel:
    """``talkinghead fit`` of ``videos`` (mouths, pose, blinks, fine-tuned motion), once per process.

    Raises:
        InputError: no face in the footage, or the motion could not be fine-tuned (PyTorch missing,
            too little footage): the ``person`` system measures the whole person model.
    """
    from talkinghead.train.person import fit_with_motion

    person, record, notes = fit_with_motion(videos)
    if record is None:
        raise InputError(f"person model of {videos[0].parent}: {'; '.join(notes)}")
    return person


def systems_for(clip: Clip, systems: Sequence[str]) -> list[str]:
    """The systems run on ``clip``: all of ``systems``; on a noisy clip those of :data:`NOISY_SYSTEMS`;
    on a cross-dubbing clip those of :data:`DUB_CROSS_SYSTEMS`; on a ``grid_person`` clip those of
    :data:`PERSON_SYSTEMS` (``person`` only there); ``dub`` only where there is a video."""
    if clip.set == "grid_person":
        return [s for s in systems if s in PERSON_SYSTEMS]
    systems = [s for s in systems if s != "person"]
    if clip.noise:
        return [s for s in systems if s in NOISY_SYSTEMS]
    if clip.dub_video is not None:
        return [s for s in systems if s in DUB_CROSS_SYSTEMS]
    return [s for s in systems if s != "dub" or clip.video is not None]
