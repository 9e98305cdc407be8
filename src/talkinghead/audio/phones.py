"""Phones with timings from speech: forced alignment of a known transcript, or word recognition.

Both use pocketsphinx (CMU Sphinx, Huggins-Daines et al., ICASSP 2006) with its bundled US
English acoustic model, CMU pronouncing dictionary and trigram language model (DESIGN.md,
"Dependencies"). Phones are ARPAbet without stress digits; silence and noise are ``"SIL"``.

- :func:`align` / :func:`align_transcript`: text known -> two decoding passes (word
  alignment, then phone/state alignment). Measured 0.03 real-time factor (RTF) on 11 s and
  on 3 s GRID clips, 0.045-0.065 on 60 s; word boundaries within 25 ms of GRID's own
  alignments on average (40 clips; median 10 ms).
- :func:`recognize` / :func:`recognize_phones`: no text -> n-gram word recognition on
  speech chunks found by :func:`~talkinghead.audio.features.speech_activity`, then forced
  alignment of the hypothesis for phone timings. Decoder settings are tuned for speed
  (:class:`RecognitionConfig`); the result carries word posteriors and a ``reliable`` flag,
  because recognition fails on non-English speech and unusual grammar, and the caller should
  then use the language-independent acoustic path.

pocketsphinx is imported inside the functions; decoders are built on first use (0.1-0.3 s)
and cached per process. Calls are serialised by a lock (a decoder is not thread-safe).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from math import gcd
from typing import TYPE_CHECKING, Any

import numpy as np

from talkinghead.types import AudioFeatures, PhoneSegment, PhoneSegments, Speech

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

log = logging.getLogger(__name__)

#: Sample rate pocketsphinx's acoustic model expects (Hz).
DECODER_RATE = 16000
#: pocketsphinx frame rate (frames per second) and hop in samples.
_PS_RATE = 100.0
_HOP = DECODER_RATE // 100
#: Silence / non-speech phone label.
SIL = "SIL"

_lock = threading.RLock()


class AlignmentError(RuntimeError):
    """Forced alignment or recognition could not produce phones (no usable words, or the decoder gave up).

    Callers fall back to another phone source or to the acoustic path.
    """


@dataclass(frozen=True)
class RecognitionConfig:
    """pocketsphinx word-recognition settings and the reliability rule.

    Defaults are tuned for speed on a 2-core CPU; :meth:`pocketsphinx_defaults` gives the
    library's own search settings. Measured with :func:`recognize` (voice activity, chunking,
    n-gram pass and phone pass) on 18 clips (12 speech clips in 8 languages, 6 GRID), CPU
    seconds per audio second: these defaults 0.16 RTF, pocketsphinx defaults 0.41 RTF. Word
    error on JFK 41% vs 23%; on four other English clips the words differ from the default
    decoder's by 0-14% (mean 6%). For the n-gram pass alone (whole clips): ``maxhmmpf``
    30000 -> 4000 is the big saving (0.40 -> 0.16), ``maxwpf=5`` and ``wbeam=1e-20`` save a
    little more at little measurable cost; ``maxhmmpf`` 2000 gives 0.12 with about 9% more word
    changes, 1000 gives 0.10 with 20%; narrower ``beam``/``pbeam`` (1e-40 and tighter), ``ds=2``
    or ``topn=2`` cost 20-80% word changes for 20-40% less time.

    Reliability rule, measured with these defaults: posteriors of English clips 0.53-0.79
    (JFK 0.53, the lowest), of Mandarin, German, Russian, Japanese 0.23-0.33 (rejected),
    Korean 0.50 but 17% repeated words (rejected), Spanish 0.60 (wrongly accepted); GRID's
    fixed grammar defeats the language model (word error 67-117%) and 5 of 6 clips are rejected.

    Attributes:
        beam: main pruning beam (probability ratio, 0 < beam < 1; smaller is wider).
        wbeam: word-exit beam.
        pbeam: phone-transition beam.
        maxhmmpf: maximum active HMMs per frame (the main cost cap).
        maxwpf: maximum distinct word exits per frame.
        max_chunk_s: longest chunk (s) decoded at once; longer speech is split at pauses.
        processes: processes that decode chunks at once (1 or 2; the result is the same).
        min_posterior: smallest duration-weighted mean word posterior of a reliable result.
        max_repeat_rate: largest fraction of immediately repeated words ("on on") of a reliable result.
        min_words_per_s: fewest words per second of detected speech of a reliable result.
    """

    beam: float = 1e-48
    wbeam: float = 1e-20
    pbeam: float = 1e-48
    maxhmmpf: int = 4000
    maxwpf: int = 5
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
class WordSegment:
    """One word: lowercase dictionary spelling, times in seconds, lattice posterior in [0, 1] (1.0 when aligned)."""

    word: str
    start_s: float
    end_s: float
    posterior: float


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


# --------------------------------------------------------------------------- text


_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SYMBOLS = {"&": " and ", "%": " percent ", "+": " plus ", "@": " at ", "=": " equals "}


def _number_words(n: int) -> list[str]:
    """English words for a non-negative integer; years read as pairs, long numbers digit by digit."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        return [_ONES[n // 100], "hundred"] + (_number_words(n % 100) if n % 100 else [])
    if n < 10000:
        hi, lo = divmod(n, 100)
        if (1100 <= n < 2000 or 2010 <= n < 2100) and lo:  # 1961 -> nineteen sixty one
            return _number_words(hi) + (["oh"] if lo < 10 else []) + _number_words(lo)
        if 1100 <= n < 2000 and not lo:  # 1900 -> nineteen hundred
            return _number_words(hi) + ["hundred"]
        th, rest = divmod(n, 1000)
        return _number_words(th) + ["thousand"] + (_number_words(rest) if rest else [])
    return [_ONES[int(d)] for d in str(n)]


def normalize_transcript(text: str) -> list[str]:
    """Split text into lowercase words as spelled in the pronouncing dictionary.

    Accents are removed (NFKD), curly apostrophes straightened, word-internal apostrophes kept
    ("don't"), other punctuation and hyphens separate words, ``& % + @ =`` become words, and
    numbers are spelled out (0-9999 as English words, "1961" as "nineteen sixty one", "2nd" as
    "second", decimals as "three point five", longer numbers digit by digit). Letters outside a-z are dropped.

    Args:
        text: any Unicode text.

    Returns:
        Words, possibly empty.
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    for sym, word in _SYMBOLS.items():
        text = text.replace(sym, word)
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 1,000 -> 1000
    text = re.sub(r"(\d+)\.(\d+)", lambda m: f"{m.group(1)} point {' '.join(m.group(2))}", text)
    text = re.sub(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", " ", text)  # 2nd -> 2 nd, mp3 -> mp 3
    words: list[str] = []
    prev_digit = False
    for token in re.findall(r"[a-z0-9']+", text):
        token = token.strip("'")
        if not token:
            continue
        if token.isdigit():
            words.extend(_number_words(int(token)))
        elif token in _ORDINAL_SUFFIXES and words and prev_digit:
            words[-1] = _ordinal(words[-1])
        else:
            words.append(token)
        prev_digit = token.isdigit()
    return words


_ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
_ORDINALS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth", "twenty": "twentieth", "thirty": "thirtieth",
    "forty": "fortieth", "fifty": "fiftieth", "sixty": "sixtieth", "seventy": "seventieth",
    "eighty": "eightieth", "ninety": "ninetieth",
}


def _ordinal(word: str) -> str:
    """Cardinal number word -> ordinal ("two" -> "second", "four" -> "fourth")."""
    return _ORDINALS.get(word, word + "th")


# --------------------------------------------------------------------------- alignment


@dataclass(frozen=True)
class AlignedTranscript:
    """Result of :func:`align`: the transcript's words and phones with their times.

    Attributes:
        words: dictionary words in time order (no silences), ``posterior`` 1.0.
        phones: phones covering the whole clip (``source="alignment"``), silences as ``"SIL"``.
    """

    words: tuple[WordSegment, ...]
    phones: PhoneSegments


def align(speech: Speech, text: str) -> AlignedTranscript:
    """Force-align a known transcript to speech: timed words and phones.

    Two pocketsphinx passes: word alignment of the transcript (``set_align_text``), then
    phone/state alignment (``set_alignment``); see the pocketsphinx 5 documentation of
    ``Decoder.set_alignment``. The phone pass needs memory that grows faster than linearly
    with the utterance (measured: +90 MB for 60 s, +2.4 GB for 5 minutes), so clips longer
    than :data:`MAX_ALIGN_CHUNK_S` (60 s) run it per chunk of 30-60 s, cut in silences found
    by the word pass over the whole clip; memory then stays flat. Words missing from the CMU dictionary are split
    into dictionary words where possible ("spacesuit" -> "space suit"), otherwise dropped
    with a logged warning. Audio that is not 16 kHz is resampled (``scipy.signal.resample_poly``).

    Args:
        speech: mono float32 speech at any sample rate.
        text: the words spoken, any punctuation/casing (see :func:`normalize_transcript`).

    Returns:
        :class:`AlignedTranscript`; its phones cover ``[0, speech.duration_s]`` without gaps:
        ARPAbet without stress digits, ``"SIL"`` for silences and noise, 10 ms resolution.

    Raises:
        AlignmentError: no transcript word is in the dictionary, or the decoder could not
            align the words to the audio (for example, the text does not match the speech).
        ValueError: samples are not one-dimensional or the sample rate is invalid.
    """
    words = normalize_transcript(text)
    pcm = _pcm16(speech)
    with _lock:
        decoder = _align_decoder()
        known = _dictionary_words(decoder, words)
        if not known:
            raise AlignmentError(f"no word of the transcript {text[:60]!r} is in the pronouncing dictionary")
        word_segs, phone_segs = _align_long(decoder, pcm, known)
    return AlignedTranscript(
        words=tuple(word_segs),
        phones=PhoneSegments(segments=_timeline(phone_segs, speech.duration_s), source="alignment"),
    )


def align_transcript(speech: Speech, text: str) -> PhoneSegments:
    """Phones of a known transcript force-aligned to speech (``source="alignment"``).

    The phones of :func:`align` (see there for the method, arguments and errors): ARPAbet
    without stress digits and ``"SIL"``, covering ``[0, speech.duration_s]``, seconds.

    Raises:
        AlignmentError: no usable word, or the words could not be aligned to the audio.
    """
    return align(speech, text).phones


#: Longest stretch (s) given to one phone-alignment pass; longer clips are cut in silences.
MAX_ALIGN_CHUNK_S = 60.0


def _align_long(decoder: Any, pcm: np.ndarray, words: Sequence[str]) -> tuple[list[WordSegment], list[PhoneSegment]]:
    """Word pass over the whole clip, then the phone pass per chunk of at most MAX_ALIGN_CHUNK_S."""
    max_frames = int(MAX_ALIGN_CHUNK_S * _PS_RATE)
    if len(pcm) <= max_frames * _HOP:
        return _align_words(decoder, pcm, " ".join(words))
    segs = _word_pass(decoder, pcm, " ".join(words))
    chunks: list[tuple[int, int, list[tuple[str, int, int]]]] = []  # (start frame, end frame, words)
    start, current = 0, []
    for name, a, b in segs:
        is_word = _is_word(name)
        if is_word:
            current.append((name, a, b))
        if current and name == "<sil>" and b - start >= max_frames // 2:
            cut = (a + b) // 2
            chunks.append((start, cut, current))
            start, current = cut, []
        elif current and is_word and b - start >= max_frames:
            chunks.append((start, b, current))
            start, current = b, []
    n_frames = -(-len(pcm) // _HOP)
    if current:
        chunks.append((start, n_frames, current))
    elif chunks:
        chunks[-1] = (chunks[-1][0], n_frames, chunks[-1][2])
    out_words: list[WordSegment] = []
    out_phones: list[PhoneSegment] = []
    for a, b, chunk in chunks:
        text = " ".join(_base_word(name) for name, _, _ in chunk)
        try:
            w, p = _align_words(decoder, pcm[a * _HOP : b * _HOP], text, a / _PS_RATE)
        except AlignmentError:
            log.warning(
                "alignment failed for %.1f-%.1f s; spreading phones evenly over its words", a / _PS_RATE, b / _PS_RATE
            )
            w, p = _even_alignment(decoder, chunk, 0.0)
        out_words.extend(w)
        out_phones.extend(p)
    return out_words, out_phones


def _word_pass(decoder: Any, pcm: np.ndarray, text: str) -> list[tuple[str, int, int]]:
    """First alignment pass: ``(dictionary word or filler, start frame, end frame)``; AlignmentError on failure."""
    try:
        decoder.set_align_text(text)
        _decode(decoder, pcm)
    except RuntimeError as exc:  # pocketsphinx reports search failures as RuntimeError
        raise AlignmentError(f"pocketsphinx alignment failed: {exc}") from exc
    if decoder.hyp() is None:
        raise AlignmentError(f"could not align {len(text.split())} words to {len(pcm) / DECODER_RATE:.2f} s of audio")
    return [(seg.word, seg.start_frame, seg.end_frame + 1) for seg in decoder.seg()]


def _align_words(
    decoder: Any, pcm: np.ndarray, text: str, offset_s: float = 0.0, retry: bool = True
) -> tuple[list[WordSegment], list[PhoneSegment]]:
    """Both alignment passes on one utterance.

    The phone pass of pocketsphinx 5 sometimes fails where the word pass succeeded (seen on
    chunks that start or end inside a silence); then it is retried on the span from the first
    word's start to the last word's end, and failing that the phones of each word are spread
    evenly over the word's duration from the word pass. Raises AlignmentError only when the
    word pass fails.
    """
    segs = _word_pass(decoder, pcm, text)
    alignment = _phone_pass(decoder, pcm)
    if alignment is not None:
        words = [
            WordSegment(_base_word(w.name), _t(offset_s, w.start), _t(offset_s, w.start + w.duration), 1.0)
            for w in alignment.words()
            if _is_word(w.name)
        ]
        return words, _phones_from_alignment(alignment, offset_s)
    spoken = [(name, a, b) for name, a, b in segs if _is_word(name)]
    if retry and spoken:
        a, b = spoken[0][1], spoken[-1][2]
        if a > 0 or b * _HOP < len(pcm):
            try:
                return _align_words(decoder, pcm[a * _HOP : b * _HOP], text, offset_s + a / _PS_RATE, retry=False)
            except AlignmentError:
                pass
    log.info("phone alignment failed; spreading phones evenly over %d aligned words", len(spoken))
    return _even_alignment(decoder, spoken, offset_s)


def _even_alignment(
    decoder: Any, spoken: Sequence[tuple[str, int, int]], offset_s: float
) -> tuple[list[WordSegment], list[PhoneSegment]]:
    """Words from ``(spelling, start frame, end frame)`` and their dictionary phones spread evenly."""
    words = [WordSegment(_base_word(n), _t(offset_s, a), _t(offset_s, b), 1.0) for n, a, b in spoken]
    return words, _even_phones(decoder, words, [n for n, _, _ in spoken])


def _t(offset_s: float, frame: int) -> float:
    """Seconds of a pocketsphinx frame index after an offset, rounded to the microsecond."""
    return round(offset_s + frame / _PS_RATE, 6)


def _is_word(name: str) -> bool:
    """True for dictionary words, False for <s>, </s>, <sil> and [NOISE]-style fillers."""
    return not name.startswith(("<", "["))


def _base_word(name: str) -> str:
    """Dictionary spelling without the alternate-pronunciation suffix ("the(2)" -> "the")."""
    return re.sub(r"\(\d+\)$", "", name)


def _phones_from_alignment(alignment: Any, offset_s: float) -> list[PhoneSegment]:
    out = []
    for phone in alignment.phones():
        start = offset_s + phone.start / _PS_RATE
        end = start + phone.duration / _PS_RATE
        out.append(PhoneSegment(_phone_label(phone.name), start, end))
    return out


def _phone_label(name: str) -> str:
    """pocketsphinx phone name -> ARPAbet without stress, or SIL for silence/noise (+NSN+, +SPN+)."""
    if name.startswith("+") or name.upper() == "SIL":
        return SIL
    return re.sub(r"\d", "", name).upper()


# --------------------------------------------------------------------------- recognition


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
        speech: mono float32 speech at any sample rate (resampled to 16 kHz internally).
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
    pcm = _pcm16(speech)
    duration = speech.duration_s
    words: list[WordSegment] = []
    phones: list[PhoneSegment] = []
    spans = [(a * _HOP, min(len(pcm), b * _HOP))
             for a, b in _chunks(active, features.energy, int(round(config.max_chunk_s * _PS_RATE)))]
    spans = [(s0, s1) for s0, s1 in spans if s1 - s0 >= DECODER_RATE // 10]
    for w, p in _recognize_spans(pcm, spans, config):
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
    """Words and phones of each chunk ``pcm[s0:s1]``, in order; with ``config.processes`` 2 and more
    than one chunk, a second process (:class:`talkinghead.aside.Aside`) decodes the last chunks
    (about half the audio) while this one decodes the first.

    pocketsphinx holds the GIL, hence a process, not a thread. Each chunk is decoded from a reset
    feature state (:func:`_decode`), so the result does not depend on how the chunks are shared.
    """
    split = len(spans)
    if config.processes > 1 and len(spans) > 1:
        lengths = np.array([s1 - s0 for s0, s1 in spans], np.float64)
        before = np.cumsum(lengths)[:-1]  # audio in chunks [0, k) for k = 1..n-1
        split = 1 + int(np.argmin(np.maximum(before, lengths.sum() - before)))
    child = None
    if split < len(spans):
        from talkinghead.aside import Aside

        s0 = spans[split][0]
        child = Aside(_recognize_span_list, pcm[s0:spans[-1][1]], [(a - s0, b - s0) for a, b in spans[split:]],
                      s0 / DECODER_RATE, config, what="recognition of the later chunks")
    try:
        done = _recognize_span_list(pcm, spans[:split], 0.0, config)
        return done + (child.result_or_here() if child is not None else [])
    finally:
        if child is not None:
            child.close()


def _recognize_span_list(pcm: np.ndarray, spans: list[tuple[int, int]], offset_s: float, config: RecognitionConfig
                         ) -> list[tuple[list[WordSegment], list[PhoneSegment]]]:
    """Each chunk ``pcm[s0:s1]`` recognised in turn (times from ``offset_s``)."""
    with _lock:
        decoder = _recognition_decoder(config.beam, config.wbeam, config.pbeam, config.maxhmmpf, config.maxwpf)
        return [_recognize_chunk(decoder, pcm[s0:s1], offset_s + s0 / DECODER_RATE) for s0, s1 in spans]


def _recognize_chunk(decoder: Any, pcm: np.ndarray, offset_s: float) -> tuple[list[WordSegment], list[PhoneSegment]]:
    decoder.activate_search()  # back to the n-gram search after an alignment pass
    _decode(decoder, pcm)
    words: list[WordSegment] = []
    spelled: list[str] = []
    for seg in decoder.seg():
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


def _even_phones(decoder: Any, words: Sequence[WordSegment], spelled: Sequence[str]) -> list[PhoneSegment]:
    """Dictionary pronunciation of each word, its phones spread evenly over the word's duration."""
    out = []
    for w, s in zip(words, spelled):
        pron = (decoder.lookup_word(s) or decoder.lookup_word(w.word) or "").split()
        if not pron:
            continue
        step = (w.end_s - w.start_s) / len(pron)
        for i, ph in enumerate(pron):
            out.append(PhoneSegment(_phone_label(ph), w.start_s + i * step, w.start_s + (i + 1) * step))
    return out


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


# --------------------------------------------------------------------------- shared helpers


def _timeline(segments: Iterable[PhoneSegment], duration_s: float) -> tuple[PhoneSegment, ...]:
    """Sort, clip to ``[0, duration_s]``, resolve overlaps, fill gaps with SIL and merge adjacent SILs."""
    out: list[PhoneSegment] = []
    cursor = 0.0
    eps = 1e-6
    for seg in sorted(segments, key=lambda s: (s.start_s, s.end_s)):
        start = max(seg.start_s, cursor, 0.0)
        end = min(seg.end_s, duration_s)
        if end - start <= eps:
            continue
        start, end = round(start, 6), round(end, 6)
        if start - cursor > eps:
            out.append(PhoneSegment(SIL, cursor, start))
        out.append(PhoneSegment(seg.phone, start, end))
        cursor = end
    if duration_s - cursor > eps:
        out.append(PhoneSegment(SIL, cursor, duration_s))
    merged: list[PhoneSegment] = []
    for seg in out:
        if merged and seg.phone == SIL and merged[-1].phone == SIL:
            merged[-1] = PhoneSegment(SIL, merged[-1].start_s, seg.end_s)
        else:
            merged.append(seg)
    return tuple(merged)


def _pcm16(speech: Speech) -> np.ndarray:
    """Mono int16 samples at 16 kHz (clipped, resampled when needed)."""
    x = np.asarray(speech.samples, np.float32)
    if x.ndim != 1:
        raise ValueError(f"speech must be mono (1-D samples), got shape {x.shape}")
    sr = int(speech.sample_rate)
    if sr <= 0 or sr != speech.sample_rate:
        raise ValueError(f"sample rate must be a positive integer in Hz, got {speech.sample_rate!r}")
    if sr != DECODER_RATE:
        from scipy.signal import resample_poly

        g = gcd(sr, DECODER_RATE)
        x = resample_poly(x, DECODER_RATE // g, sr // g).astype(np.float32)
    x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
    return (np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)


def _phone_pass(decoder: Any, pcm: np.ndarray) -> Any:
    """Phone-level alignment of the decoder's current word hypothesis, or None if it fails."""
    try:
        decoder.set_alignment()
        _decode(decoder, pcm)
        return decoder.get_alignment()
    except RuntimeError:
        return None


def _decode(decoder: Any, pcm: np.ndarray) -> None:
    """Decode one whole utterance. Feature state (cepstral mean) is reset first, so results
    do not depend on what the cached decoder decoded before."""
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()


def _dictionary_words(decoder: Any, words: Sequence[str]) -> list[str]:
    """Words the decoder can pronounce: known words kept, compounds split, the rest dropped with a warning."""
    out: list[str] = []
    dropped: list[str] = []
    for w in words:
        if decoder.lookup_word(w) is not None:
            out.append(w)
            continue
        parts = _split_compound(decoder, w)
        if parts:
            out.extend(parts)
        else:
            dropped.append(w)
    if dropped:
        log.warning(
            "forced alignment: %d word(s) not in the pronouncing dictionary, skipped: %s",
            len(dropped),
            " ".join(dropped[:20]),
        )
    return out


def _split_compound(decoder: Any, word: str) -> list[str] | None:
    """Split an unknown word into the fewest dictionary words of 2+ letters, or None."""
    word = word.replace("'", "")
    n = len(word)
    if n < 4 or n > 40:
        return None
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(2, n + 1):
        for start in range(0, end - 1):
            prev = best[start]
            if prev is None or (best[end] is not None and len(prev) + 1 >= len(best[end])):
                continue
            if decoder.lookup_word(word[start:end]) is not None:
                best[end] = prev + [word[start:end]]
    return best[n]


@lru_cache(maxsize=1)
def _align_decoder() -> Any:
    """Decoder without a language model, for alignment only (built once per process)."""
    import pocketsphinx

    return pocketsphinx.Decoder(samprate=DECODER_RATE, lm=None, loglevel="FATAL")


@lru_cache(maxsize=2)
def _recognition_decoder(beam: float, wbeam: float, pbeam: float, maxhmmpf: int, maxwpf: int) -> Any:
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
    )
