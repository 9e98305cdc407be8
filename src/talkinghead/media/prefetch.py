"""Making the next items on a second thread while the current one is used (decoding ahead of tracking).

Video decoding (PyAV), JPEG coding and OpenCV release the GIL in their native code, so a
producer thread runs on the second core while the consumer (MediaPipe tracking, rendering)
runs on the first.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
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
