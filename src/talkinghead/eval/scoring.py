"""Scores of one system's frames against the real clip (or, for a pair, what needs no real frames).

:func:`score_frames` tracks generated frames as they stream in and scores them against a
:class:`~talkinghead.eval.reference.Reference` (mouth opening r, A/V offset, LMD, jitter, head
motion, blinks, image and mouth-crop quality, identity, closure, pauses, speed: the metrics of
:mod:`talkinghead.eval.metrics`); :func:`score_pair` scores a portrait + speech pair;
:func:`real_scores` is the real clip measured on its own (the "real video" row).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields

import numpy as np

from talkinghead.eval import metrics as M
from talkinghead.eval.mouth_crop import mouth_crop
from talkinghead.eval.reference import EvalConfig, Pair, Reference, pause_closed, sample_indices
from talkinghead.face.track import Track, Tracker
from talkinghead.types import InputError


@dataclass(frozen=True)
class RealScores:
    """The real clip's own values of the metrics that need no counterpart (the reference row).

    Attributes:
        frames: number of frames.
        duration_s: audio duration (s).
        face_rate: share of frames with a face.
        jitter: landmark acceleration (IOD / frame^2).
        pose_std: head-pose standard deviation (degrees, mean of pitch/yaw/roll).
        blink_rate: blinks per minute.
        loudness_r: Pearson r of mouth opening and loudness.
        closure: share of bilabial events with closed lips (None without events).
        pause_closed: share of pause frames with closed lips (None without pauses).
        identity: identity distance of real frames to the portrait (None without dlib).
    """

    frames: int
    duration_s: float
    face_rate: float
    jitter: float
    pose_std: float
    blink_rate: float
    loudness_r: float
    closure: float | None
    pause_closed: float | None
    identity: float | None


@dataclass(frozen=True)
class Scores:
    """One system on one clip: every number of the benchmark.

    Metrics against real frames are NaN (``offset`` None) for pairs without ground truth.

    Attributes:
        frames: frames compared (shorter of generated and real).
        face_rate: share of generated frames where a face was found.
        mouth_r: Pearson r of generated vs real mouth opening (lag 0).
        mouth_r_speech: the same over the spoken span only (first to last voice activity of the
            clean speech, ``Reference.speech_span``): lip sync without the silence around it.
        mouth_r_source: cross-dubbing only (NaN elsewhere): how much of the dubbed video's own mouth shows
            through, the partial r with it given the real target (:func:`~talkinghead.eval.metrics.leak_correlation`).
        offset: audio-visual offset in frames (lag of best r, ``> 0``: generated is late; None
            for a still mouth).
        offset_r: r at that lag.
        lmd: mouth landmark distance (IOD units).
        lmd_px256: mouth landmark distance in pixels of a 256x256 face crop.
        jitter: generated landmark acceleration (IOD / frame^2).
        jitter_ratio: generated / real jitter (1 = as steady as the real video).
        pose_std: generated head-pose standard deviation (degrees).
        pose_std_ratio: generated / real head-pose standard deviation.
        blink_rate: generated blinks per minute.
        psnr: face-crop PSNR (dB), frames after the portrait frame.
        ssim: face-crop SSIM, frames after the portrait frame.
        mouth_psnr, mouth_ssim: PSNR (dB) and SSIM of the grey mouth crop aligned on eyes and nose
            (:mod:`~talkinghead.eval.mouth_crop`), frames after the portrait frame with a face in both.
        mouth_psnr_open, mouth_ssim_open: the same over the frames whose real mouth is open.
        identity: identity distance of generated frames to the portrait (dlib; None if unavailable).
        loudness_r: Pearson r of generated mouth opening and loudness (no ground truth needed).
        closure: share of bilabial events where the generated lips close (None without events).
        pause_closed: share of frames in the speech's pauses where the generated lips are
            closed (None without pauses; see :func:`~talkinghead.eval.reference.pause_frames`).
        gen_s: seconds spent generating (setup, motion and rendering; tracking excluded).
        rtf: real-time factor of generation (gen_s / audio seconds).
    """

    frames: int
    face_rate: float
    mouth_r: float
    mouth_r_speech: float
    mouth_r_source: float
    offset: int | None
    offset_r: float
    lmd: float
    lmd_px256: float
    jitter: float
    jitter_ratio: float
    pose_std: float
    pose_std_ratio: float
    blink_rate: float
    psnr: float
    ssim: float
    mouth_psnr: float
    mouth_ssim: float
    mouth_psnr_open: float
    mouth_ssim_open: float
    identity: float | None
    loudness_r: float
    closure: float | None
    pause_closed: float | None
    gen_s: float
    rtf: float


@dataclass(frozen=True)
class SystemRun:
    """The result of scoring one system's frames against a reference.

    Attributes:
        system: system name.
        scores: the numbers.
        track: the generated frames' track.
        opening: float64 ``[N]`` generated mouth opening (for the curve plots).
        sheet: frame index -> uint8 face crop, for the contact sheet.
    """

    system: str
    scores: Scores
    track: Track
    opening: np.ndarray
    sheet: dict[int, np.ndarray]


def _portrait_landmarks(src: Reference | Pair) -> np.ndarray:
    if isinstance(src, Pair):
        return src.portrait_landmarks
    return src.track.landmarks[src.clip.portrait_frame]


def _identity(src: Reference | Pair, frames: dict[int, np.ndarray], track: Track) -> float | None:
    idx = [i for i in sorted(frames) if i < track.num_frames]
    if not idx:
        return None
    return M.identity_distance(src.portrait, _portrait_landmarks(src),
                               [frames[i] for i in idx], [track.landmarks[i] for i in idx])


def real_scores(ref: Reference) -> RealScores:
    """The reference row: metrics of the real clip on its own."""
    tr = ref.track
    opening = M.mouth_opening(tr.landmarks)
    return RealScores(
        frames=tr.num_frames, duration_s=ref.speech.duration_s, face_rate=tr.detection_rate,
        jitter=M.jitter(tr.landmarks), pose_std=M.head_pose_std(tr.pose), blink_rate=M.blink_rate(tr.blink, tr.fps),
        loudness_r=M.loudness_correlation(opening, ref.loudness),
        closure=M.bilabial_closure(opening, ref.events, tr.fps),
        pause_closed=pause_closed(opening, ref.pauses),
        identity=_identity(ref, ref.id_frames, tr),
    )


def _ratio(a: float, b: float) -> float:
    return float(a / b) if np.isfinite(a) and np.isfinite(b) and b > 0 else float("nan")


def score_frames(ref: Reference, frames: Iterable[np.ndarray], system: str = "generated",
                 config: EvalConfig = EvalConfig(), setup_s: float = 0.0) -> SystemRun:
    """Track generated frames (streamed) and score them against the real clip.

    Frames beyond the real clip's length are ignored; a shorter generated clip is compared on
    its own length. Frames of another size than the real ones are resized to it.

    Args:
        ref: the real clip (:func:`~talkinghead.eval.reference.prepare_reference`).
        frames: uint8 ``[H, W, 3]`` RGB generated frames at the real clip's frame rate.
        system: name recorded with the result.
        config: settings (crop size, identity frames, contact-sheet frames, lag range).
        setup_s: seconds the system spent before its first frame (added to the generation time).
    Returns:
        The :class:`SystemRun`.
    Raises:
        InputError: no frames at all.
    """
    import cv2

    n_ref = ref.num_frames
    h, w = ref.track.size
    id_idx = set(sample_indices(n_ref, config.identity_frames, start=1))
    sheet_idx = set(sample_indices(n_ref, config.sheet_frames))
    psnrs: list[float] = []
    ssims: list[float] = []
    mouth_q: list[tuple[float, float, bool]] = []
    id_frames: dict[int, np.ndarray] = {}
    sheet: dict[int, np.ndarray] = {}
    clock = _GenerationClock(setup_s)
    with Tracker(ref.fps) as tracker:
        for i, frame in clock.timed(frames, n_ref):
            if frame.shape[:2] != (h, w):
                frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
            face = tracker.add(frame)
            crop = M.face_crop(frame, tuple(ref.boxes[i]), config.crop_size)
            if i != ref.clip.portrait_frame:
                psnrs.append(M.psnr(crop, ref.crops[i]))
                ssims.append(M.ssim(crop, ref.crops[i]))
                if face is not None and np.isfinite(ref.track.landmarks[i]).all():
                    mc = mouth_crop(frame, face.landmarks)
                    mouth_q.append((M.psnr(mc, ref.mouths[i]), M.ssim(mc, ref.mouths[i]), bool(ref.open_mouth[i])))
            if i in id_idx:
                id_frames[i] = np.ascontiguousarray(frame)
            if i in sheet_idx:
                sheet[i] = crop
        gen = tracker.track()
    n = gen.num_frames
    if n == 0:
        raise InputError(f"{ref.clip.name}: system {system!r} produced no frames")
    real = ref.track.slice(0, n)
    g_open = M.mouth_opening(gen.landmarks)
    r_open = M.mouth_opening(real.landmarks)
    offset, offset_r = M.av_offset(g_open, r_open, config.max_lag)
    lmd = M.mouth_lmd(gen.landmarks, real.landmarks)
    iod_px = float(np.nanmedian(M.inter_ocular(real.landmarks)))
    crop_px = float(np.median(ref.boxes[:n, 2] - ref.boxes[:n, 0]))
    g_jit, r_jit = M.jitter(gen.landmarks), M.jitter(real.landmarks)
    g_pose, r_pose = M.head_pose_std(gen.pose), M.head_pose_std(real.pose)
    scores = Scores(
        frames=n,
        face_rate=gen.detection_rate,
        mouth_r=M.mouth_correlation(g_open, r_open),
        mouth_r_speech=_span_correlation(g_open, r_open, ref.speech_span[:n]),
        mouth_r_source=float("nan") if ref.source_opening is None
        else M.leak_correlation(g_open, ref.source_opening[:n], r_open),
        offset=offset,
        offset_r=offset_r,
        lmd=lmd,
        lmd_px256=M.lmd_to_pixels(lmd, iod_px, crop_px, 256),
        jitter=g_jit,
        jitter_ratio=_ratio(g_jit, r_jit),
        pose_std=g_pose,
        pose_std_ratio=_ratio(g_pose, r_pose),
        blink_rate=M.blink_rate(gen.blink, gen.fps),
        psnr=float(np.mean(psnrs)) if psnrs else float("nan"),
        ssim=float(np.mean(ssims)) if ssims else float("nan"),
        mouth_psnr=_mean([q[0] for q in mouth_q]),
        mouth_ssim=_mean([q[1] for q in mouth_q]),
        mouth_psnr_open=_mean([q[0] for q in mouth_q if q[2]]),
        mouth_ssim_open=_mean([q[1] for q in mouth_q if q[2]]),
        identity=_identity(ref, id_frames, gen),
        loudness_r=M.loudness_correlation(g_open, ref.loudness[:n]),
        closure=M.bilabial_closure(g_open, ref.events, gen.fps),
        pause_closed=pause_closed(g_open, ref.pauses),
        gen_s=clock.seconds,
        rtf=clock.seconds / max(ref.speech.duration_s, 1e-9),
    )
    return SystemRun(system=system, scores=scores, track=gen, opening=g_open, sheet=sheet)


def _span_correlation(generated: np.ndarray, real: np.ndarray, span: np.ndarray, min_frames: int = 10) -> float:
    """:func:`~talkinghead.eval.metrics.mouth_correlation` over the frames of ``span`` (NaN when fewer than ``min_frames``)."""
    n = min(len(generated), len(real), len(span))
    keep = np.asarray(span[:n], bool)
    if int(keep.sum()) < min_frames:
        return float("nan")
    return M.mouth_correlation(np.asarray(generated[:n])[keep], np.asarray(real[:n])[keep])


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


class _GenerationClock:
    """Seconds a system spends producing frames (its set-up plus each ``next()`` on its iterator)."""

    def __init__(self, setup_s: float) -> None:
        self.seconds = setup_s

    def timed(self, frames: Iterable[np.ndarray], limit: int) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, frame)`` for at most ``limit`` frames, timing only the generator's own work."""
        it = iter(frames)
        for i in range(limit):
            t = time.perf_counter()
            try:
                frame = next(it)
            except StopIteration:
                return
            self.seconds += time.perf_counter() - t
            yield i, frame


def score_pair(pair: Pair, frames: Iterable[np.ndarray], system: str = "generated",
               config: EvalConfig = EvalConfig(), setup_s: float = 0.0) -> SystemRun:
    """Track generated frames of a pair without ground truth and score what needs no real frames.

    Args:
        pair: the portrait + speech pair (:func:`~talkinghead.eval.reference.prepare_pair`).
        frames: uint8 RGB generated frames at ``pair.fps`` (any size; at most ``pair.num_frames`` used).
        system: name recorded with the result.
        config: settings (identity and contact-sheet frames).
        setup_s: seconds the system spent before its first frame.
    Returns:
        The :class:`SystemRun`; metrics against real frames are NaN (offset None).
    Raises:
        InputError: no frames at all.
    """
    n_max = pair.num_frames
    id_idx = set(sample_indices(n_max, config.identity_frames, start=1))
    sheet_idx = set(sample_indices(n_max, config.sheet_frames))
    id_frames: dict[int, np.ndarray] = {}
    sheet: dict[int, np.ndarray] = {}
    clock = _GenerationClock(setup_s)
    with Tracker(pair.fps) as tracker:
        for i, frame in clock.timed(frames, n_max):
            face = tracker.add(frame)
            if i in id_idx:
                id_frames[i] = np.ascontiguousarray(frame)
            if i in sheet_idx:
                box = M.crop_box(face.landmarks) if face is not None else (0, 0, *frame.shape[1::-1])
                sheet[i] = M.face_crop(frame, box, config.crop_size)
        gen = tracker.track()
    n = gen.num_frames
    if n == 0:
        raise InputError(f"{pair.clip.name}: system {system!r} produced no frames")
    g_open = M.mouth_opening(gen.landmarks)
    nan = float("nan")
    scores = Scores(
        frames=n, face_rate=gen.detection_rate, mouth_r=nan, mouth_r_speech=nan, mouth_r_source=nan,
        offset=None, offset_r=nan, lmd=nan, lmd_px256=nan,
        jitter=M.jitter(gen.landmarks), jitter_ratio=nan, pose_std=M.head_pose_std(gen.pose), pose_std_ratio=nan,
        blink_rate=M.blink_rate(gen.blink, gen.fps), psnr=nan, ssim=nan,
        mouth_psnr=nan, mouth_ssim=nan, mouth_psnr_open=nan, mouth_ssim_open=nan,
        identity=_identity(pair, id_frames, gen),
        loudness_r=M.loudness_correlation(g_open, pair.loudness[:n]),
        closure=M.bilabial_closure(g_open, pair.events, gen.fps),
        pause_closed=pause_closed(g_open, pair.pauses),
        gen_s=clock.seconds, rtf=clock.seconds / max(pair.speech.duration_s, 1e-9),
    )
    return SystemRun(system=system, scores=scores, track=gen, opening=g_open, sheet=sheet)


def score_names(cls: type = Scores) -> tuple[str, ...]:
    """Field names of a scores dataclass, in order."""
    return tuple(f.name for f in fields(cls))
