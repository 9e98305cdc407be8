"""Forced alignment of long speech: a word pass over the whole clip, then both passes per chunk, on all cores.

:func:`talkinghead.audio.phones.align` hands clips longer than :data:`ALIGN_CHUNK_S` here. One word
pass (pocketsphinx ``set_align_text``) over the whole clip finds where its words are; the clip is
cut in the pauses between them into chunks of about half :data:`ALIGN_CHUNK_S` to :data:`ALIGN_CHUNK_S`, and
each chunk's words are aligned again (word pass, then the phone/state pass of ``set_alignment``)
on the chunk's audio from its first word to its last, :data:`CHUNK_MARGIN` frames either side.

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
#: Frames (10 ms) of audio kept before a chunk's first word and after its last (from the whole-clip word pass).
CHUNK_MARGIN = 3

#: One chunk: ``(start frame, end frame, [(word as spelled by the decoder, start frame, end frame), ...])``;
#: the chunks of a clip tile it, cut in the middle of pauses.
Chunk = tuple[int, int, list[tuple[str, int, int]]]


def align_long(decoder: Any, pcm: np.ndarray, words: Sequence[str], processes: int = 1,
               chunk_s: float = ALIGN_CHUNK_S) -> tuple[list[WordSegment], list[PhoneSegment]]:
    """Words and phones of ``words`` aligned to ``pcm`` (int16 ``[N]`` at 16 kHz), seconds from its start.

    Clips no longer than ``chunk_s`` get both passes whole. Longer ones: a word pass over the whole
    clip, then both passes per chunk (:func:`plan_chunks`), shared between forked copies of this
    process where ``processes`` > 1 (:func:`talkinghead.aside.fork_map`: one more than the cores,
    longest chunk first; in this process where it cannot fork: the same result).
    Called with :data:`talkinghead.audio.phones._lock` held and ``decoder`` the alignment decoder.

    Raises:
        AlignmentError: the word pass over the whole clip failed (a chunk that fails is spread evenly, with a warning).
    """
    max_frames = int(round(chunk_s * _PS_RATE))
    if len(pcm) <= max_frames * _HOP:
        return _align_words(decoder, pcm, " ".join(words))
    chunks = plan_chunks(_word_pass(decoder, pcm, " ".join(words)), -(-len(pcm) // _HOP), max_frames)
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
