"""Frames rendered in forked worker processes, alternate frames each, handed back in order.

On a 2-core machine the frame maker bounds a long run: one thread renders a frame (5-7 ms at
512², most of it Python-driven OpenCV calls holding the GIL) while libx264 encodes the one before
on the other core, which then idles part of the time, and a second rendering thread in the same
process only contends for the GIL (README, Speed). Processes avoid the GIL: the renderer is
forked (nothing to import or set up again: the child shares the parent's renderer copy-on-write),
each worker renders every ``n``-th frame into a ring of shared-memory slots, and the parent copies
each frame out in order. :meth:`Renderer.render <talkinghead.render.renderer.Renderer.render>` has
no state from frame to frame, so the frames are those the parent would have made, bit for bit.

Linux and other POSIX systems with ``fork`` only; :func:`render_workers_available` says whether
they can be used, and callers render in their own process otherwise.
"""

from __future__ import annotations

import logging
import mmap
import os
import pickle
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from talkinghead.render.renderer import Renderer

log = logging.getLogger("talkinghead")

#: Frames each worker may have rendered ahead of the parent (shared-memory slots per worker).
SLOTS = 3
#: Seconds to wait for a worker's next frame before it is taken as hung (a frame takes milliseconds).
HUNG_S = 60.0


def render_workers_available() -> bool:
    """True where worker processes can be forked (POSIX with ``fork``; not on Windows or macOS's default)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


#: Fewest frames worth rendering in worker processes: below this, starting them costs more than they
#: save (`python benchmarks/side_by_side.py --baseline 1ffd258 --repeats 5`, 512²: a 1 s clip, 25 frames,
#: 0.08 s slower; the demo, 275 frames, 0.35 s faster; 60 s, 1500 frames, 0.9-2.2 s faster).
RENDER_WORKERS_MIN_FRAMES = 200


#: Most rendering processes a job forks, however many cores (one encoder takes their frames; each
#: worker's ring holds three frames). Measured only on 2 cores.
MAX_RENDER_PROCESSES = 4


def render_processes(processes: int, frames: int) -> int:
    """Rendering processes for a job of ``frames`` frames that may use ``processes`` processes: none (render
    in this process) for 1 process or fewer than :data:`RENDER_WORKERS_MIN_FRAMES` frames, else one per core
    this process may run on (at least 2, at most :data:`MAX_RENDER_PROCESSES`); see :class:`RenderWorkers`."""
    from talkinghead.aside import usable_cores

    if processes <= 1 or frames < RENDER_WORKERS_MIN_FRAMES:
        return 0
    return max(2, min(usable_cores(), MAX_RENDER_PROCESSES))


class RenderWorkers:
    """``n`` forked processes that render a :class:`~talkinghead.render.renderer.Renderer`'s frames.

    Use as a context manager; :meth:`frames` yields the frames of a stream of per-frame motion in
    order. Leaving the block (also on an error or Ctrl-C) ends the workers.

    Args:
        renderer: the set-up renderer (shared with the children by ``fork``).
        n: worker processes (at least 1).
    Raises:
        OSError: a worker cannot be forked (the caller renders in its own process instead).
    """

    def __init__(self, renderer: Renderer, n: int = 2) -> None:
        import multiprocessing

        self.renderer = renderer
        w, h = renderer.output_size
        self._shape = (h, w, 3)
        self._frame_bytes = h * w * 3
        self._workers: list[tuple[object, Connection, mmap.mmap]] = []
        self._lock = threading.Lock()
        self._used = False
        self._closed = False
        _opencv_single_thread(True)
        ctx = multiprocessing.get_context("fork")
        try:
            for _ in range(max(1, n)):
                ring = mmap.mmap(-1, SLOTS * self._frame_bytes)  # anonymous, MAP_SHARED: seen by the child
                mine, theirs = ctx.Pipe()
                # The child closes this process's ends of every pipe so far (its own and the earlier
                # workers'): then the end of this process is an end of file to every worker.
                ours = [c for _, c, _ in self._workers] + [mine]
                proc = ctx.Process(target=_serve, args=(renderer, theirs, ring, self._shape, ours, os.getpid()),
                                   daemon=True, name="talkinghead-render")
                proc.start()
                theirs.close()
                self._workers.append((proc, mine, ring))
        except BaseException:
            self.close()
            raise

    def frames(self, motion: Iterable[tuple[np.ndarray, np.ndarray, float]]) -> Iterator[np.ndarray]:
        """Rendered frames, in order, of per-frame ``(offsets [478, 3], pose [6], blink)``.

        Where a worker dies (killed, out of memory) or hangs (no frame in :data:`HUNG_S`), the workers
        are ended and the rest of the frames are rendered in this process, with a warning: the same frames, later.

        Yields:
            uint8 ``[H, W, 3]`` RGB frames (each its own array).
        Raises:
            Exception: what :meth:`Renderer.render <talkinghead.render.renderer.Renderer.render>` raised
                in a worker (re-raised here).
        """
        with self._lock:
            if self._used or self._closed:
                raise RuntimeError("RenderWorkers.frames() can be used once, before close()")
            self._used = True
        n = len(self._workers)
        todo = iter(motion)
        waiting: dict[int, tuple] = {}  # frame index -> its motion, until the frame is back
        sent = 0

        def send_upto(limit: int) -> None:
            nonlocal sent
            while sent < limit:
                item = next(todo, None)
                if item is None:
                    return
                offsets, pose, blink = item
                waiting[sent] = (np.asarray(offsets), np.asarray(pose), float(blink))
                _, conn, _ = self._workers[sent % n]
                try:
                    conn.send((sent // n % SLOTS, *waiting[sent]))
                except OSError:  # the worker is gone: reported when its frame is waited for
                    pass
                sent += 1

        i = 0
        while True:
            send_upto(i + n * SLOTS)
            if i >= sent:
                return
            _, conn, ring = self._workers[i % n]
            try:
                if not conn.poll(HUNG_S):
                    lost = f"a rendering process gave no frame in {HUNG_S:g} s"
                    break
                reply = conn.recv()
            except (EOFError, OSError):
                lost = "a rendering process died"
                break
            if isinstance(reply, BaseException):
                raise reply
            slot = i // n % SLOTS
            view = np.frombuffer(ring, np.uint8, self._frame_bytes, slot * self._frame_bytes).reshape(self._shape)
            frame = view.copy()  # the slot is written again SLOTS frames later
            del view
            del waiting[i]
            i += 1
            yield frame
        log.warning("%s; rendering the rest of the frames in this process", lost)
        self.close()
        for k in sorted(waiting):
            yield self.renderer.render(*waiting[k])
        for offsets, pose, blink in todo:
            yield self.renderer.render(offsets, pose, blink)

    def close(self) -> None:
        """End the workers (idempotent; safe to call from two threads: the first one ends them)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers, self._workers = self._workers, []
        for proc, conn, ring in workers:
            try:
                conn.send(None)
            except (OSError, ValueError):
                pass
            try:
                conn.close()
            except OSError:
                pass
        for proc, _, ring in workers:
            proc.join(timeout=2.0)  # type: ignore[attr-defined]
            if proc.is_alive():  # type: ignore[attr-defined]
                proc.kill()  # type: ignore[attr-defined]
                proc.join()  # type: ignore[attr-defined]
            try:
                ring.close()
            except BufferError:  # a frame view still exported: the mapping goes with the object
                pass
        _opencv_single_thread(False)

    def __enter__(self) -> RenderWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: OpenCV's thread count to restore, and how many RenderWorkers hold it at one thread.
_opencv = {"threads": 0, "holders": 0}
_opencv_lock = threading.Lock()


def _opencv_single_thread(hold: bool) -> None:
    """Hold (True) or let go of (False) OpenCV at one thread, process-wide; the last to let go restores
    the count. OpenCV's pool cannot be reconfigured in a forked child (it waits for the parent's pool
    threads, which the child does not have), so the children are forked with the pool off."""
    import cv2

    with _opencv_lock:
        if hold:
            if _opencv["holders"] == 0:
                _opencv["threads"] = cv2.getNumThreads()
                cv2.setNumThreads(1)
            _opencv["holders"] += 1
        elif _opencv["holders"] > 0:
            _opencv["holders"] -= 1
            if _opencv["holders"] == 0:
                cv2.setNumThreads(_opencv["threads"])


def _serve(renderer: Renderer, conn: Connection, ring: mmap.mmap, shape: tuple[int, int, int],
           parents_ends: list[Connection], parent: int) -> None:
    """A worker: render each request ``(slot, offsets, pose, blink)`` into its slot and reply with the slot.

    It ends at a ``None`` request, at the end of its pipe, and with the parent (Linux: SIGKILL when the
    parent dies); Ctrl-C is the parent's to handle (it ends the workers)."""
    from talkinghead.aside import forked_child

    for c in parents_ends:
        c.close()
    if not forked_child(parent):
        return
    size = int(np.prod(shape))
    try:
        while True:
            try:
                req = conn.recv()
            except EOFError:
                return
            if req is None:
                return
            slot, offsets, pose, blink = req
            frame = renderer.render(offsets, pose, blink)
            np.frombuffer(ring, np.uint8, size, slot * size).reshape(shape)[...] = frame
            conn.send(slot)
    except Exception as e:  # reported to the parent, which raises it
        try:
            pickle.loads(pickle.dumps(e))
        except Exception:  # an error that does not travel: its description does
            e = RuntimeError(f"rendering failed: {e!r}")
        try:
            conn.send(e)
        except Exception:
            pass
