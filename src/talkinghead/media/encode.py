"""Encoding frames to an mp4 while the next ones are made: the one writer loop of ``generate`` and ``dub``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from talkinghead.media.writer import VideoWriter
from talkinghead.media.yuv import BT709, ColorTags
from talkinghead.types import InputError, Speech

if TYPE_CHECKING:
    import av

    from talkinghead.media.audio import AudioTrack


def write_video(frames: Iterable[np.ndarray | av.VideoFrame], fps: float, size: tuple[int, int],
                sound: Speech | AudioTrack, output: str | os.PathLike[str],
                timer: Callable[[str, float], None] | None = None, progress: Callable[[int], None] | None = None,
                color: ColorTags = BT709) -> None:
    """Encode frames into an mp4 at ``output``, atomically, with ``sound`` as its audio.

    Frames are made on a second thread (:func:`~talkinghead.media.prefetch.prefetched`, up to 4
    ahead, which bounds memory) while this thread encodes; both release the GIL in their native
    code. Ctrl-C or a failure on either side stops both, and nothing is left at ``output``.

    Args:
        frames: uint8 ``[H, W, 3]`` RGB frames of ``size`` (or yuv420p ``av.VideoFrame``, see
            :meth:`~talkinghead.media.writer.VideoWriter.write`), made lazily (timed as ``render``).
        fps: frame rate.
        size: ``(width, height)``, even.
        sound: the audio track to mux: the speech (16 kHz mono) or the input file's own sound
            (:class:`~talkinghead.media.audio.AudioTrack`).
        output: the mp4 to write.
        timer: called with ``("render", seconds)`` for making each frame and ``("encode", seconds)``.
        progress: called with 1 per frame written.
        color: the output's colour tags (:class:`~talkinghead.media.yuv.ColorTags`).
    Raises:
        InputError: the video cannot be written.
    """
    import av

    from talkinghead.media.prefetch import prefetched

    tick = timer or (lambda stage, seconds: None)

    def made() -> Iterator[np.ndarray | av.VideoFrame]:
        it = iter(frames)
        while True:
            t = time.perf_counter()
            frame = next(it, None)
            tick("render", time.perf_counter() - t)
            if frame is None:
                return
            yield frame

    with VideoWriter(output, fps=fps, size=size, speech=sound, color=color) as writer:
        for frame in prefetched(made(), depth=4, name="talkinghead-render"):
            t0 = time.perf_counter()
            try:
                writer.write(frame)
            except (OSError, av.FFmpegError) as e:
                raise InputError(f"{output}: cannot write the video ({e})") from e
            tick("encode", time.perf_counter() - t0)
            if progress is not None:
                progress(1)
        t = time.perf_counter()
    tick("encode", time.perf_counter() - t)
