"""Phones with timings from speech: forced alignment of a known transcript (and the pocketsphinx plumbing that recognition shares).

Alignment uses pocketsphinx (CMU Sphinx, Huggins-Daines et al., ICASSP 2006) with its bundled
US English acoustic model and CMU pronouncing dictionary (DESIGN.md, "Dependencies"); recognition
(:mod:`talkinghead.audio.recognition`) shares the plumbing here and adds the trigram language
model. Phones are ARPAbet without stress digits; silence and noise are ``"SIL"``.

- :func:`align` / :func:`align_transcript`: text known -> two decoding passes (word
  alignment, then phone/state alignment). Measured 0.03 real-time factor (RTF) on 11 s and
  on 3 s GRID clips, 0.045-0.065 on 60 s; word boundaries within 25 ms of GRID's own
  alignments on average (40 clips; median 10 ms).
- Recognition (no text) is :mod:`talkinghead.audio.recognition`; the transcript's text
  normalisation is :mod:`talkinghead.audio.transcript`.

pocketsphinx is imported inside the functions; decoders are built on first use (0.1-0.3 s)
and cached per process. Calls are serialised by a lock (a decoder is not thread-safe).
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from talkinghead.audio.transcript import normalize_transcript
from talkinghead.types import PCM16_BLOCK, PCM16_SCALE, PhoneSegment, PhoneSegments, Speech, pcm16_samples

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
#: Gaussians scored per codebook of pocketsphinx's acoustic model in forced alignment (its default: 4).
#: Two cost a sixth less CPU (the 60 s clip aligned to its words: 2.76 -> 2.30 s) for the same mouths
#: against real faces (`python benchmarks/phone_sources.py --sources none,align:topn=4,align:topn=2,align:topn=1
#: --sets grid_val,s31,others`, landmark space, the shipped model: GRID s1 validation 0.909 / 0.909 / 0.906,
#: unseen GRID 0.837 / 0.836 / 0.836 at 4 / 2 / 1); one is cheaper still (1.92 s) but a little worse on GRID s1.
ALIGN_TOPN = 2
#: ``topn`` of the alignments the shipped learned model was trained on (``talkinghead train prepare``
#: keeps it, so the README's training commands reproduce the shipped weights).
TRAINING_ALIGN_TOPN = 4

_lock = threading.RLock()


class AlignmentError(RuntimeError):
    """Forced alignment or recognition could not produce phones (no usable words, or the decoder gave up).

    Callers fall back to another phone source or to the acoustic path.
    """


@dataclass(frozen=True)
class WordSegment:
    """One word: lowercase dictionary spelling, times in seconds, lattice posterior in [0, 1] (1.0 when aligned)."""

    word: str
    start_s: float
    end_s: float
    posterior: float


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


def align(speech: Speech, text: str, topn: int = ALIGN_TOPN, processes: int = 1,
          chunk_s: float | None = None, window_s: float | None = None) -> AlignedTranscript:
    """Force-align a known transcript to speech: timed words and phones.

    Two pocketsphinx passes: word alignment of the transcript (``set_align_text``), then
    phone/state alignment (``set_alignment``); see the pocketsphinx 5 documentation of
    ``Decoder.set_alignment``. Clips longer than ``chunk_s`` get the word pass in windows that carry
    the transcript's place from one to the next, then both passes per chunk of its words, cut in
    pauses, shared between forked processes where ``processes`` > 1
    (:mod:`talkinghead.audio.long_align`: flat memory, less wall time, and the same result with one
    process or more). Words missing from the CMU dictionary are split
    into dictionary words where possible ("spacesuit" -> "space suit"), otherwise dropped
    with a logged warning. Audio that is not 16 kHz is resampled (:func:`talkinghead.audio.features.resample`).

    Args:
        speech: mono speech at any sample rate: float32 in [-1, 1], or int16 PCM (:func:`pcm16_speech`).
        text: the words spoken, any punctuation/casing (see :func:`normalize_transcript`).
        topn: Gaussians scored per codebook (:data:`ALIGN_TOPN`; 1-4, pocketsphinx's default is 4).
        processes: 1: a long clip's chunks are aligned in this process; more: shared between forked processes.
        chunk_s: longest stretch (s) aligned in one piece (None:
            :data:`~talkinghead.audio.long_align.ALIGN_CHUNK_S`, 20 s).
        window_s: audio (s) of one window of a long clip's word pass (None:
            :data:`~talkinghead.audio.long_align.WORD_WINDOW_S`, 60 s; longer than the clip: one pass).

    Returns:
        :class:`AlignedTranscript`; its phones cover ``[0, speech.duration_s]`` without gaps:
        ARPAbet without stress digits, ``"SIL"`` for silences and noise, 10 ms resolution.

    Raises:
        AlignmentError: no transcript word is in the dictionary, or the decoder could not
            align the words to the audio (for example, the text does not match the speech).
        ValueError: samples are not one-dimensional or the sample rate is invalid.
    """
    from talkinghead.audio.long_align import ALIGN_CHUNK_S, WORD_WINDOW_S, align_long

    words = normalize_transcript(text)
    pcm = _pcm16(speech)
    with _lock:
        decoder = _align_decoder(topn)
        known = _dictionary_words(decoder, words)
        if not known:
            raise AlignmentError(f"no word of the transcript {text[:60]!r} is in the pronouncing dictionary")
        word_segs, phone_segs = align_long(decoder, pcm, known, processes,
                                           ALIGN_CHUNK_S if chunk_s is None else chunk_s,
                                           WORD_WINDOW_S if window_s is None else window_s)
    return AlignedTranscript(
        words=tuple(word_segs),
        phones=PhoneSegments(segments=_timeline(phone_segs, speech.duration_s), source="alignment"),
    )


def align_transcript(speech: Speech, text: str, topn: int = ALIGN_TOPN, processes: int = 1) -> PhoneSegments:
    """Phones of a known transcript force-aligned to speech (``source="alignment"``).

    The phones of :func:`align` (see there for the method, arguments and errors): ARPAbet
    without stress digits and ``"SIL"``, covering ``[0, speech.duration_s]``, seconds.

    Raises:
        AlignmentError: no usable word, or the words could not be aligned to the audio.
    """
    return align(speech, text, topn, processes).phones


def _word_pass(decoder: Any, pcm: np.ndarray, text: str) -> list[tuple[str, int, int]]:
    """First alignment pass: ``(dictionary word or filler, start frame, end frame)``; AlignmentError on failure."""
    try:
        decoder.set_align_text(text)
    except RuntimeError as exc:  # pocketsphinx reports search failures as RuntimeError
        raise AlignmentError(f"pocketsphinx alignment failed: {exc}") from exc
    return _pass_segments(decoder, pcm, f"could not align {len(text.split())} words to "
                                        f"{len(pcm) / DECODER_RATE:.2f} s of audio")


def _pass_segments(decoder: Any, pcm: np.ndarray, no_path: str) -> list[tuple[str, int, int]]:
    """Decode ``pcm`` (int16, 16 kHz) with the decoder's active word search: its segments ``(dictionary
    word or filler, start frame, end frame)``, 10 ms frames, without the utterance's start and end markers
    (``<s>``, ``</s>``: they can overlap their neighbours). Raises AlignmentError (``no_path`` where the
    decoder finds no path through the audio)."""
    try:
        _decode(decoder, pcm)
    except RuntimeError as exc:
        raise AlignmentError(f"pocketsphinx alignment failed: {exc}") from exc
    if decoder.hyp() is None:
        raise AlignmentError(no_path)
    return [(seg.word, seg.start_frame, seg.end_frame + 1) for seg in decoder.seg() if seg.word not in ("<s>", "</s>")]


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
        return _from_alignment(alignment, offset_s)
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


def _t(offset_s: float, frame: int) -> float:
    """Seconds of a pocketsphinx frame index after an offset, rounded to the microsecond."""
    return round(offset_s + frame / _PS_RATE, 6)


def _is_word(name: str) -> bool:
    """True for dictionary words, False for <s>, </s>, <sil> and [NOISE]-style fillers."""
    return not name.startswith(("<", "["))


def _base_word(name: str) -> str:
    """Dictionary spelling without the alternate-pronunciation suffix ("the(2)" -> "the")."""
    return re.sub(r"\(\d+\)$", "", name)


def _from_alignment(alignment: Any, offset_s: float) -> tuple[list[WordSegment], list[PhoneSegment]]:
    """The words and phones of a phone pass's alignment, in seconds from ``offset_s``."""
    words = [
        WordSegment(_base_word(w.name), _t(offset_s, w.start), _t(offset_s, w.start + w.duration), 1.0)
        for w in alignment.words()
        if _is_word(w.name)
    ]
    return words, _phones_from_alignment(alignment, offset_s)


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




def pcm16_speech(speech: Speech) -> Speech:
    """The speech as 16-bit PCM (int16, standing for ``int16 /`` :data:`~talkinghead.types.PCM16_SCALE`) at
    16 kHz, converted a block at a time: half the memory of float32 (an hour is 115 MB), and exact for a
    16-bit source at 16 kHz (its features, alignment and recognition are then the same as from float32).

    Args:
        speech: mono speech, float32 in [-1, 1] or already int16, any rate.
    Returns:
        :class:`Speech` with int16 ``[N]`` samples at 16 kHz (rounded, clipped; NaN as 0);
        ``speech`` itself where it already is one.
    Raises:
        ValueError: samples are not one-dimensional or the sample rate is invalid.
    """
    x = _samples_16k(speech)
    if x.dtype == np.int16 and x is speech.samples:
        return speech
    return Speech(pcm16_samples(x), DECODER_RATE)


def _pcm16(speech: Speech) -> np.ndarray:
    """The decoder's input: mono int16 samples at 16 kHz (:func:`_to_pcm16`, resampled when needed)."""
    return _to_pcm16(_samples_16k(speech))


def _samples_16k(speech: Speech) -> np.ndarray:
    """Mono samples at the decoder's 16 kHz: the speech's own array where it is at 16 kHz (float32, or
    int16 PCM as it is), else resampled to float32."""
    x = np.asarray(speech.samples)
    if x.ndim != 1:
        raise ValueError(f"speech must be mono (1-D samples), got shape {x.shape}")
    sr = int(speech.sample_rate)
    if sr <= 0 or sr != speech.sample_rate:
        raise ValueError(f"sample rate must be a positive integer in Hz, got {speech.sample_rate!r}")
    if x.dtype != np.int16:
        x = np.asarray(x, np.float32)
    if sr != DECODER_RATE:
        from talkinghead.audio.features import resample

        x = resample(_as_float(x), sr, DECODER_RATE)
    return x


def _as_float(x: np.ndarray) -> np.ndarray:
    """Speech samples as float32: int16 PCM divided by :data:`~talkinghead.types.PCM16_SCALE` (exact), float as it is."""
    return x * np.float32(1.0 / PCM16_SCALE) if x.dtype == np.int16 else x


def _to_pcm16(x: np.ndarray) -> np.ndarray:
    """The decoder's int16 input from speech samples (float in [-1, 1], NaN 0, beyond clipped; or int16 PCM,
    first made float by :func:`_as_float`): ``float x 32767`` truncated, a block at a time."""
    out = np.empty(len(x), np.int16)
    for i in range(0, len(x), PCM16_BLOCK):  # a block at a time: an hour's float temporaries were 0.7 GB
        b = np.nan_to_num(_as_float(x[i:i + PCM16_BLOCK]), nan=0.0, posinf=1.0, neginf=-1.0)
        out[i:i + len(b)] = (np.clip(b, -1.0, 1.0) * 32767.0).astype(np.int16)
    return out


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


def load_aligner() -> None:
    """Load the alignment decoder now (once per process), not at the first :func:`align_transcript`."""
    with _lock:
        _align_decoder()


@lru_cache(maxsize=2)
def _align_decoder(topn: int = ALIGN_TOPN) -> Any:
    """Decoder without a language model, for alignment only (built once per process and ``topn``)."""
    import pocketsphinx

    return pocketsphinx.Decoder(samprate=DECODER_RATE, lm=None, topn=topn, loglevel="FATAL")
