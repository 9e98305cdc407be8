"""Encoding frames to an mp4 while the next ones are made: the one writer loop of ``generate`` and ``dub``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np

from talkinghead.media.video import VideoWriter
from talkinghead.types import InputError, Speech

if TYPE_CHECKING:
    from talkinghead.media.audio import AudioTrack


def write_video(frames: Iterable[np.ndarray], fps: float, size: tuple[int, int], sound: Speech | AudioTrack,
                output: str | os.PathLike[str], timer: Callable[[str, float], None] | None = None,
                progress: Callable[[int], None] | None = None) -> None:
    """Encode frames into an mp4 at ``output``, atomically, with ``sound`` as its audio.

    Encoding runs in a second thread so it overlaps with making the next frame (both release
    the GIL in their native code); a small queue bounds memory.

    Args:
        frames: uint8 ``[H, W, 3]`` RGB frames of ``size``, made lazily (timed as ``render``).
        fps: frame rate.
        size: ``(width, height)``, even.
        sound: the audio track to mux: the speech (16 kHz mono) or the input file's own sound
            (:class:`~talkinghead.media.audio.AudioTrack`).
        output: the mp4 to write.
        timer: called with ``("render", seconds)`` for making each frame and ``("encode", seconds)``.
        progress: called with 1 per frame written.
    Raises:
        InputError: the video cannot be written.
    """
    import queue
    import threading

    import av


    tick = timer or (lambda stage, seconds: None)
    queued: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=4)
    failure: list[BaseException] = []
    stop = threading.Event()

    with VideoWriter(output, fps=fps, size=size, speech=sound) as writer:

        def encode() -> None:
            try:
                while (frame := queued.get()) is not None and not stop.is_set():
                    t0 = time.perf_counter()
                    writer.write(frame)
                    tick("encode", time.perf_counter() - t0)
                    if progress is not None:
                        progress(1)
            except BaseException as e:  # handed to the producing thread, which re-raises it
                failure.append(e)
                stop.set()

        worker = threading.Thread(target=encode, name="talkinghead-encode", daemon=True)
        worker.start()
        try:
            it = iter(frames)
            while True:
                t = time.perf_counter()
                frame = next(it, None)
                tick("render", time.perf_counter() - t)
                if frame is None:
                    break
                while not stop.is_set():
                    try:
                        queued.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
        except BaseException:
            stop.set()  # making frames failed or was interrupted: the encoder stops at its next frame
            raise
        finally:
            while worker.is_alive():
                try:
                    queued.put(None, timeout=0.1)
                    break
                except queue.Full:
                    if stop.is_set():
                        break
            _join_uninterrupted(worker, stop)
        if failure:
            e = failure[0]
            if isinstance(e, (OSError, av.FFmpegError)):
                raise InputError(f"{output}: cannot write the video ({e})") from e
            raise e
        t = time.perf_counter()
    tick("encode", time.perf_counter() - t)


def _join_uninterrupted(worker: object, stop: object) -> None:
    """Join the encoder thread even through Ctrl-C, so the container is never closed under it."""
    interrupted = False
    while True:
        try:
            worker.join()  # type: ignore[attr-defined]
            break
        except KeyboardInterrupt:
            stop.set()  # type: ignore[attr-defined]
            interrupted = True
    if interrupted:
        raise KeyboardInterrupt
