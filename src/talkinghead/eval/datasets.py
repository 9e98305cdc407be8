"""Evaluation data: the fixed GRID split, unseen GRID speakers, and real talking-head clips.

Data live outside the repository (``../shared/data``, or ``$TALKINGHEAD_DATA``; see its
MANIFEST.md). The GRID split is fixed *by clip name* here, so it never changes when files are
added or removed, and training code must use :func:`grid_split` to stay off the held-out clips:

- ``grid/s1``: 920 clips of speaker s1 (Cooke et al., JASA 2006, CC BY 4.0). 40 test and
  40 validation clips were drawn once with ``random.Random(3).sample(sorted(names), 80)``
  (first 40 test, next 40 validation; :func:`make_grid_split`) from the clips present;
  everything else is training data.
- ``grid_others``: unseen GRID speakers, never trained on: ``grid/others`` (one clip each of 5
  speakers; only ``swwp2s`` has a word alignment) and ``grid/more`` (10 clips of s31 with
  alignments, 23 of s4 without).
- ``grid_babble10`` / ``grid_babble0``: the GRID s1 test clips with babble of other speakers
  (three unseen-speaker clips summed) mixed in at 10 dB and 0 dB SNR; the real frames are
  the clean clip's.
- ``grid_person``: person models of unseen speakers (``talkinghead fit``): for s4 and s31 the
  first clips by name (:data:`PERSON_FIT`: 15 of s4, 45 s; 6 of s31, 18 s) are footage to fit
  the person on (:func:`person_fit_videos`), the rest (8 and 4 clips) are this set.
- ``videos``: 10 real talking-head clips with their own audio (interviews, speeches).
- ``cross``: no ground truth: 8 fixed pairs of an arbitrary portrait (photos, a painting, a
  3-D cartoon, a sculpture) and arbitrary speech (GRID test clips' audio with their word
  alignments, English, Korean, JFK), scored without real frames (mouth-vs-loudness
  correlation, bilabial closure, jitter, identity).

GRID word alignments (``align/NAME.align``: ``start end word`` per line, times in 1/25000 s)
give the transcript (``sil`` and ``sp`` dropped) and the timing of bilabial word onsets.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from talkinghead.types import InputError

#: Evaluation sets, by name.
SETS = ("grid_test", "grid_validation", "grid_others", "grid_babble10", "grid_babble0", "grid_person", "videos", "cross",
        "dub_cross")
#: ``grid_person``: per unseen speaker (folder under ``grid/more``), how many of their clips (first by name) fit the person.
PERSON_FIT = {"s4": 15, "s31": 6}
#: Sets evaluated by default (validation is for model selection, not for reports).
DEFAULT_SETS = ("grid_test", "grid_others", "grid_babble10", "grid_babble0", "videos", "cross", "dub_cross")
#: Cross-dubbing: GRID s1 test clip A's video made to say clip B's speech, scored against real clip B
#: (each test clip dubbed with the next one's audio, the first ten).
DUB_CROSS_PAIRS = 10
#: Noisy sets: signal-to-noise ratio (dB) of the babble mixed into the GRID s1 test clips.
BABBLE_SNR_DB: dict[str, float] = {"grid_babble10": 10.0, "grid_babble0": 0.0}
#: The babble: clips of unseen speakers (relative to the data folder), summed.
BABBLE_CLIPS = ("grid/others/video/lwbsza.mp4", "grid/more/s31/video/{s31}", "grid/others/video/swwp2s.mp4")
#: Seed and sizes that drew the GRID split (see :func:`make_grid_split`).
GRID_SPLIT_SEED = 3
GRID_N_TEST = 40
GRID_N_VALIDATION = 40
#: Time unit of GRID ``.align`` files (seconds): 1/25000 s, so 1000 units = one 40 ms frame.
ALIGN_UNIT_S = 1.0 / 25000.0
#: Alignment labels that are silence, not words.
SILENCE_WORDS = ("sil", "sp")

#: Held-out GRID s1 clips: never train on these.
GRID_S1_TEST: tuple[str, ...] = (
    "bbaz6p", "bbbf6n", "bgat8n", "bgau1a", "brbt1s", "brwa5a", "brwg6n", "brwt5s", "bwig2p", "lbbe2p",
    "lbbezn", "lbbq8n", "lbwe4n", "lrwf1s", "lwal5a", "lwazzn", "pbib7s", "pbib8p", "pbiizn", "pbio5s",
    "pgby5s", "pgwe7s", "pgwl2p", "pgwr6p", "pgwy9s", "prbx3s", "prip3a", "prwkzp", "prwq3s", "pwax7a",
    "pwbq6p", "pwby1a", "sbaa6p", "sbwh7s", "sgbc7s", "sgwp8n", "srwo8p", "srwo9a", "swbi5s", "swbv3s",
)
GRID_S1_VALIDATION: tuple[str, ...] = (
    "bbifzp", "bbir7s", "bbwg1s", "bgwb5s", "brif4n", "brif7a", "lbad7s", "lbix6p", "lbwr4p", "lgif3a",
    "lriy1s", "lwafzp", "lwal2n", "lwaz2p", "lwir4p", "lwwf7s", "lwws6p", "pbai6p", "pbii3a", "pbwx3a",
    "pgay1s", "prbj6p", "prbp9s", "prip2p", "priv5s", "pwbd6n", "sbaa7a", "sbwb4p", "sbwo1s", "sgac3s",
    "sgiczp", "sgwq1a", "sgwqzp", "srah5s", "srbb7a", "srit8n", "srwi5a", "swavzp", "swbpzp", "swio2p",
)
#: JFK's words in the demo clip (``demo/jfk.flac``).
JFK_TRANSCRIPT = "and so my fellow americans ask not what your country can do for you ask what you can do for your country"
#: The no-ground-truth pairs: (portrait, drive) relative to the data folder. A drive under
#: ``grid/`` is a GRID test clip whose audio and word alignment are used.
CROSS_PAIRS: tuple[tuple[str, str], ...] = (
    ("demo/astronaut.png", f"grid/s1/video/{GRID_S1_TEST[3]}.mp4"),
    ("portraits/photo/sadtalker_people_0.png", f"grid/s1/video/{GRID_S1_TEST[4]}.mp4"),
    ("portraits/photo/liveportrait_s12.jpg", f"grid/s1/video/{GRID_S1_TEST[5]}.mp4"),
    ("portraits/photo/real3d_Macron.png", f"grid/s1/video/{GRID_S1_TEST[6]}.mp4"),
    ("portraits/nonphoto/liveportrait_s10_pearl_earring.jpg", f"grid/s1/video/{GRID_S1_TEST[7]}.mp4"),
    ("portraits/nonphoto/liveportrait_s7_3dcartoon.jpg", "audio/sadtalker_RD_Radio31_000.wav"),
    ("portraits/nonphoto/dreamtalk_nscu2_sculpture.png", "audio/dreamtalk_korean1.wav"),
    ("portraits/photo/deepface_img61.jpg", "demo/jfk.flac"),
)
#: The --quick subset: clip names per set (chosen for short clips and variety).
QUICK: dict[str, tuple[str, ...]] = {
    "grid_test": GRID_S1_TEST[:3],
    "grid_validation": GRID_S1_VALIDATION[:3],
    "grid_others": ("swwp2s",),
    "grid_babble10": GRID_S1_TEST[:2],
    "grid_babble0": GRID_S1_TEST[:2],
    "grid_person": ("lrau5s",),
    "videos": ("pcavs_620900105", "vrt_face2"),
    "cross": (f"astronaut+{GRID_S1_TEST[3]}", "dreamtalk_nscu2_sculpture+dreamtalk_korean1"),
    "dub_cross": (f"{GRID_S1_TEST[0]}>{GRID_S1_TEST[1]}",),
}


@dataclass(frozen=True)
class AlignedWord:
    """One word of a time alignment: the word (lower case) and its start and end in seconds."""

    word: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Clip:
    """One clip of an evaluation set: a real talking video, or a portrait + speech pair without one.

    Attributes:
        name: clip name (file stem, ``PORTRAIT+DRIVE`` for a pair), e.g. ``"bbaz6p"``.
        set: evaluation set name (one of :data:`SETS`).
        video: the real video (its first frame is the portrait, its audio the drive), or None
            for a pair without ground truth.
        words: aligned words, silence removed (empty when there is no alignment).
        portrait_frame: index of the video frame used as the source portrait (0 = first).
        portrait: the portrait image of a pair (None for a video clip).
        audio: the speech of a pair (any audio file, or a video whose audio track is used).
        text: the words spoken when known without timing (used when ``words`` is empty).
        noise: audio files summed into babble and mixed into the clip's speech (empty: clean).
        snr_db: signal-to-noise ratio of that mix (dB).
        dub_video: the video that ``dub`` re-animates to this clip's speech (None: the clip's own
            ``video``; set in ``dub_cross``, where ``video`` is the real clip compared against).
    """

    name: str
    set: str
    video: Path | None
    words: tuple[AlignedWord, ...] = ()
    portrait_frame: int = 0
    portrait: Path | None = None
    audio: Path | None = None
    text: str | None = None
    noise: tuple[Path, ...] = ()
    snr_db: float = float("inf")
    dub_video: Path | None = None

    @property
    def has_ground_truth(self) -> bool:
        """Whether real frames exist to compare with (self-reenactment)."""
        return self.video is not None

    @property
    def transcript(self) -> str | None:
        """The words spoken, space-separated, or None when unknown."""
        if self.words:
            return " ".join(w.word for w in self.words)
        return self.text


@dataclass(frozen=True)
class GridSplit:
    """Clip names of GRID speaker s1 by role (each sorted, pairwise disjoint)."""

    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]


def default_data_root() -> Path | None:
    """The shared data folder: ``$TALKINGHEAD_DATA``, else ``shared/data`` in the working folder or a parent.

    Returns:
        A folder holding ``MANIFEST.md``, or None.
    """
    env = os.environ.get("TALKINGHEAD_DATA")
    cands = [Path(env)] if env else []
    cwd = Path.cwd().resolve()
    cands += [p / "shared" / "data" for p in (cwd, *cwd.parents)]
    for c in cands:
        if (c / "MANIFEST.md").is_file():
            return c
    return None


def read_align(path: str | os.PathLike[str]) -> tuple[AlignedWord, ...]:
    """Read a GRID ``.align`` file: the spoken words with times in seconds, silences dropped.

    Raises:
        InputError: the file is missing or a line is not ``start end word``.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"{p}: cannot read alignment ({e.strerror})") from e
    words = []
    for i, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3:
            raise InputError(f"{p}:{i}: expected 'start end word', got {line!r}")
        try:
            start, end = int(parts[0]) * ALIGN_UNIT_S, int(parts[1]) * ALIGN_UNIT_S
        except ValueError as e:
            raise InputError(f"{p}:{i}: times must be integers, got {line!r}") from e
        if parts[2].lower() not in SILENCE_WORDS:
            words.append(AlignedWord(parts[2].lower(), start, end))
    return tuple(words)


def grid_s1_names(root: Path) -> tuple[str, ...]:
    """Sorted names of the GRID s1 clips present (a video and its alignment)."""
    d = root / "grid" / "s1"
    return tuple(sorted(p.stem for p in (d / "video").glob("*.mp4") if (d / "align" / f"{p.stem}.align").is_file()))


def make_grid_split(names: Sequence[str], seed: int = GRID_SPLIT_SEED, n_test: int = GRID_N_TEST,
                    n_validation: int = GRID_N_VALIDATION) -> GridSplit:
    """The procedure that drew the fixed split: a seeded sample of the sorted names.

    Args:
        names: clip names (order does not matter).
        seed: random seed.
        n_test, n_validation: set sizes.
    Returns:
        The split (``train`` = all other names).
    """
    ordered = sorted(set(names))
    pick = random.Random(seed).sample(ordered, n_test + n_validation)
    test, val = set(pick[:n_test]), set(pick[n_test:])
    return GridSplit(train=tuple(n for n in ordered if n not in test and n not in val),
                     validation=tuple(sorted(val)), test=tuple(sorted(test)))


def grid_split(root: Path) -> GridSplit:
    """The fixed GRID s1 split over the clips present under ``root``.

    Test and validation are the fixed name lists (:data:`GRID_S1_TEST`, :data:`GRID_S1_VALIDATION`)
    restricted to clips present; train is every other clip present.
    """
    names = grid_s1_names(root)
    held = set(GRID_S1_TEST) | set(GRID_S1_VALIDATION)
    present = set(names)
    return GridSplit(train=tuple(n for n in names if n not in held),
                     validation=tuple(n for n in GRID_S1_VALIDATION if n in present),
                     test=tuple(n for n in GRID_S1_TEST if n in present))


def _grid_clip(root: Path, folder: str, name: str, set_name: str) -> Clip:
    d = root / "grid" / folder
    align = d / "align" / f"{name}.align"
    return Clip(name=name, set=set_name, video=d / "video" / f"{name}.mp4",
                words=read_align(align) if align.is_file() else ())


def load_set(name: str, root: Path, quick: bool = False, limit: int | None = None) -> list[Clip]:
    """The clips of one evaluation set.

    Args:
        name: one of :data:`SETS`.
        root: the shared data folder.
        quick: only the --quick subset (:data:`QUICK`).
        limit: at most this many clips (first by name).
    Returns:
        Clips sorted by name (``grid_test`` / ``grid_validation``: the split's order; ``cross``:
        :data:`CROSS_PAIRS` order).
    Raises:
        InputError: unknown set name, or the set's folder is missing.
    """
    if name not in SETS:
        raise InputError(f"unknown evaluation set {name!r}; choose from {', '.join(SETS)}")
    if name == "cross":
        clips = _cross_clips(root)
    elif name == "dub_cross":
        test = load_set("grid_test", root)[: DUB_CROSS_PAIRS + 1]
        clips = [replace(b, name=f"{a.name}>{b.name}", set=name, dub_video=a.video) for a, b in zip(test, test[1:])]
    elif name in ("grid_test", "grid_validation"):
        if not (root / "grid" / "s1" / "video").is_dir():
            raise InputError(f"{root / 'grid' / 's1'}: GRID clips not found")
        split = grid_split(root)
        names = split.test if name == "grid_test" else split.validation
        clips = [_grid_clip(root, "s1", n, name) for n in names]
    elif name in BABBLE_SNR_DB:
        noise = babble_files(root)
        clips = [replace(c, set=name, noise=noise, snr_db=BABBLE_SNR_DB[name]) for c in load_set("grid_test", root)]
    elif name == "grid_others":
        d = root / "grid" / "others" / "video"
        if not d.is_dir():
            raise InputError(f"{d}: GRID unseen-speaker clips not found")
        clips = [_grid_clip(root, "others", p.stem, name) for p in sorted(d.glob("*.mp4"))]
        for speaker in ("s31", "s4"):
            m = root / "grid" / "more" / speaker / "video"
            clips += [_grid_clip(root, f"more/{speaker}", p.stem, name) for p in sorted(m.glob("*.mp4"))]
    elif name == "grid_person":
        clips = []
        for speaker, n in PERSON_FIT.items():
            m = root / "grid" / "more" / speaker / "video"
            if not m.is_dir():
                raise InputError(f"{m}: GRID unseen-speaker clips not found")
            clips += [_grid_clip(root, f"more/{speaker}", p.stem, name) for p in sorted(m.glob("*.mp4"))[n:]]
    else:
        d = root / "videos"
        if not d.is_dir():
            raise InputError(f"{d}: real talking-head videos not found")
        clips = [Clip(name=p.stem, set=name, video=p) for p in sorted(d.glob("*.mp4"))]
    if quick:
        keep = QUICK[name]
        clips = [c for c in clips if c.name in keep]
    if limit is not None:
        clips = clips[:max(0, limit)]
    return clips


def person_fit_videos(clip: Clip) -> tuple[Path, ...]:
    """The footage the person of a ``grid_person`` clip is fitted on (never the clip itself).

    Raises:
        InputError: not a ``grid_person`` clip.
    """
    if clip.set != "grid_person" or clip.video is None or clip.video.parent.parent.name not in PERSON_FIT:
        raise InputError(f"{clip.name}: not a clip of the grid_person set")
    return tuple(sorted(clip.video.parent.glob("*.mp4"))[:PERSON_FIT[clip.video.parent.parent.name]])


def babble_files(root: Path) -> tuple[Path, ...]:
    """The clips summed into the babble of the noisy sets (:data:`BABBLE_CLIPS`).

    Raises:
        InputError: one of them is missing.
    """
    s31 = sorted((root / "grid" / "more" / "s31" / "video").glob("*.mp4"))
    files = tuple(root / f.format(s31=s31[0].name if s31 else "(missing)") for f in BABBLE_CLIPS)
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise InputError(f"babble clips not found: {', '.join(missing)}")
    return files


def _cross_clips(root: Path) -> list[Clip]:
    clips = []
    for portrait, drive in CROSS_PAIRS:
        p, a = root / portrait, root / drive
        if not p.is_file() or not a.is_file():
            raise InputError(f"{p if not p.is_file() else a}: file of the cross set not found")
        words: tuple[AlignedWord, ...] = ()
        if drive.startswith("grid/"):
            align = a.parent.parent / "align" / f"{a.stem}.align"
            words = read_align(align) if align.is_file() else ()
        clips.append(Clip(name=f"{p.stem}+{a.stem}", set="cross", video=None, words=words, portrait=p, audio=a,
                          text=JFK_TRANSCRIPT if a.name == "jfk.flac" else None))
    return clips


#: GRID letters whose spoken name starts (b, p) or ends (m) with a bilabial.
_LETTER_ONSET = ("b", "p")
_LETTER_CODA = ("m",)


def bilabial_events(words: Sequence[AlignedWord], window_s: float = 0.08) -> list[tuple[float, float]]:
    """Approximate times of bilabial closures from a *word* alignment (no phones needed).

    A word spelled with an initial p, b or m (not "ph", "ps", "pn") closes the lips at its
    onset: the event is its first ``window_s``. A word ending in m, mb, p or b closes them at
    its end: the last ``window_s``. Spelled letters follow their names (GRID: "b", "p" at the
    onset, "m" at the end).

    Args:
        words: aligned words (seconds).
        window_s: event length (seconds).
    Returns:
        ``(start_s, end_s)`` per event, in time order.
    """
    events = []
    for w in words:
        s = w.word.lower()
        if len(s) == 1:
            onset, coda = s in _LETTER_ONSET, s in _LETTER_CODA
        else:
            onset = s[0] in "pbm" and not s.startswith(("ph", "ps", "pn"))
            coda = s.endswith(("m", "p", "b"))
        if onset:
            events.append((w.start_s, min(w.end_s, w.start_s + window_s)))
        if coda:
            events.append((max(w.start_s, w.end_s - window_s), w.end_s))
    return sorted(events)
