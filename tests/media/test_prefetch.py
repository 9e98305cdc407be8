"""Items made ahead on a second thread: same order, errors where they happen, stopped when left."""

from __future__ import annotations

import threading
import time

import pytest

from talkinghead.media.prefetch import prefetched, prefetched_once_idle


def test_items_come_in_order_from_another_thread() -> None:
    seen = []

    def make():
        for i in range(50):
            seen.append(threading.current_thread().name)
            yield i

    assert list(prefetched(make(), depth=3, name="maker")) == list(range(50))
    assert set(seen) == {"maker"}


def test_an_error_while_making_is_raised_to_the_user_after_the_items_before_it() -> None:
    def make():
        yield 1
        yield 2
        raise ValueError("broken frame 3")

    got = []
    with pytest.raises(ValueError, match="broken frame 3"):
        for x in prefetched(make()):
            got.append(x)
    assert got == [1, 2]


def test_leaving_early_stops_the_maker() -> None:
    made = []

    def make():
        for i in range(10_000):
            made.append(i)
            yield i

    it = prefetched(make(), depth=2)
    assert next(it) == 0
    it.close()
    n = len(made)
    time.sleep(0.3)
    assert len(made) == n <= 5
    assert not any(t.name == "talkinghead-prefetch" for t in threading.enumerate())


def test_items_are_made_on_this_thread_while_busy_then_ahead_on_another() -> None:
    made_on: list[str] = []

    def items():
        for i in range(10):
            made_on.append(threading.current_thread().name)
            yield i

    asked = []

    def busy() -> bool:  # busy for the first three items, then free
        asked.append(1)
        return len(asked) <= 3

    assert list(prefetched_once_idle(items(), busy, name="ahead")) == list(range(10))
    here = threading.current_thread().name
    assert made_on[:3] == [here] * 3
    assert made_on[3:] == ["ahead"] * 7
    assert len(asked) == 4  # never asked again once free
    assert list(prefetched_once_idle(iter(range(2)), lambda: True)) == [0, 1]  # used up while busy
