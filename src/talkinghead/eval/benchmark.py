"""Self-reenactment benchmark: generate each real clip from its own first frame and audio, compare.

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
- ``oracle``: the real frames themselves (a check of the machinery: every score is perfect).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from talkinghead.eval import metrics as M
from talkinghead.eval.datasets import DEFAULT_SETS, Clip, bilabial_events, load_set
from talkinghead.eval.mouth_crop import CROP_SIZE, OPEN_MOUTH, mouth_crop
from talkinghead.eval.systems import DEFAULT_SYSTEMS, SYSTEMS, system_frames, systems_for
from talkinghead.face.track import Track, Tracker, video_frames
from talkinghead.types import InputError, Speech

log = logging.getLogger("talkinghead")

#: Pauses scored by ``pause_closed``: voice-activity pauses at least this long (s) in the clean speech,
#: less this margin (s) at each end (lips close after the last sound and open before the next).
PAUSE_MIN_S, PAUSE_MARGIN_S = 0.3, 0.1


@dataclass(frozen=True)
class EvalConfig:
    """Settings of one benchmark run (all recorded in report.json).

    Attributes:
        sets: evaluation sets (:data:`~talkinghead.eval.datasets.SETS`).
        systems: systems to run (:data:`SYSTEMS`).
        quick: only the small --quick subset of each set.
        limit: at most this many clips per set (None: all).
        crop_size: side of the face crop for PSNR/SSIM and the contact sheet (pixels).
        identity_frames: frames per clip embedded for the identity distance (0: skip identity).
        sheet_frames: frames per clip in the contact sheet.
        max_lag: audio-visual offset search range (frames).
        seed: seed of the pipeline's head wander and blink timing.
    """

    sets: tuple[str, ...] = DEFAULT_SETS
    systems: tuple[str, ...] = DEFAULT_SYSTEMS
    quick: bool = False
    limit: int | None = None
    crop_size: int = 256
    identity_frames: int = 6
    sheet_frames: int = 6
    max_lag: int = M.MAX_LAG
    seed: int = 0

    def validate(self) -> None:
        """Raise InputError for unknown systems or sets, or out-of-range settings."""
        from talkinghead.eval.datasets import SETS

        bad = [s for s in self.systems if s not in SYSTEMS]
        if bad or not self.systems:
            raise InputError(f"unknown system(s) {', '.join(bad) or '(none)'}; choose from {', '.join(SYSTEMS)}")
        bad = [s for s in self.sets if s not in SETS]
        if bad or not self.sets:
            raise InputError(f"unknown set(s) {', '.join(bad) or '(none)'}; choose from {', '.join(SETS)}")
        if self.limit is not None and self.limit < 1:
            raise InputError(f"--limit must be >= 1, got {self.limit}")
        if not (32 <= self.crop_size <= 1024):
            raise InputError(f"crop size must be 32..1024 pixels, got {self.crop_size}")


@dataclass(frozen=True)
class Reference:
    """What is measured once on a real clip, for all systems.

    Attributes:
        clip: the clip.
        track: the real frames' face track (F frames).
        portrait: uint8 ``[H, W, 3]`` the source portrait (frame ``clip.portrait_frame``).
        speech: the clip's audio (16 kHz mono).
        loudness: float32 ``[F]`` audio envelope at the frames (:func:`~talkinghead.eval.metrics.loudness_envelope`).
        boxes: int ``[F, 4]`` face crop box per frame (from the real landmarks; held where no face).
        crops: uint8 ``[F, S, S, 3]`` real face crops, S = crop size.
        id_frames: frame index -> full real frame, for the identity distance.
        events: bilabial events ``(start_s, end_s)`` from the word alignment (empty without one).
        pauses: bool ``[F]``: frames inside pauses of the clean speech (:func:`pause_frames`).
        mouths: uint8 ``[F, 64, 96]`` grey mouth crops aligned on eyes and nose
            (:func:`~talkinghead.eval.mouth_crop.mouth_crop`); zeros where no face was found.
        open_mouth: bool ``[F]``: frames whose real mouth is open (:data:`~talkinghead.eval.mouth_crop.OPEN_MOUTH`).
    """

    clip: Clip
    track: Track
    portrait: np.ndarray
    speech: Speech
    loudness: np.ndarray
    boxes: np.ndarray
    crops: np.ndarray
    id_frames: dict[int, np.ndarray]
    events: tuple[tuple[float, float], ...]
    pauses: np.ndarray
    mouths: np.ndarray
    open_mouth: np.ndarray

    @property
    def fps(self) -> float:
        return self.track.fps

    @property
    def num_frames(self) -> int:
        return self.track.num_frames


@dataclass(frozen=True)
class Pair:
    """A portrait + speech pair without real frames (no ground truth).

    Attributes:
        clip: the clip (``video`` is None).
        portrait: uint8 ``[H, W, 3]`` the portrait image.
        portrait_landmarks: float32 ``[478, 3]`` its face mesh (pixels), for the identity distance.
        speech: the drive (16 kHz mono).
        fps: generated frame rate.
        loudness: float32 ``[F]`` audio envelope at the frames.
        events: bilabial events ``(start_s, end_s)`` from the word alignment (empty without one).
        pauses: bool ``[F]``: frames inside the speech's pauses (:func:`pause_frames`).
    """

    clip: Clip
    portrait: np.ndarray
    portrait_landmarks: np.ndarray
    speech: Speech
    fps: float
    loudness: np.ndarray
    events: tuple[tuple[float, float], ...]
    pauses: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.loudness.shape[0])


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
            closed (None without pauses; see :func:`pause_frames`).
        gen_s: seconds spent generating (setup, motion and rendering; tracking excluded).
        rtf: real-time factor of generation (gen_s / audio seconds).
    """

    frames: int
    face_rate: float
    mouth_r: float
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


def _sample_indices(n: int, k: int, start: int = 0) -> list[int]:
    """``k`` evenly spaced distinct frame indices in ``[start, n)``."""
    if k <= 0 or n <= start:
        return []
    return sorted({int(round(x)) for x in np.linspace(start, n - 1, k)})


def prepare_reference(clip: Clip, config: EvalConfig = EvalConfig()) -> Reference:
    """Track a real clip, cut its face crops and measure its audio, once for all systems.

    Raises:
        InputError: unreadable video or audio, or no face in the portrait frame.
    """
    from talkinghead.media.audio import load_speech
    from talkinghead.media.video import probe_video

    if clip.video is None:
        raise InputError(f"{clip.name}: no real video to compare with")
    info = probe_video(clip.video)
    clean = load_speech(clip.video)
    speech = with_babble(clean, clip.noise, clip.snr_db)
    id_idx = set(_sample_indices(info.num_frames, config.identity_frames, start=1))
    boxes: list[tuple[int, int, int, int]] = []
    crops: list[np.ndarray] = []
    mouths: list[np.ndarray] = []
    id_frames: dict[int, np.ndarray] = {}
    portrait = None
    box = None
    with Tracker(info.fps) as tracker:
        for i, frame in enumerate(video_frames(clip.video, info.fps)):
            face = tracker.add(frame)
            mouths.append(mouth_crop(frame, face.landmarks) if face is not None else np.zeros(CROP_SIZE, np.uint8))
            if face is not None:
                box = M.crop_box(face.landmarks)
            elif box is None:
                h, w = frame.shape[:2]
                box = (0, 0, max(h, w), max(h, w))
            boxes.append(box)
            crops.append(M.face_crop(frame, box, config.crop_size))
            if i == clip.portrait_frame:
                portrait = np.ascontiguousarray(frame)
            if i in id_idx:
                id_frames[i] = np.ascontiguousarray(frame)
        track = tracker.track()
    if portrait is None or not np.isfinite(track.landmarks[clip.portrait_frame]).all():
        raise InputError(f"{clip.video}: no face in the portrait frame {clip.portrait_frame}")
    loud = M.loudness_envelope(speech.samples, speech.sample_rate, track.fps, track.num_frames)
    return Reference(clip=clip, track=track, portrait=portrait, speech=speech, loudness=loud,
                     boxes=np.asarray(boxes, dtype=np.int64), crops=np.stack(crops), id_frames=id_frames,
                     events=tuple(bilabial_events(clip.words)), pauses=pause_frames(clean, track.fps, track.num_frames),
                     mouths=np.stack(mouths), open_mouth=np.nan_to_num(M.mouth_opening(track.landmarks)) > OPEN_MOUTH)


def with_babble(speech: Speech, noise: Sequence[Path], snr_db: float) -> Speech:
    """``speech`` with the babble of ``noise`` (files summed at equal level, looped) at ``snr_db`` dB; unchanged without noise."""
    from talkinghead.audio.augment import babble, mix_at_snr
    from talkinghead.media.audio import load_speech

    if not noise:
        return speech
    talkers = [load_speech(f, speech.sample_rate).samples for f in noise]
    mixed = mix_at_snr(speech.samples, babble(talkers, len(speech.samples)), snr_db)
    return Speech(samples=np.clip(mixed / max(1.0, float(np.abs(mixed).max())), -1.0, 1.0).astype(np.float32),
                  sample_rate=speech.sample_rate)


def pause_frames(speech: Speech, fps: float, num_frames: int) -> np.ndarray:
    """Video frames inside the speech's pauses: bool ``[num_frames]``.

    A pause is a run of no voice activity (:func:`~talkinghead.audio.features.speech_activity`
    on the clean speech) of at least :data:`PAUSE_MIN_S`, less :data:`PAUSE_MARGIN_S` at each
    end; a frame counts when its time falls inside one.
    """
    from talkinghead.audio.features import compute_features, speech_activity, true_runs

    feats = compute_features(speech)
    rate = float(feats.frame_rate)
    out = np.zeros(num_frames, bool)
    t = np.arange(num_frames) / fps
    for a, b in true_runs(~speech_activity(feats)):
        a_s, b_s = a / rate, b / rate
        if b_s - a_s >= PAUSE_MIN_S:
            out |= (t >= a_s + PAUSE_MARGIN_S) & (t < b_s - PAUSE_MARGIN_S)
    return out


def pause_closed(opening: np.ndarray, pauses: np.ndarray, closed: float = M.CLOSED_OPENING) -> float | None:
    """Share of pause frames (``pauses`` bool ``[F]``) where ``opening`` (``[F]``, NaN = no face) is at most ``closed``."""
    n = min(len(opening), len(pauses))
    o = np.asarray(opening[:n], np.float64)[pauses[:n]]
    o = o[np.isfinite(o)]
    return float(np.mean(o <= closed)) if o.size else None


def prepare_pair(clip: Clip, fps: float = 25.0) -> Pair:
    """Load a portrait + speech pair (no ground truth) and find the portrait's face.

    Raises:
        InputError: unreadable image or audio, or no face in the portrait.
    """
    from talkinghead.face.landmarks import find_face
    from talkinghead.media.audio import load_speech
    from talkinghead.media.image import load_image

    if clip.portrait is None or clip.audio is None:
        raise InputError(f"{clip.name}: a pair needs a portrait and an audio file")
    image = load_image(clip.portrait)
    face = find_face(image, source=str(clip.portrait))
    speech = load_speech(clip.audio)
    n = max(1, int(round(speech.duration_s * fps)))
    loud = M.loudness_envelope(speech.samples, speech.sample_rate, fps, n)
    return Pair(clip=clip, portrait=image, portrait_landmarks=face.landmarks, speech=speech, fps=fps, loudness=loud,
                events=tuple(bilabial_events(clip.words)), pauses=pause_frames(speech, fps, n))


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
        ref: the real clip (:func:`prepare_reference`).
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
    id_idx = set(_sample_indices(n_ref, config.identity_frames, start=1))
    sheet_idx = set(_sample_indices(n_ref, config.sheet_frames))
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
        pair: the portrait + speech pair (:func:`prepare_pair`).
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
    id_idx = set(_sample_indices(n_max, config.identity_frames, start=1))
    sheet_idx = set(_sample_indices(n_max, config.sheet_frames))
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
        frames=n, face_rate=gen.detection_rate, mouth_r=nan, offset=None, offset_r=nan, lmd=nan, lmd_px256=nan,
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
    sheet_idx = _sample_indices(src.num_frames, config.sheet_frames)
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


def score_names(cls: type = Scores) -> tuple[str, ...]:
    """Field names of a scores dataclass, in order."""
    return tuple(f.name for f in fields(cls))
