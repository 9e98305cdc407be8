"""Making the next items on a second thread while the current one is used (decoding ahead of tracking).

Video decoding (PyAV), JPEG coding and OpenCV release the GIL in their native code, so a
producer thread runs on the second core while the consumer (MediaPipe tracking, rendering)
runs on the first.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def prefetched(items: Iterable[T], depth: int = 4, name: str = "talkinghead-prefetch") -> Iterator[T]:
    """Iterate ``items``, produced on a background thread up to ``depth`` items ahead.

    Args:
        items: any iterable (its iterator runs on the background thread).
        depth: most items made but not yet taken (bounds memory), >= 1.
        name: the thread's name.
    Yields:
        The items, in order.
    Raises:
        Whatever iterating ``items`` raised, at the point it was raised. Leaving the loop early
        (break, an exception) stops the producer at its next item.
    """
    q: queue.Queue[object] = queue.Queue(maxsize=max(1, int(depth)))
    stop = threading.Event()
    failure: list[BaseException] = []

    def put(x: object) -> bool:
        while not stop.is_set():
            try:
                q.put(x, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for x in items:
                if not put(x):
                    return
        except BaseException as e:  # handed to the consuming thread, which re-raises it
            failure.append(e)
        put(_END)

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            x = q.get()
            if x is _END:
                break
            yield x  # type: ignore[misc]
        if failure:
            raise failure[0]
    finally:
        stop.set()
        worker.join(timeout=5.0)


def prefetched_once_idle(items: Iterable[T], busy: Callable[[], bool], depth: int = 4,
                         name: str = "talkinghead-prefetch") -> Iterator[T]:
    """Iterate ``items`` on this thread while ``busy()`` says the second core is taken, then
    :func:`prefetched` (on a background thread) from the first item after it says it is free.

    For work that shares the machine with a second process (the dub's first pass beside the speech
    analysis): a producer thread there only takes CPU from that process, which then finishes later
    while this one waits with a core idle (720p dub of 30 s: the main process waited 0.3-2.2 s for the
    phones in five runs; ``python benchmarks/side_by_side.py --jobs dub --repeats 5``: 13.91 -> 12.87 s).

    Args:
        items: any iterable (consumed on this thread, then on the background thread, never on both).
        busy: called before each item until it first returns False (cheap: :meth:`talkinghead.aside.Aside.running`).
        depth, name: as :func:`prefetched`.
    Yields:
        The items, in order. Errors as :func:`prefetched`.
    """
    it = iter(items)
    while busy():
        x = next(it, _END)
        if x is _END:
            return
        yield x  # type: ignore[misc]
    yield from prefetched(it, depth=depth, name=name)
