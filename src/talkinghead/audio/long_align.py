"""Forced alignment of long speech: a word pass in windows over the clip, then both passes per chunk, on all cores.

:func:`talkinghead.audio.phones.align` hands clips longer than :data:`ALIGN_CHUNK_S` here. A word
pass (pocketsphinx) finds where the transcript's words are (:func:`word_pass_windowed`); the clip is
cut in the pauses between them into chunks of about half :data:`ALIGN_CHUNK_S` to :data:`ALIGN_CHUNK_S`, and
each chunk's words are aligned again (word pass, then the phone/state pass of ``set_alignment``)
on the chunk's audio from its first word to its last, :data:`CHUNK_MARGIN` frames either side.

Why windows: one word pass (``set_align_text``) over the whole clip costs more than linearly with
its length (0.8 s of CPU for 1 minute, 7.7 s for 5, 25.7 s for 10; half of an hour's run) and holds
memory that grows with it. A window of :data:`WORD_WINDOW_S` is given the next words of the
transcript through a grammar that may stop after any of them (a prefix grammar: the window ends
wherever its audio ends); the words up to its last pause before :data:`WORD_KEEP` of the window are
kept, and the next window starts in that pause with the next word. This is the anchored, piecewise
approach of long-audio alignment (Moreno et al., "A recursive algorithm for the forced alignment of very
long audio segments", ICSLP 1998), with the transcript's place carried from one window to the next.

Why chunks: pocketsphinx's phone pass costs more than linearly with the utterance (the 60 s clip
of ``python benchmarks/long_alignment.py``: 1.35 s of CPU whole, about 0.95 s in 10-20 s chunks)
and needs memory that grows faster than linearly (+90 MB for 60 s, +2.4 GB for 5 minutes). And
chunks can be shared: with ``processes`` over 1, forked copies of this process
(:func:`talkinghead.aside.fork_map`: the decoder and the samples are theirs at the fork, nothing to
start or send) align them, the longest first (pocketsphinx holds the GIL: processes, not threads).
Every chunk is decoded from a reset feature state, so the result does not depend on ``processes``.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from talkinghead.audio.phones import (
    _HOP,
    _PS_RATE,
    AlignmentError,
    WordSegment,
    _align_words,
    _base_word,
    _pass_segments,
    _even_alignment,
    _from_alignment,
    _is_word,
    _phone_pass,
    _word_pass,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from talkinghead.types import PhoneSegment

log = logging.getLogger("talkinghead.audio.phones")

#: Chunk length (s) of the alignment passes: longer clips are cut in pauses into chunks of about half this to this
#: (a chunk without a pause ends with the word that reaches this; the last one may be shorter than half).
ALIGN_CHUNK_S = 20.0
#: Frames (10 ms) of audio kept before a chunk's first word and after its last (from the word pass that placed it).
CHUNK_MARGIN = 3
#: Audio (s) of one window of the word pass over long speech (:func:`word_pass_windowed`).
WORD_WINDOW_S = 60.0
#: A window's words are kept up to its last pause before this share of the window (the rest is
#: aligned again by the next window, which starts in that pause).
WORD_KEEP = 0.75
#: Words given to a window per second of its audio: more than anyone speaks (fast speech is about 4-5 a second).
MAX_WORDS_PER_S = 8.0

#: One chunk: ``(start frame, end frame, [(word as spelled by the decoder, start frame, end frame), ...])``;
#: the chunks of a clip tile it, cut in the middle of pauses.
Chunk = tuple[int, int, list[tuple[str, int, int]]]


def align_long(decoder: Any, pcm: np.ndarray, words: Sequence[str], processes: int = 1,
               chunk_s: float = ALIGN_CHUNK_S, window_s: float = WORD_WINDOW_S
               ) -> tuple[list[WordSegment], list[PhoneSegment]]:
    """Words and phones of ``words`` aligned to ``pcm`` (int16 ``[N]`` at 16 kHz), seconds from its start.

    Clips no longer than ``chunk_s`` get both passes whole. Longer ones: a word pass in windows of
    ``window_s`` (:func:`word_pass_windowed`; one window where the clip is no longer), then both
    passes per chunk (:func:`plan_chunks`), shared between forked copies of this process where
    ``processes`` > 1 (:func:`talkinghead.aside.fork_map`: one more than the cores, longest chunk
    first; in this process where it cannot fork: the same result).
    Called with :data:`talkinghead.audio.phones._lock` held and ``decoder`` the alignment decoder.

    Raises:
        AlignmentError: the word pass failed: the last pass could not hold the words left (the transcript
            does not match the speech); a chunk that fails later is spread evenly, with a warning.
    """
    max_frames = int(round(chunk_s * _PS_RATE))
    if len(pcm) <= max_frames * _HOP:
        return _align_words(decoder, pcm, " ".join(words))
    n_frames = -(-len(pcm) // _HOP)
    chunks = plan_chunks(word_pass_windowed(decoder, pcm, words, window_s), n_frames, max_frames)
    one = partial(_align_chunk, decoder, pcm)
    out = None
    if processes > 1:
        from talkinghead.aside import fork_map

        out = fork_map(one, chunks, what="forced alignment", cost=lambda c: c[1] - c[0])
    if out is None:
        out = [one(chunk) for chunk in chunks]
    out_words: list[WordSegment] = []
    out_phones: list[PhoneSegment] = []
    for w, p in out:
        out_words.extend(w)
        out_phones.extend(p)
    return out_words, out_phones


def word_pass_windowed(decoder: Any, pcm: np.ndarray, words: Sequence[str], window_s: float = WORD_WINDOW_S
                       ) -> list[tuple[str, int, int]]:
    """The word pass over long speech in windows, each carrying on from the last one's place in the transcript.

    Each window of ``window_s`` from the current place is given the next words (at most
    :data:`MAX_WORDS_PER_S` a second) in a prefix grammar (:func:`_prefix_pass`); its segments are kept up to the
    middle of its last pause between a quarter and :data:`WORD_KEEP` of the window (else up to the last
    word that ends there), and the next window starts there. The audio left once it is no longer than a
    window gets the plain word pass of all the words left, so every word is placed. On the 60 s English
    clip tiled twice, a prefix pass over 30 and 45 s placed every word it kept within one frame (10 ms)
    of the pass over the whole clip; ``python benchmarks/long_alignment.py`` compares it with GRID's word times.
    Cost and memory are linear in the clip's length (each window is bounded). A window where the decoder
    finds no path at all (digital silence) is taken as a pause.

    Args:
        decoder: the alignment decoder (:func:`talkinghead.audio.phones._align_decoder`), its lock held.
        pcm: int16 ``[N]`` at 16 kHz.
        words: dictionary words of the transcript, in order.
        window_s: audio (s) of one window; a clip no longer than this gets one plain word pass.
    Returns:
        ``(word as spelled by the decoder or a filler such as "<sil>", start frame, end frame)`` in time
        order, 10 ms frames from the clip's start; the words are ``words`` in order (alternate
        pronunciations spelled ``"word(2)"``).
    Raises:
        AlignmentError: the last pass could not hold the words left (the transcript does not match the speech).
        ValueError: ``window_s`` under 1 s.
    """
    if window_s < 1.0:
        raise ValueError(f"window_s must be at least 1 s, not {window_s}")
    n_frames = -(-len(pcm) // _HOP)
    win = int(round(window_s * _PS_RATE))
    per_window = int(MAX_WORDS_PER_S * window_s) + 1
    out: list[tuple[str, int, int]] = []
    pos, i = 0, 0
    while i < len(words) and n_frames - pos > win:
        try:
            segs = _prefix_pass(decoder, pcm[pos * _HOP:(pos + win) * _HOP], words[i:i + per_window])
        except AlignmentError:
            segs = [("<sil>", 0, win)]  # no path: nothing the decoder can hear (zeros)
        cut, kept = _kept(segs, win)
        _extend(out, [(n, a + pos, b + pos) for n, a, b in kept])
        i += sum(_is_word(n) for n, _, _ in kept)
        pos += cut
    if i < len(words):
        segs = _word_pass(decoder, pcm[pos * _HOP:], " ".join(words[i:]))
        _extend(out, [(n, a + pos, b + pos) for n, a, b in segs])
    elif pos < n_frames:
        _extend(out, [("<sil>", pos, n_frames)])
    return out


def _prefix_pass(decoder: Any, pcm: np.ndarray, words: Sequence[str]) -> list[tuple[str, int, int]]:
    """A word pass whose grammar is ``words`` in order, ending after any of them (or before the first;
    the decoder places words wherever they score better than fillers, not only where they are spoken): fillers
    (silence, noise) between words as in ``set_align_text``. Segments as in :func:`word_pass_windowed`, from
    ``pcm``'s start. Raises AlignmentError where the decoder finds no path."""
    n = len(words)
    chain = [(k, k + 1, 1.0, w) for k, w in enumerate(words)] + [(k, n, 1.0) for k in range(n)]
    try:
        decoder.add_fsg("_prefix", decoder.create_fsg("_prefix", 0, n, chain))
        decoder.activate_search("_prefix")
    except (RuntimeError, ValueError) as exc:
        raise AlignmentError(f"pocketsphinx word pass failed: {exc}") from exc
    return _pass_segments(decoder, pcm, f"could not place any of {n} words in "
                                        f"{len(pcm) / (_HOP * _PS_RATE):.2f} s of audio")


def _kept(segs: Sequence[tuple[str, int, int]], win: int) -> tuple[int, list[tuple[str, int, int]]]:
    """Where a window of ``win`` frames is cut and the segments kept before the cut (see :func:`word_pass_windowed`)."""
    lo, hi = win // 4, int(WORD_KEEP * win)
    pauses = [k for k, (n, a, b) in enumerate(segs) if n == "<sil>" and lo <= (a + b) // 2 <= hi]
    if pauses:
        k = pauses[-1]
        cut = (segs[k][1] + segs[k][2]) // 2
        return cut, [*segs[:k], ("<sil>", segs[k][1], cut)]
    ends = [k for k, (n, _, b) in enumerate(segs) if _is_word(n) and lo <= b <= hi]
    if ends:
        return segs[ends[-1]][2], list(segs[:ends[-1] + 1])
    return hi, [s for s in segs if s[2] <= hi]  # a word or filler longer than half a window: cut inside it


def _extend(out: list[tuple[str, int, int]], segs: Sequence[tuple[str, int, int]]) -> None:
    """Append segments, joining a pause that starts where the last one ended (a window's cut)."""
    for seg in segs:
        if out and seg[0] == "<sil>" and out[-1][0] == "<sil>" and out[-1][2] == seg[1]:
            out[-1] = ("<sil>", out[-1][1], seg[2])
        elif seg[2] > seg[1]:
            out.append(seg)


def plan_chunks(segs: Sequence[tuple[str, int, int]], n_frames: int, max_frames: int) -> list[Chunk]:
    """Cut a clip into chunks of its words for alignment.

    Args:
        segs: a word pass's segments in time order: ``(word or filler, start frame, end frame)``.
        n_frames: the clip's length in frames.
        max_frames: longest chunk: a chunk ends in the middle of the first pause (``<sil>``) after it
            has reached half this, or at the end of the word that reaches this.
    Returns:
        Chunks that tile ``[0, n_frames)``, each with at least one word (one chunk if the clip has
        no word).
    """
    chunks: list[Chunk] = []
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
    if current or not chunks:
        chunks.append((start, n_frames, current))
    else:
        chunks[-1] = (chunks[-1][0], n_frames, chunks[-1][2])
    return chunks


def _align_chunk(decoder: Any, pcm: np.ndarray, chunk: Chunk, offset_s: float = 0.0
                 ) -> tuple[list[WordSegment], list[PhoneSegment]]:
    """Both passes on one chunk's words, on the audio from its first word to its last (``CHUNK_MARGIN``
    either side); where that fails, on the whole chunk (:func:`~talkinghead.audio.phones._align_words`,
    with its own fall-backs); where even its word pass fails, the words' phones spread evenly."""
    a, b, words = chunk
    if not words:
        return [], []
    text = " ".join(_base_word(n) for n, _, _ in words)
    lo, hi = max(a, words[0][1] - CHUNK_MARGIN), min(b, words[-1][2] + CHUNK_MARGIN)
    try:
        _word_pass(decoder, pcm[lo * _HOP:hi * _HOP], text)
        alignment = _phone_pass(decoder, pcm[lo * _HOP:hi * _HOP])
    except AlignmentError:
        alignment = None
    if alignment is not None:
        return _from_alignment(alignment, offset_s + lo / _PS_RATE)
    try:
        return _align_words(decoder, pcm[a * _HOP:b * _HOP], text, offset_s + a / _PS_RATE)
    except AlignmentError:
        log.warning("alignment failed for %.1f-%.1f s; spreading phones evenly over its words",
                    offset_s + a / _PS_RATE, offset_s + b / _PS_RATE)
        return _even_alignment(decoder, words, offset_s)
