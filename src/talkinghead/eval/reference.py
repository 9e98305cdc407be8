"""The real side of the self-reenactment benchmark: each clip prepared once for every system.

:func:`prepare_reference` tracks a real clip's frames (MediaPipe, the same model that tracks the
generated ones), loads its speech (optionally with babble mixed in, :func:`with_babble`) and its
loudness envelope, bilabial events and pauses; :func:`prepare_pair` does the same for a portrait
+ speech pair without real frames. :class:`EvalConfig` holds the benchmark's settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkinghead.eval import metrics as M
from talkinghead.eval.datasets import DEFAULT_SETS, Clip, bilabial_events
from talkinghead.eval.mouth_crop import CROP_SIZE, OPEN_MOUTH, mouth_crop
from talkinghead.eval.systems import DEFAULT_SYSTEMS, SYSTEMS
from talkinghead.face.track import Track, Tracker, track_frames, video_frames
from talkinghead.types import InputError, Speech


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
        speech_span: bool ``[F]``: frames from the first to the last voice-active moment of the
            clean speech (:func:`speech_frames`): where ``mouth_r_speech`` is scored.
        mouths: uint8 ``[F, 64, 96]`` grey mouth crops aligned on eyes and nose
            (:func:`~talkinghead.eval.mouth_crop.mouth_crop`); zeros where no face was found.
        open_mouth: bool ``[F]``: frames whose real mouth is open (:data:`~talkinghead.eval.mouth_crop.OPEN_MOUTH`).
        source_opening: float ``[F]``, cross-dubbing only (``clip.dub_video``): the real mouth opening of the
            video being dubbed at each output frame (played forward then backward, as the dub plays it).
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
    speech_span: np.ndarray
    source_opening: np.ndarray | None = None

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


def sample_indices(n: int, k: int, start: int = 0) -> list[int]:
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
    id_idx = set(sample_indices(info.num_frames, config.identity_frames, start=1))
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
    pauses, span = speech_frames(clean, track.fps, track.num_frames)
    return Reference(clip=clip, track=track, portrait=portrait, speech=speech, loudness=loud,
                     boxes=np.asarray(boxes, dtype=np.int64), crops=np.stack(crops), id_frames=id_frames,
                     events=tuple(bilabial_events(clip.words)), pauses=pauses, speech_span=span,
                     mouths=np.stack(mouths), open_mouth=np.nan_to_num(M.mouth_opening(track.landmarks)) > OPEN_MOUTH,
                     source_opening=None if clip.dub_video is None else _played_opening(clip.dub_video,
                                                                                         track.num_frames))


def _played_opening(video: Path, num_frames: int) -> np.ndarray:
    """float64 ``[num_frames]``: the real mouth opening of ``video`` (read at its own rate, as the dub
    reads it) at each frame a dub of that length shows (frame :func:`~talkinghead.dubbing.pingpong`
    ``(k)``: forward, then backward).

    Raises:
        InputError: the video has no frames.
    """
    from talkinghead.dubbing import dub_rate, pingpong
    from talkinghead.media.video import probe_video

    fps = dub_rate(probe_video(video))
    opening = M.mouth_opening(track_frames(video_frames(video, fps), fps).landmarks)
    if not len(opening):
        raise InputError(f"{video}: no video frames")
    return np.array([opening[pingpong(k, len(opening))] for k in range(num_frames)], np.float64)


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
    """Video frames inside the speech's pauses: bool ``[num_frames]`` (the first of :func:`speech_frames`)."""
    return speech_frames(speech, fps, num_frames)[0]


def speech_frames(speech: Speech, fps: float, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Video frames inside the speech's pauses, and frames within its spoken span: two bool ``[num_frames]``.

    A pause is a run of no voice activity (:func:`~talkinghead.audio.features.speech_activity`
    on the clean speech) of at least :data:`PAUSE_MIN_S`, less :data:`PAUSE_MARGIN_S` at each
    end; a frame counts when its time falls inside one. The spoken span runs from the first
    voice-active 10 ms to the end of the last (all False without voice activity): the frames
    where lip sync is judged without the silence before and after, in which a speaker's mouth
    does what it likes (GRID's speakers open theirs before they speak).
    """
    from talkinghead.audio.features import compute_features, speech_activity, true_runs

    feats = compute_features(speech)
    rate = float(feats.frame_rate)
    pauses = np.zeros(num_frames, bool)
    t = np.arange(num_frames) / fps
    active = speech_activity(feats)
    for a, b in true_runs(~active):
        a_s, b_s = a / rate, b / rate
        if b_s - a_s >= PAUSE_MIN_S:
            pauses |= (t >= a_s + PAUSE_MARGIN_S) & (t < b_s - PAUSE_MARGIN_S)
    return pauses, spoken_span(active, rate, fps, num_frames)


def spoken_span(active: np.ndarray, rate: float, fps: float, num_frames: int) -> np.ndarray:
    """Video frames (bool ``[num_frames]`` at ``fps``) whose time falls from the first voice-active frame of
    ``active`` (bool, at ``rate`` Hz) to the end of the last; all False without voice activity."""
    t = np.arange(num_frames) / fps
    on = np.flatnonzero(active)
    return (t >= on[0] / rate) & (t < (on[-1] + 1) / rate) if on.size else np.zeros(num_frames, bool)


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
