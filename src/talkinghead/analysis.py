"""The audio stage as the pipeline runs it: features, voice activity and phones of one utterance.

:func:`analyse_speech` runs it here; :func:`analysis_aside` runs it in a second process
(:mod:`talkinghead.aside`) while the caller does other work. Both are also reachable as
``talkinghead.pipeline.analyse_speech`` / ``analysis_aside`` (split out of ``pipeline.py``, which
had grown past 500 lines).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy and the data contracts are imported where used: the CLI imports this module to
    # start the analysis process before its own heavy imports (:func:`start_analysis`)
    import numpy as np

    from talkinghead.aside import Aside
    from talkinghead.pipeline import StageTimes
    from talkinghead.types import AudioFeatures, PhoneSegments, Speech

log = logging.getLogger("talkinghead")


@dataclass(frozen=True)
class Analysis:
    """What the audio stage found: features, voice activity and phones."""

    speech: Speech
    features: AudioFeatures
    active: np.ndarray
    phones: PhoneSegments


def analyse_speech(speech: Speech, transcript: str | None, mode: str, times: StageTimes | None = None,
                   known: PhoneSegments | None = None, processes: int = 2) -> Analysis:
    """Audio features, voice activity and phones for one utterance.

    Args:
        speech: mono speech (any rate; 16 kHz is best), float32 or int16 PCM. It is read as 16-bit
            PCM at 16 kHz (:func:`~talkinghead.audio.phones.pcm16_speech`: exact for a 16-bit source;
            others are rounded to 16 bits, -96 dBFS), the same wherever the analysis runs.
        transcript: the words spoken, if known (English).
        mode: one of :data:`PHONE_MODES`.
        times: optional stage timer.
        known: phones already known exactly (text to speech): used instead of ``mode``.
        processes: 1 where other work keeps the other cores busy: recognition, or the alignment of speech
            over 20 s, in this process; more: their chunks shared between forked copies of it
            (:func:`talkinghead.aside.fork_map`).
    Returns:
        The Analysis (its ``speech`` is the one given); ``phones.source`` says how phones were found
        (``"none"``: no phones).
    """
    from talkinghead.audio.features import compute_features, speech_activity
    from talkinghead.audio.phones import pcm16_speech
    from talkinghead.audio.recognition import RecognitionConfig, recognize
    from talkinghead.pipeline import StageTimes
    from talkinghead.types import InputError, PhoneSegments

    times = times or StageTimes()
    t = time.perf_counter()
    # The analysis reads 16-bit PCM wherever it runs (the analysis process gets the speech so, to
    # hold half the memory): the same result here, there and in the evaluation.
    pcm = pcm16_speech(speech)
    feats = compute_features(pcm)
    active = speech_activity(feats)
    times.add("audio_features", time.perf_counter() - t)
    t = time.perf_counter()
    none = PhoneSegments(segments=(), source="none")
    phones = none
    if mode == "auto":
        mode = "align" if transcript else "recognize"
    if known is not None:
        phones = known
    elif mode == "align":
        if not transcript:
            raise InputError("--phones align needs --transcript")
        phones = aligned_phones(pcm, transcript, processes)
    elif mode == "recognize":
        rec = recognize(pcm, feats, RecognitionConfig(processes=processes))
        if rec.reliable:
            phones = rec.phones
            log.info("recognised: %s", rec.transcript)
        else:
            log.info("speech recognition is unreliable here (not English?); the motion follows the audio alone")
    times.add("audio_phones", time.perf_counter() - t)
    return Analysis(speech=speech, features=feats, active=active, phones=phones)


def aligned_phones(speech: Speech, transcript: str, processes: int = 1) -> PhoneSegments:
    """The phones of ``transcript`` force-aligned to ``speech`` (:func:`talkinghead.audio.phones.align_transcript`),
    or none (``source="none"``, with a logged warning: the motion then follows the audio alone) where the
    alignment fails. ``processes``: as :func:`analyse_speech`. Seconds from the speech's start."""
    from talkinghead.audio.phones import AlignmentError, align_transcript
    from talkinghead.types import PhoneSegments

    try:
        return align_transcript(speech, transcript, processes=processes)
    except AlignmentError as e:
        log.warning("forced alignment failed (%s); the motion follows the audio alone", e)
        return PhoneSegments(segments=(), source="none")


def start_analysis(transcript: str | None, mode: str, known: PhoneSegments | None = None) -> Aside:
    """Start the second process of :func:`analysis_aside` before the speech is loaded.

    The child imports the audio analysis and loads the decoder that ``mode`` will need
    (:func:`warm_recognize`, :func:`warm_align` or :func:`warm_features`) while this process
    starts up; pass it to :func:`analysis_aside` as ``started``. Arguments as :func:`analyse_speech`.
    """
    from talkinghead.aside import Aside

    return Aside(_analyse_parts, what="speech analysis", warm=(f"{__name__}:{warm_up_for(transcript, mode, known)}",),
                 defer=True)


def warm_up_for(transcript: str | None, mode: str, known: PhoneSegments | None = None) -> str:
    """The name of the warm-up in this module that :func:`analyse_speech` with these arguments needs
    (``warm_align``, ``warm_recognize`` or ``warm_features``)."""
    if mode == "auto":
        mode = "align" if transcript else "recognize"
    return "warm_features" if known is not None or mode not in ("align", "recognize") else f"warm_{mode}"


def warm_features() -> None:
    """Import the audio features' code and run it once on 0.2 s of silence (a child's warm-up)."""
    import numpy as np

    from talkinghead.audio.features import compute_features, speech_activity
    from talkinghead.types import Speech

    speech_activity(compute_features(Speech(samples=np.zeros(3200, np.float32), sample_rate=16000)))


def warm_recognize() -> None:
    """:func:`warm_features` and the recognition decoder (:func:`~talkinghead.audio.recognition.load_recognizer`)."""
    from talkinghead.audio.recognition import load_recognizer

    warm_features()
    load_recognizer()


def warm_align() -> None:
    """:func:`warm_features` and the alignment decoder (:func:`~talkinghead.audio.phones.load_aligner`)."""
    from talkinghead.audio.phones import load_aligner

    warm_features()
    load_aligner()


@contextlib.contextmanager
def analysis_aside(speech: Speech, transcript: str | None, mode: str, known: PhoneSegments | None = None,
                   processes: int = 1, started: Aside | None = None,
                   reload: Callable[[], Speech] | None = None) -> Iterator[PendingAnalysis]:
    """Run :func:`analyse_speech` in a second process while the caller does other work.

    pocketsphinx holds the GIL for the whole decode (a Python thread beside it gets about a
    sixth of its usual share), so only a second process (:class:`talkinghead.aside.Aside`)
    overlaps speech recognition with work such as tracking a video's face (``processes=1``: the
    caller's work has the other core) or setting up a portrait (``processes=2``: brief work beside).

    Usage::

        with analysis_aside(speech, transcript, "auto") as analysis:
            ...                      # work that does not need the phones
            result = analysis(times) # waits; adds the child's stage times to ``times``

    Yields:
        A :class:`PendingAnalysis`: called as ``(times) -> Analysis``, it waits for the child and returns
        its result (the same as ``analyse_speech(speech, transcript, mode, times, known, processes)``).
    Raises:
        InputError: as :func:`analyse_speech` (re-raised from the child, when the function is called).
    ``started``: a child from :func:`start_analysis` (started early, warmed up) to send the call to.
    The child is ended when the block is left, called or not; where no second process can be
    started the analysis runs in this process when the function is called. Once the result is
    taken nothing here holds the speech any more (the caller may drop it: 230 MB an hour).
    ``reload``: where given, the speech is sent as the 16-bit PCM that :func:`analyse_speech` reads (half the
    memory in the child), nothing here holds it once it is sent
    (so the caller can drop it at once), the fallback in this process analyses ``reload()``, and the Analysis carries only the
    speech's length (:func:`length_only`).
    """
    from talkinghead.aside import Aside

    # Given back with the result and then let go: long speech is large.
    held = {"speech": speech if reload is None else length_only(speech)}

    here = None if reload is None else (lambda: (reload(), transcript, mode, known, processes))
    child = started if started is not None else Aside(_analyse_parts, what="speech analysis", defer=True)
    try:
        if reload is not None:
            # Sent as the 16-bit PCM the analysis reads: the child holds half the memory (an hour:
            # 115 MB instead of 230). Converted inside the block, so the child is ended if it fails;
            # while it converts this process holds both copies (1.5 times the float speech).
            from talkinghead.audio.phones import pcm16_speech

            speech = pcm16_speech(speech)
        child.call(speech, transcript, mode, known, processes, here=here)
        del speech
        yield PendingAnalysis(child, held)
    finally:
        child.close()


class PendingAnalysis:
    """What :func:`analysis_aside` yields: call it with a :class:`~talkinghead.pipeline.StageTimes` to wait
    for the Analysis; :meth:`running` says, without waiting, whether the second process is still at it."""

    def __init__(self, child: Aside, held: dict) -> None:
        self._child, self._held = child, held

    def __call__(self, times: StageTimes) -> Analysis:
        features, active, phones, seconds = self._child.result_or_here()
        for stage, dt in seconds.items():
            times.add(stage, dt)
        return Analysis(speech=self._held.pop("speech"), features=features, active=active, phones=phones)

    def running(self) -> bool:
        """True while the analysis process is working (it takes a core); False once it has ended or never started."""
        return self._child.running()


def length_only(speech: Speech) -> Speech:
    """``speech`` without its samples: a read-only broadcast of zeros of the same length and rate
    (what the motion and the writer need of speech once it is analysed; no memory)."""
    import numpy as np

    from talkinghead.types import Speech

    return Speech(np.broadcast_to(np.float32(0.0), np.shape(speech.samples)), speech.sample_rate)


def _analyse_parts(speech: Speech, transcript: str | None, mode: str, known: PhoneSegments | None,
                   processes: int) -> tuple:
    """:func:`analyse_speech` as :func:`analysis_aside` runs it: ``(features, active, phones, stage seconds)``."""
    from talkinghead.pipeline import StageTimes

    times = StageTimes()
    a = analyse_speech(speech, transcript, mode, times, known, processes)
    return a.features, a.active, a.phones, times.seconds
