"""Speech too long to hold whole, made in segments: memory that stays flat however long it is.

Up to :data:`LONG_SPEECH_S` of speech is analysed whole (:func:`talkinghead.pipeline.generate`; a
file is judged by the duration its header states, with 5% and 1 s of slack: 631 s for 600).
Longer speech without a transcript is decoded as a stream (:class:`SpeechSegments`) and cut about
every :data:`SEGMENT_S` at its quietest moment within :data:`SEARCH_S` of the mark (a pause, where
the mouth rests). Each segment, with :data:`OVERLAP_S` more on each side of a cut, is analysed,
moved and rendered on its own, and the two motions over an overlap are cross-faded
(:func:`talkinghead.motion.joins.cross_fade`), as the learned model's own windows are joined. The
next segment is analysed in a second process while this one renders. What changes against
analysing the whole: voice activity's thresholds, the network's input normalisation (already per
60 s window) and the head pose's statistics come from two minutes of speech instead of all of it.
Speech with a transcript is aligned whole first (in chunks: :mod:`talkinghead.audio.long_align`);
its phones are then cut with the segments (:func:`phones_within`), and the segments are made as above.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from talkinghead.audio.features import ANALYSIS_RATE
from talkinghead.types import InputError, MotionSequence, PhoneSegment, PhoneSegments, Speech

if TYPE_CHECKING:
    from talkinghead.aside import Aside
    from talkinghead.media.audio import AudioTrack
    from talkinghead.person.model import PersonModel
    from talkinghead.pipeline import GenerateConfig, StageTimes

log = logging.getLogger("talkinghead")

#: Speech longer than this (s) is made in segments (when it comes without a transcript).
LONG_SPEECH_S = 600.0
#: Length (s) of a segment, about: each cut moves to the quietest moment within SEARCH_S of its mark.
SEGMENT_S = 120.0
#: How far (s) a cut may move from its mark to find a quiet moment.
SEARCH_S = 10.0
#: Speech (s) on each side of a cut that both segments analyse; their motions are cross-faded over it.
OVERLAP_S = 2.0


@dataclass(frozen=True)
class SpeechSegment:
    """One segment of long speech.

    Attributes:
        first_frame: the video frame at which its samples start.
        speech: its samples (mono float32 at :data:`ANALYSIS_RATE`), from ``first_frame`` to ``cut`` plus the
            overlap (to the end of the speech for the last segment).
        cut: the video frame at the middle of the overlap with the next segment (None: the last).
        frames: for the last segment, how many frames it must give so that the video has as many as
            the whole speech would (:func:`~talkinghead.motion.rules.num_video_frames`); None otherwise.
    """

    first_frame: int
    speech: Speech
    cut: int | None
    frames: int | None = None


class SpeechSegments:
    """A speech file decoded as a stream and cut into overlapping segments at quiet moments.

    The samples are those :func:`~talkinghead.media.audio.load_speech` gives (the same decoder, bit
    for bit); memory holds up to about one and a half segments of it (and, for a file that states no duration, up to
    :data:`LONG_SPEECH_S` at first, to tell whether it is long). Use :meth:`whole` first, then iterate.

    Args:
        path: the speech file (any format :func:`~talkinghead.media.audio.load_speech` reads).
        fps: video frame rate: segments start and are cut on frame boundaries.
        long_s, segment_s, search_s, overlap_s: see :data:`LONG_SPEECH_S` and the others (None: those).
    Raises:
        InputError: as :func:`~talkinghead.media.audio.load_speech` (while reading: a long file that
            turns out silent throughout, when its end is reached).
    """

    def __init__(self, path: str | os.PathLike[str], fps: float, long_s: float | None = None,
                 segment_s: float | None = None, search_s: float | None = None, overlap_s: float | None = None) -> None:
        from talkinghead.media.audio import AudioTrack

        self.path, self.fps = Path(path), float(fps)
        # The module's constants as they are when called (a test may shorten them).
        self.long_s = LONG_SPEECH_S if long_s is None else long_s
        segment_s = SEGMENT_S if segment_s is None else segment_s
        search_s = SEARCH_S if search_s is None else search_s
        overlap_s = OVERLAP_S if overlap_s is None else overlap_s
        self.segment, self.search, self.overlap = (max(1, int(round(s * fps))) for s in (segment_s, search_s, overlap_s))
        if self.search >= self.segment // 2 or self.overlap >= self.search:
            raise ValueError("segments need overlap < search < segment / 2")
        if self.path.is_dir():
            raise InputError(f"{self.path}: is a directory, not an audio file")
        self.reader: AudioTrack = AudioTrack(path, speech_rate=ANALYSIS_RATE)
        self._buf = np.zeros(0, np.float32)  # samples from frame self._start on
        self._start = 0
        self._ended = False
        self.peak = 0.0

    def close(self) -> None:
        """Release the decoder. Idempotent."""
        self.reader.close()

    def __enter__(self) -> SpeechSegments:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sample(self, frame: int) -> int:
        """The first sample of a video frame."""
        return int(round(frame * ANALYSIS_RATE / self.fps))

    def _fill(self, samples: int) -> None:
        """Decode until the buffer holds ``samples`` samples (or the speech ends)."""
        from talkinghead.media.audio import finite_peak

        want = samples - len(self._buf)
        if want <= 0 or self._ended:
            return
        block = self.reader.read(want)[0]
        if len(block) < want:
            self._ended = True
        if len(block):
            self.peak = max(self.peak, finite_peak(block, self.path))
            self._buf = np.concatenate([self._buf, block])

    def whole(self) -> Speech | None:
        """The whole speech if it lasts at most ``long_s`` (checked as :func:`load_speech` checks it), else None.

        A file is taken at its header's word: one that states a duration well over ``long_s`` is long
        (nothing is read yet), one that states a shorter one is loaded whole by :func:`load_speech`
        (as before there were segments). Only where none is stated, up to ``long_s`` is read to see
        whether it ends.
        """
        from talkinghead.media.audio import checked_speech, load_speech

        stated = self.reader.stated_s
        if stated > 1.05 * self.long_s + 1.0:
            return None
        if stated > 0:
            return load_speech(self.path)
        self._fill(int(self.long_s * ANALYSIS_RATE) + 1)
        if not self._ended:
            return None
        speech, self._buf = self._buf, np.zeros(0, np.float32)  # handed over: not held here while it renders
        self.close()
        return checked_speech(speech, ANALYSIS_RATE, self.path)

    def __iter__(self) -> Iterator[SpeechSegment]:
        """The segments in order: each ends ``overlap`` frames past its cut, and the next starts ``overlap`` before it."""
        first, mark = 0, self.segment
        while True:
            # Enough to cut within the search window and add the overlap, or to see the end coming
            # within half a segment past the mark (a short last segment is joined to this one).
            self._fill(self._sample(mark + max(self.search + self.overlap, self.segment // 2)) - self._sample(self._start))
            end = self._start + int(len(self._buf) * self.fps / ANALYSIS_RATE)  # frames held, to the last whole one
            if self._ended and end <= mark + self.segment // 2:
                from talkinghead.media.audio import SILENCE_PEAK

                if self.peak < SILENCE_PEAK:
                    raise InputError(f"{self.path}: audio is silent (peak {self.peak:.1e} < {SILENCE_PEAK:.0e} throughout)")
                from talkinghead.motion.rules import num_video_frames

                samples = self._buf[self._sample(first) - self._sample(self._start):]
                total = num_video_frames((self._sample(self._start) + len(self._buf)) / ANALYSIS_RATE, self.fps)
                yield SpeechSegment(first, Speech(samples.copy(), ANALYSIS_RATE), None, frames=total - first)
                return
            cut = self._quietest(mark - self.search, mark + self.search)
            at = self._sample(self._start)
            yield SpeechSegment(first, Speech(self._buf[self._sample(first) - at:self._sample(cut + self.overlap) - at].copy(), ANALYSIS_RATE), cut)
            first, mark = cut - self.overlap, cut + self.segment
            self._buf = self._buf[self._sample(first) - at:].copy()
            self._start = first

    def _quietest(self, lo: int, hi: int) -> int:
        """The frame in ``[lo, hi)`` at the middle of the quietest 0.2 s (mean power over frames)."""
        at = self._sample(self._start)
        starts = np.array([self._sample(f) - at for f in range(lo, hi + 1)])
        x = self._buf[starts[0]:starts[-1]].astype(np.float64)
        power = np.add.reduceat(x * x, starts[:-1] - starts[0]) / np.diff(starts)
        k = max(1, int(round(0.2 * self.fps)))
        kernel = np.ones(k)
        smooth = np.convolve(power, kernel, mode="same") / np.convolve(np.ones_like(power), kernel, mode="same")
        return lo + int(np.argmin(smooth))


def make_long(segments: SpeechSegments, image: np.ndarray, audio: str | os.PathLike[str], output: Path,
              config: GenerateConfig, bar: object | None, source: str, times: StageTimes,
              person: PersonModel | None = None, processes: int = 2, started: Aside | None = None,
              keep_motion: bool = False, phones: PhoneSegments | None = None
              ) -> tuple[StageTimes, MotionSequence | None]:
    """Render long speech segment by segment into ``output`` (what :func:`~talkinghead.pipeline.generate`
    does for speech over :data:`LONG_SPEECH_S`).

    Args:
        segments: the speech, after :meth:`SpeechSegments.whole` said it is long.
        image: the portrait (uint8 RGB); ``source`` names it in errors.
        audio: the speech file: the output plays its own sound.
        output: the mp4 to write (atomically).
        config: generation settings.
        bar: the job's progress bar (or None).
        times: stage times so far (loading), merged into the pipeline's.
        person, processes, started: as :func:`~talkinghead.pipeline.generate`.
        keep_motion: also return the whole motion (for ``--motion-out``; it grows with the length).
        phones: the whole speech's phones, where known (aligned to a transcript): each segment is
            given its own part of them (:func:`phones_within`) instead of finding its own.
    Returns:
        ``(stage times, the whole motion or None)``.
    """
    from talkinghead.media.audio import AudioTrack
    from talkinghead.pipeline import TalkingHeadPipeline, load_motion_model, times_merge
    from talkinghead.render.workers import render_processes

    log.info("%s: over %.0f s of speech, made in segments of about %.0f s", segments.path, segments.long_s,
             segments.segment / segments.fps)
    with contextlib.ExitStack() as stack:
        parts = iter(segments)
        segment = next(parts)
        first = contextlib.ExitStack()  # the first analysis: ended by _motion once its result is in
        stack.callback(first.close)
        wait = first.enter_context(_analysed(segment, config, processes, started, phones=phones))
        pipe = TalkingHeadPipeline(image, config, source=source, person=person)
        pipe.times = times_merge(times, pipe.times)
        t = time.perf_counter()
        load_motion_model(config)
        pipe.times.add("motion", time.perf_counter() - t)
        kept: list[MotionSequence] | None = [] if keep_motion else None
        motion = stack.enter_context(contextlib.closing(
            _motion(pipe, parts, segment, wait, first, config, processes, bar, kept, phones)))
        with AudioTrack(audio) as sound:
            pipe.write(motion, sound, output, progress=getattr(bar, "update", None),
                       render_processes=render_processes(processes, int(segments.long_s * config.fps)))
    return pipe.times, (MotionSequence.concatenate(kept) if kept else None)


def _motion(pipe: object, parts: Iterator[SpeechSegment], segment: SpeechSegment, wait: Callable,
            nxt_stack: contextlib.ExitStack, config: GenerateConfig, processes: int, bar: object | None,
            kept: list[MotionSequence] | None, phones: PhoneSegments | None = None) -> Iterator[MotionSequence]:
    """The motion of the segments, in pieces, cross-faded over their overlaps. ``wait`` gives the first
    segment's analysis (``nxt_stack`` ends its process); each next segment's analysis is started
    once this one's first piece is handed over (it runs while this one renders), in a process that recognises
    alone (forked decoders beside the rendering would take memory, not time: 900 s took as long)."""
    from talkinghead.analysis import length_only

    tail: MotionSequence | None = None
    index = 0
    try:
        while True:
            analysis = wait(pipe.times)  # type: ignore[attr-defined]
            analysis = replace(analysis, speech=length_only(analysis.speech))
            nxt = next(parts, None)
            done, nxt_stack = nxt_stack, contextlib.ExitStack()
            done.close()  # the finished analysis process
            # Each segment its own head wander and blinks (one seed for all would repeat them every segment).
            pipe.config = replace(config, seed=config.seed + index)  # type: ignore[attr-defined]
            index += 1
            if bar is not None and tail is None:
                bar.set_description_str("rendering")  # type: ignore[attr-defined]
            # The next segment's analysis starts once a piece of this one has been handed over: the
            # writer forks its rendering processes before it asks for the second piece, so none is
            # forked beside that analysis' sender thread (a fork with other threads running is unsafe).
            stop = segment.frames if nxt is None else nxt.first_frame - segment.first_frame
            rest: list[MotionSequence] = []
            started_next = nxt is None
            for out in _shown(pipe.motion_pieces(analysis), tail, stop, rest, pad=nxt is None):  # type: ignore[attr-defined]
                yield _kept(out, kept)
                if not started_next:
                    wait, started_next = nxt_stack.enter_context(
                        _analysed(nxt, config, processes, None, forks=False, phones=phones)), True
            del analysis
            if not started_next:  # nothing of this segment to show
                wait = nxt_stack.enter_context(_analysed(nxt, config, processes, None, forks=False, phones=phones))
            if nxt is None:
                return
            tail = MotionSequence.concatenate(rest)  # a copy: the segment's pieces are let go
            segment = replace(nxt, speech=length_only(nxt.speech))  # its analysis has the samples
    finally:
        nxt_stack.close()


def _shown(pieces: Iterator[MotionSequence], head: MotionSequence | None, stop: int | None,
           rest: list[MotionSequence], pad: bool) -> Iterator[MotionSequence]:
    """A segment's motion pieces (made as they are asked for) as they are shown: its first frames
    cross-faded with ``head`` (the last segment's tail, None for the first), then the frames up to
    ``stop`` (a frame index in the segment; None: all). Frames past ``stop`` are added to ``rest``;
    with ``pad``, a segment that ends short of ``stop`` repeats its last frame up to it (rounding:
    one frame at most)."""
    from talkinghead.motion.joins import cross_fade

    pos, last = 0, None
    for piece in pieces:
        if head is not None:
            if piece.num_frames < head.num_frames:
                raise RuntimeError("a segment's first motion piece is shorter than the overlap")
            yield cross_fade(head, piece.slice(0, head.num_frames))
            pos, piece, head = head.num_frames, piece.slice(head.num_frames), None
        keep = piece.num_frames if stop is None else min(piece.num_frames, max(stop - pos, 0))
        if keep:
            yield piece.slice(0, keep)
        if keep < piece.num_frames:
            rest.append(piece.slice(keep))
        pos += piece.num_frames
        last = piece.slice(piece.num_frames - 1) if piece.num_frames else last
    if pad and stop is not None and pos < stop and last is not None:
        yield MotionSequence.concatenate([last] * (stop - pos))


def _kept(piece: MotionSequence, kept: list[MotionSequence] | None) -> MotionSequence:
    """``piece``, with a copy of it added to ``kept`` (the whole motion, for ``--motion-out``) where that is a list."""
    if kept is not None:
        kept.append(MotionSequence.concatenate([piece]))
    return piece


@contextlib.contextmanager
def _analysed(segment: SpeechSegment, config: GenerateConfig, processes: int,
              started: Aside | None, forks: bool = True, phones: PhoneSegments | None = None) -> Iterator[Callable]:
    """A segment's :func:`~talkinghead.analysis.analyse_speech` (no transcript), running in a second process
    (``started``, or a new one) where ``processes`` > 1 or one was started, in this one otherwise: yields the
    function that waits for it, ``(times) -> Analysis``. ``forks``: the second process may share recognition
    with forked copies of itself (else it recognises alone: ``processes=1`` in
    :func:`~talkinghead.analysis.analysis_aside`). ``phones``: the whole speech's known phones, of which the
    segment is given its part."""
    from talkinghead.analysis import analyse_speech, analysis_aside
    from talkinghead.audio.phones import pcm16_speech

    known = None if phones is None else phones_within(phones, segment.first_frame / config.fps,
                                                       segment.speech.duration_s)
    if processes > 1 or started is not None:
        with analysis_aside(segment.speech, None, config.phones, known=known, processes=processes if forks else 1,
                            started=started) as pending:
            yield pending
    else:
        pcm = pcm16_speech(segment.speech)
        yield lambda times: analyse_speech(pcm, None, config.phones, times, known=known, processes=1)


def phones_within(phones: PhoneSegments, start_s: float, duration_s: float) -> PhoneSegments:
    """The phones of ``[start_s, start_s + duration_s)`` of the speech, in seconds from ``start_s``.

    Args:
        phones: the whole speech's phones (seconds from its start).
        start_s, duration_s: the part (s, >= 0).
    Returns:
        The phones that overlap it, cut at its ends, with the same ``source``.
    """
    end_s = start_s + duration_s
    return PhoneSegments(tuple(PhoneSegment(p.phone, max(p.start_s, start_s) - start_s, min(p.end_s, end_s) - start_s)
                               for p in phones.segments if p.end_s > start_s and p.start_s < end_s),
                         phones.source)


def aligned_whole(audio: str | os.PathLike[str], transcript: str, processes: int, times: StageTimes) -> PhoneSegments:
    """The phones of ``transcript`` aligned to the whole speech file (long speech, before it is made in
    segments: :func:`talkinghead.pipeline.generate`; :func:`talkinghead.analysis.aligned_phones`: none
    where the alignment fails). Only the alignment, no features: where ``processes`` > 1 in a second
    process of its own (sent the 16-bit samples, 115 MB an hour, and sharing the chunks with forked
    copies of itself; in this process where none can start), else here. Reading the file is added to
    ``times`` as ``load``, the alignment as ``audio_phones``.

    Raises:
        InputError: the file cannot be read as speech (:func:`~talkinghead.media.audio.load_speech`).
    """
    from talkinghead.analysis import aligned_phones
    from talkinghead.aside import Aside
    from talkinghead.audio.phones import pcm16_speech
    from talkinghead.media.audio import load_speech

    def args() -> tuple:
        return pcm16_speech(load_speech(audio)), transcript, processes

    t = time.perf_counter()
    call = args()
    times.add("load", time.perf_counter() - t)
    t = time.perf_counter()
    if processes > 1:
        with Aside(aligned_phones, *call, what="forced alignment", here=args) as child:
            del call  # sent: nothing here holds the samples
            phones = child.result_or_here()
    else:
        phones = aligned_phones(*call)
    times.add("audio_phones", time.perf_counter() - t)
    return phones
