"""Phones without a transcript: English word recognition with pocketsphinx, and its reliability.

:func:`recognize` / :func:`recognize_phones`: n-gram word recognition on speech chunks found
by :func:`~talkinghead.audio.features.speech_activity`, then forced alignment of the hypothesis
for phone timings (:mod:`talkinghead.audio.phones`, whose pocketsphinx plumbing this shares).
Decoder settings are tuned for speed (:class:`RecognitionConfig`); the result carries word
posteriors and a ``reliable`` flag, because recognition fails on non-English speech and unusual
grammar, and the caller should then use the language-independent acoustic path. The chunks of
long speech are shared between processes (:func:`~talkinghead.aside.fork_map`, or where it cannot
fork a second process, :class:`~talkinghead.aside.Aside`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import numpy as np

from talkinghead.audio.phones import (
    _HOP,
    _PS_RATE,
    DECODER_RATE,
    AlignmentError,
    WordSegment,
    _align_words,
    _base_word,
    _decode,
    _even_phones,
    _is_word,
    _lock,
    _phone_pass,
    _phones_from_alignment,
    _samples_16k,
    _t,
    _timeline,
    _to_pcm16,
)
from talkinghead.types import AudioFeatures, PhoneSegment, PhoneSegments, Speech

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecognitionConfig:
    """pocketsphinx word-recognition settings and the reliability rule.

    Defaults are tuned for speed on a 2-core CPU; :meth:`pocketsphinx_defaults` gives the
    library's own search settings. Word recognition matters here only for the phones it gives the
    learned model, so the search was narrowed by what those phones do to the mouth against real
    faces, not by word error (``python benchmarks/phone_sources.py``: landmark-space mouth r of the
    shipped model with each setting's phones, GRID s1 validation / unseen GRID speakers /
    interviews): ``maxhmmpf`` 4000 -> 1000 costs 31% less CPU (the 60 s clip: 12.4 -> 8.6 s) for
    0.914 / 0.720 / 0.352 -> 0.917 / 0.731 / 0.351; 500 (6.8 s) gave 0.915 / 0.725 / 0.350 but
    accepted Korean; ``fwdflat`` off (no second search pass) lost 0.015-0.036 on GRID s1; ``topn`` 2
    (7.6 -> 6.8 s) gave 0.920 / 0.726 / 0.350 and ``ds`` 2 (6.6 s) 0.916 / 0.724 / 0.320: not worth it.
    The language weight (``lw``; ``python benchmarks/phone_sources.py --sources
    auto,auto:lw=4,auto:lw=10``): pocketsphinx's 6.5 gave 0.917 / 0.731 / 0.351 (7.2-7.8 s), 4 gave
    0.923 / 0.730 / 0.340 (9.5-10.1 s), 10 gave 0.913 / 0.711 / 0.303 (6.1-6.6 s): its default stays.
    Earlier, by word changes: ``maxhmmpf`` 30000 -> 4000 (0.40 -> 0.16 RTF), ``maxwpf=5`` and
    ``wbeam=1e-20``; narrower ``beam``/``pbeam`` (1e-40 and tighter), ``ds=2`` or ``topn=2`` cost
    20-80% word changes for 20-40% less time.

    Reliability rule, measured with these defaults (``python benchmarks/phone_sources.py
    --languages``): mean word posteriors of the English clips 0.50-0.81 (JFK 0.50, accepted), of
    Mandarin, German, Russian, Japanese, Korean and Spanish 0.18-0.46 (rejected; with
    ``maxhmmpf`` 4000 Spanish scored 0.60 and was accepted, JFK 0.49 and was rejected); GRID's
    fixed grammar defeats the language model (word error 67-117% measured with 4000), so many of
    its clips are rejected.

    Attributes:
        beam: main pruning beam (probability ratio, 0 < beam < 1; smaller is wider).
        wbeam: word-exit beam.
        pbeam: phone-transition beam.
        maxhmmpf: maximum active HMMs per frame (the main cost cap).
        maxwpf: maximum distinct word exits per frame.
        fwdflat: run pocketsphinx's second, flat-lexicon search pass after the tree search.
        topn: Gaussians scored per codebook and frame (pocketsphinx ``-topn``; fewer is cheaper).
        ds: acoustic scoring every ``ds``-th frame (pocketsphinx ``-ds``; 1 = every frame).
        lw: language-model weight of the tree search (pocketsphinx ``-lw``, 6.5); the flat-lexicon and
            best-path passes' weights (8.5 and 9.5 by default) are scaled with it.
        max_chunk_s: longest chunk (s) decoded at once; longer speech is split at pauses.
        processes: 1 decodes every chunk in this process; more shares the chunks between processes
            (on Linux, forked: one more than the cores; elsewhere one second process). The result is the same.
        min_posterior: smallest duration-weighted mean word posterior of a reliable result.
        max_repeat_rate: largest fraction of immediately repeated words ("on on") of a reliable result.
        min_words_per_s: fewest words per second of detected speech of a reliable result.
    """

    beam: float = 1e-48
    wbeam: float = 1e-20
    pbeam: float = 1e-48
    maxhmmpf: int = 1000
    maxwpf: int = 5
    fwdflat: bool = True
    topn: int = 4
    ds: int = 1
    lw: float = 6.5
    max_chunk_s: float = 20.0
    processes: int = 2
    min_posterior: float = 0.5
    max_repeat_rate: float = 0.05
    min_words_per_s: float = 0.8

    @classmethod
    def pocketsphinx_defaults(cls) -> RecognitionConfig:
        """pocketsphinx 5's own search settings: about 3x slower, a little more accurate."""
        return cls(beam=1e-48, wbeam=7e-29, pbeam=1e-48, maxhmmpf=30000, maxwpf=-1)


@dataclass(frozen=True)
class Recognition:
    """Result of :func:`recognize`.

    Attributes:
        words: recognised words in time order (no silences or fillers).
        phones: phones covering the whole clip (``source="recognition"``), silences as ``"SIL"``.
        speech_s: seconds of detected speech (voice activity) in the clip.
        posterior: duration-weighted mean word posterior in [0, 1] (0 when no words).
        repeat_rate: fraction of words equal to the previous word, in [0, 1].
        reliable: whether the result passes :class:`RecognitionConfig`'s rule (enough words per
            second of speech, posterior high enough, few repeats). False typically means
            non-English speech, unusual grammar or heavy noise: use the acoustic path.
    """

    words: tuple[WordSegment, ...]
    phones: PhoneSegments
    speech_s: float
    posterior: float
    repeat_rate: float
    reliable: bool

    @property
    def transcript(self) -> str:
        """The recognised words joined by spaces."""
        return " ".join(w.word for w in self.words)

    @property
    def words_per_s(self) -> float:
        """Words per second of detected speech (0 with no speech)."""
        return len(self.words) / self.speech_s if self.speech_s > 0 else 0.0


def recognize(
    speech: Speech,
    features: AudioFeatures | None = None,
    config: RecognitionConfig = RecognitionConfig(),
) -> Recognition:
    """Recognise English words and their phones with pocketsphinx's n-gram decoder.

    The clip is cut at pauses found by :func:`~talkinghead.audio.features.speech_activity`
    into chunks of at most ``config.max_chunk_s`` (longer stretches are cut at their quietest
    frame), each decoded separately (so memory does not grow with the clip), then the
    hypothesis of each chunk is force-aligned for phone timings. Reliability rule: at least
    ``min_words_per_s`` words per second of speech, duration-weighted mean lattice posterior at
    least ``min_posterior`` and at most ``max_repeat_rate`` immediately repeated words.

    Args:
        speech: mono speech (float32, or int16 PCM: :class:`~talkinghead.types.Speech`) at any sample
            rate (resampled to 16 kHz internally).
        features: features of the same speech, if already computed (saves ~0.01 RTF).
        config: decoder and reliability settings.

    Returns:
        :class:`Recognition` with words, phones (``source="recognition"``, covering the clip),
        and the reliability measures. Never raises for speech it cannot recognise: it
        returns ``reliable=False`` (with no words if nothing was recognised).

    Raises:
        ValueError: samples are not one-dimensional or the sample rate is invalid.
    """
    from talkinghead.audio.features import compute_features, speech_activity

    if features is None:
        features = compute_features(speech)
    active = speech_activity(features)
    speech_s = float(active.sum()) / features.frame_rate
    # The decoder's 16-bit input a chunk at a time (where the speech is at 16 kHz no copy of it is made).
    x = _samples_16k(speech)
    duration = speech.duration_s
    words: list[WordSegment] = []
    phones: list[PhoneSegment] = []
    spans = [(a * _HOP, min(len(x), b * _HOP))
             for a, b in _chunks(active, features.energy, int(round(config.max_chunk_s * _PS_RATE)))]
    spans = [(s0, s1) for s0, s1 in spans if s1 - s0 >= DECODER_RATE // 10]
    for w, p in _recognize_spans(x, spans, config):
        words.extend(w)
        phones.extend(p)
    posterior = 0.0
    if words:
        dur = np.array([max(w.end_s - w.start_s, 0.01) for w in words])
        posterior = float(np.dot(dur, [w.posterior for w in words]) / dur.sum())
    names = [w.word for w in words]
    repeat_rate = float(np.mean([x == y for x, y in zip(names[:-1], names[1:])])) if len(names) > 1 else 0.0
    words_per_s = len(words) / speech_s if speech_s > 0 else 0.0
    reliable = (
        bool(words)
        and words_per_s >= config.min_words_per_s
        and posterior >= config.min_posterior
        and repeat_rate <= config.max_repeat_rate
    )
    return Recognition(
        words=tuple(words),
        phones=PhoneSegments(segments=_timeline(phones, duration), source="recognition"),
        speech_s=speech_s,
        posterior=posterior,
        repeat_rate=repeat_rate,
        reliable=reliable,
    )


def recognize_phones(
    speech: Speech,
    features: AudioFeatures | None = None,
    config: RecognitionConfig = RecognitionConfig(),
) -> PhoneSegments:
    """Phones of :func:`recognize` (``source="recognition"``); use :func:`recognize` to judge reliability."""
    return recognize(speech, features, config).phones


def _recognize_spans(pcm: np.ndarray, spans: list[tuple[int, int]], config: RecognitionConfig
                     ) -> list[tuple[list[WordSegment], list[PhoneSegment]]]:
    """Words and phones of each chunk ``pcm[s0:s1]`` (16 kHz, int16 or float in [-1, 1]), in order.

    With ``config.processes`` over 1 and more than one chunk the chunks are shared between
    processes (pocketsphinx holds the GIL, hence processes, not threads):

    - on Linux, :func:`talkinghead.aside.fork_map`: up to one more forked copy of this process than
      it has cores, each taking the longest chunk left (the decoder, loaded here first, and the
      samples are theirs at the fork; the OS shares the cores, so three chunks on two cores take
      half the time of all three, not two thirds);
    - elsewhere (or where other threads run here), a second process
      (:class:`talkinghead.aside.Aside`) decodes the last chunks (about half the audio, sent as int16)
      while this one decodes the first.

    Each chunk is decoded from a reset feature state (:func:`_decode`), so the result does not depend
    on how the chunks are shared.
    """
    split = len(spans)
    if config.processes > 1 and len(spans) > 1:
        from talkinghead.aside import fork_map

        load_recognizer(config)  # once, here: the forked workers share it
        done = fork_map(partial(_recognize_one, pcm, config=config), spans, what="speech recognition",
                        cost=lambda span: span[1] - span[0])
        if done is not None:
            return done
        lengths = np.array([s1 - s0 for s0, s1 in spans], np.float64)
        before = np.cumsum(lengths)[:-1]  # audio in chunks [0, k) for k = 1..n-1
        split = 1 + int(np.argmin(np.maximum(before, lengths.sum() - before)))
    child = None
    if split < len(spans):
        from talkinghead.aside import Aside

        s0 = spans[split][0]

        def later() -> tuple:  # int16 either way: the speech's own PCM, or float made the decoder's input here
            part = pcm[s0:spans[-1][1]]
            ready = part.dtype != np.int16
            return (_to_pcm16(part) if ready else part, [(a - s0, b - s0) for a, b in spans[split:]],
                    s0 / DECODER_RATE, config, ready)

        child = Aside(_recognize_span_list, *later(), what="recognition of the later chunks", here=later)
    try:
        done = _recognize_span_list(pcm, spans[:split], 0.0, config)
        return done + (child.result_or_here() if child is not None else [])
    finally:
        if child is not None:
            child.close()


def _recognize_one(pcm: np.ndarray, span: tuple[int, int], config: RecognitionConfig
                   ) -> tuple[list[WordSegment], list[PhoneSegment]]:
    """Words and phones of the one chunk ``pcm[s0:s1]`` (a :func:`_recognize_spans` worker's part)."""
    return _recognize_span_list(pcm, [span], 0.0, config)[0]


def _recognize_span_list(pcm: np.ndarray, spans: list[tuple[int, int]], offset_s: float, config: RecognitionConfig,
                         ready: bool = False) -> list[tuple[list[WordSegment], list[PhoneSegment]]]:
    """Each chunk ``pcm[s0:s1]`` (16 kHz, int16 PCM or float; ``ready``: int16 that already is the decoder's
    input, :func:`_to_pcm16`'s output) recognised in turn (times from ``offset_s``)."""
    with _lock:
        decoder = _recognition_decoder(config.beam, config.wbeam, config.pbeam, config.maxhmmpf, config.maxwpf, config.fwdflat,
                                       config.topn, config.ds, config.lw)
        return [_recognize_chunk(decoder, pcm[s0:s1] if ready else _to_pcm16(pcm[s0:s1]), offset_s + s0 / DECODER_RATE)
                for s0, s1 in spans]


def _recognize_chunk(decoder: Any, pcm: np.ndarray, offset_s: float) -> tuple[list[WordSegment], list[PhoneSegment]]:
    decoder.activate_search()  # back to the n-gram search after an alignment pass
    _decode(decoder, pcm)
    words: list[WordSegment] = []
    spelled: list[str] = []
    for seg in decoder.seg() or ():  # None where the search found no hypothesis
        if not _is_word(seg.word):
            continue
        start, end = _t(offset_s, seg.start_frame), _t(offset_s, seg.end_frame + 1)
        words.append(WordSegment(_base_word(seg.word), start, end, float(np.clip(seg.prob, 0.0, 1.0))))
        spelled.append(seg.word)
    if not words:
        return [], []
    # Phone pass straight on the recognised hypothesis (saves the word pass of a fresh alignment).
    alignment = _phone_pass(decoder, pcm)
    if alignment is not None:
        return words, _phones_from_alignment(alignment, offset_s)
    try:
        _, phones = _align_words(decoder, pcm, " ".join(w.word for w in words), offset_s)
    except AlignmentError:
        log.debug("alignment of the recognised words failed; spreading phones evenly over each word")
        phones = _even_phones(decoder, words, spelled)
    return words, phones


def _chunks(active: np.ndarray, energy: np.ndarray, max_frames: int, pad: int = 20) -> list[tuple[int, int]]:
    """Frame ranges ``[a, b)`` covering all speech, cut in pauses, each at most ``max_frames + 2 pad`` long."""
    from talkinghead.audio.features import true_runs

    regions = true_runs(active)
    # Split over-long regions at their quietest frame in the second half of each window.
    pieces: list[tuple[int, int]] = []
    for a, b in regions:
        while b - a > max_frames:
            lo = a + max_frames // 2
            cut = lo + int(np.argmin(energy[lo : a + max_frames]))
            pieces.append((a, cut))
            a = cut
        pieces.append((a, b))
    chunks: list[tuple[int, int]] = []
    for a, b in pieces:
        if chunks and b - chunks[-1][0] <= max_frames:
            chunks[-1] = (chunks[-1][0], b)
        else:
            chunks.append((a, b))
    n = len(active)
    return [(max(0, a - pad), min(n, b + pad)) for a, b in chunks]


def load_recognizer(config: RecognitionConfig = RecognitionConfig()) -> None:
    """Load the decoder and its English trigram model now (about 0.2 s, once per process), not at the first :func:`recognize`."""
    _recognition_decoder(config.beam, config.wbeam, config.pbeam, config.maxhmmpf, config.maxwpf, config.fwdflat,
                         config.topn, config.ds, config.lw)


@lru_cache(maxsize=2)
def _recognition_decoder(beam: float, wbeam: float, pbeam: float, maxhmmpf: int, maxwpf: int, fwdflat: bool = True,
                         topn: int = 4, ds: int = 1, lw: float = 6.5) -> Any:
    """Decoder with the bundled English trigram model (built once per setting)."""
    import pocketsphinx

    return pocketsphinx.Decoder(
        samprate=DECODER_RATE,
        loglevel="FATAL",
        beam=beam,
        wbeam=wbeam,
        pbeam=pbeam,
        maxhmmpf=maxhmmpf,
        maxwpf=maxwpf,
        fwdflat=fwdflat,
        topn=topn,
        ds=ds,
        lw=lw,
        fwdflatlw=lw * 8.5 / 6.5,
        bestpathlw=lw * 9.5 / 6.5,
    )
