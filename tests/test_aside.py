"""A call run in a second process: its value, its error, and a child that is ended when left."""

from __future__ import annotations

import os
import sys
import time

import pytest

from talkinghead.aside import Aside, WorkerLost
from talkinghead.types import InputError


def test_the_call_returns_its_value_from_another_process() -> None:
    with Aside(os.getpid) as child:
        assert child.result() != os.getpid()
    with Aside(divmod, 17, 5) as child:
        assert child.result() == (3, 2)


def test_the_childs_error_is_raised_here() -> None:
    from talkinghead.media.image import load_image

    with Aside(load_image, "/nonexistent/face.png") as child, pytest.raises(InputError, match="face.png"):
        child.result()


def test_a_child_that_dies_is_a_clear_error_and_leaving_ends_a_running_one() -> None:
    with Aside(os._exit, 3) as child, pytest.raises(WorkerLost, match="exit status 3"):
        child.result()
    t = time.perf_counter()
    with Aside(time.sleep, 30):
        pass
    assert time.perf_counter() - t < 5


def test_leaving_ends_what_the_child_started_too(tmp_path) -> None:
    import subprocess

    pid_file = tmp_path / "pid"
    with Aside(subprocess.run, ["sh", "-c", f"echo $$ > {pid_file}; exec sleep 30"]):
        for _ in range(100):
            if pid_file.exists() and pid_file.read_text().strip():
                break
            time.sleep(0.05)
    pid = int(pid_file.read_text())
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"the grandchild {pid} outlived its Aside")


def test_arguments_that_do_not_pickle_lose_the_worker() -> None:
    with Aside(divmod, lambda: 1, 2) as child, pytest.raises(WorkerLost):
        child.result()


def log_and_return(level: int, value: int) -> int:
    """Run in the child: logs at ``level`` through a talkinghead logger, then returns ``value``."""
    import logging

    logging.getLogger("talkinghead.test_aside").log(level, "from the child: %d", value)
    return value


def test_the_childs_log_reaches_this_process_handlers(monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    import logging
    from pathlib import Path

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))
    with caplog.at_level(logging.INFO, logger="talkinghead"):
        with Aside(log_and_return, logging.WARNING, 7) as child:
            assert child.result() == 7
        with Aside(log_and_return, logging.DEBUG, 8) as child:  # below the caller's level: not sent
            assert child.result() == 8
    got = [(r.name, r.levelno, r.getMessage()) for r in caplog.records if r.name == "talkinghead.test_aside"]
    assert got == [("talkinghead.test_aside", logging.WARNING, "from the child: 7")]
    assert log_and_return.__module__ == "test_aside"  # what the child imported


WARMED = False


def _warm() -> None:
    """A child's warm-up: marks its module."""
    global WARMED
    WARMED = True


def warmed() -> bool:
    """Run in the child: whether :func:`_warm` ran there first."""
    return WARMED


def test_a_deferred_call_runs_after_the_warm_up_and_a_failing_warm_up_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))
    with Aside(warmed, warm=("talkinghead.no_such_module:f", f"{__name__}:_warm"), defer=True) as child:
        child.call()
        assert child.result() is True
        with pytest.raises(RuntimeError, match="already sent"):
            child.call()
    with Aside(warmed, defer=True) as child:
        child.call()
        assert child.result() is False
    with Aside(warmed, defer=True) as child, pytest.raises(RuntimeError, match="no call was sent"):
        child.result()


def test_a_deferred_child_never_called_is_ended_with_its_pipe_and_arguments_belong_to_call() -> None:
    child = Aside(os.getpid, defer=True)
    proc = child._proc
    assert proc is not None and proc.poll() is None  # started, waiting for its call
    child.close()
    assert proc.poll() is not None and proc.stdin.closed
    with pytest.raises(ValueError, match="call()"):
        Aside(divmod, 17, 5, defer=True)


def test_a_call_with_here_keeps_no_arguments_and_its_fallback_makes_them_again(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    with Aside(divmod, 17, 5, here=lambda: (9, 4)) as child:
        assert child._args is None  # nothing kept for the fallback
        assert child.result_or_here() == (3, 2)  # the child had the call's own arguments
    monkeypatch.setattr(sys, "executable", "/bin/false")  # the child ends without a result
    with Aside(divmod, 17, 5, here=lambda: (9, 4)) as child:
        assert child.result_or_here() == (2, 1)  # here, on here()'s arguments
        assert child._here is None  # once


def test_running_is_true_while_the_child_works_and_false_once_it_has_ended() -> None:
    with Aside(time.sleep, 0.5) as child:
        assert child.running()
        child.result()
        assert not child.running()


def test_a_child_writing_a_large_reply_is_no_longer_running() -> None:
    import numpy as np

    with Aside(np.zeros, 2_000_000) as child:  # 16 MB: the child waits on the pipe until it is read
        deadline = time.perf_counter() + 30
        while child.running() and time.perf_counter() < deadline:
            time.sleep(0.05)
        assert not child.running()
        assert child._proc is not None and child._proc.poll() is None  # still there, writing
        assert len(child.result()) == 2_000_000


#: fork_map forks only on Linux (elsewhere it returns None, tested below).
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork_map forks on Linux only")


def _pid_and_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


@linux_only
def test_fork_map_computes_in_forked_processes_in_the_items_order() -> None:
    from talkinghead.aside import fork_map

    items = list(range(7))
    out = fork_map(_pid_and_square, items, 3, cost=lambda x: x)
    assert out is not None and [sq for _, sq in out] == [x * x for x in items]
    pids = {pid for pid, _ in out}
    assert os.getpid() not in pids and 1 < len(pids) <= 3  # the work was shared between children
    # a closure works too: it is inherited at the fork, never pickled
    offset = 10
    assert fork_map(lambda x: x + offset, items, 2) == [x + offset for x in items]


def test_fork_map_forks_nothing_where_it_cannot_or_need_not() -> None:
    import threading

    from talkinghead.aside import fork_map

    assert fork_map(_pid_and_square, [1], 4) is None  # one item
    assert fork_map(_pid_and_square, [1, 2, 3], 1) is None  # one worker
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:  # another thread's locks would be copied into the children: no fork
        assert fork_map(_pid_and_square, [1, 2, 3], 2) is None
    finally:
        stop.set()
        other.join()


def _fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x


def _fail_on_three_or_sleep(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    time.sleep(5.0)
    return x


@linux_only
def test_fork_map_raises_the_workers_error_at_once() -> None:
    from talkinghead.aside import fork_map

    with pytest.raises(ValueError, match="three"):
        fork_map(_fail_on_three, list(range(6)), 2)
    t = time.perf_counter()
    with pytest.raises(ValueError, match="three"):  # the others' long items are not waited for
        fork_map(_fail_on_three_or_sleep, list(range(8)), 3, cost=lambda x: x == 3)
    assert time.perf_counter() - t < 4.0


def _warn_and_double(x: int) -> int:
    import logging

    logging.getLogger("talkinghead.test").warning("worker saw %d", x)
    return 2 * x


@linux_only
def test_fork_map_hands_the_workers_log_to_this_process(caplog: pytest.LogCaptureFixture) -> None:
    from talkinghead.aside import fork_map

    with caplog.at_level("WARNING", logger="talkinghead"):
        assert fork_map(_warn_and_double, [1, 2, 3], 2) == [2, 4, 6]
    assert sorted(r.getMessage() for r in caplog.records if r.name == "talkinghead.test") == [
        f"worker saw {x}" for x in (1, 2, 3)]


@linux_only
def test_fork_map_gives_none_and_leaves_no_process_where_the_fork_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    from talkinghead.aside import fork_map

    real, forks = os.fork, []

    def second_fails() -> int:
        forks.append(1)
        if len(forks) == 2:
            raise BlockingIOError("no more processes")
        return real()

    monkeypatch.setattr(os, "fork", second_fails)
    assert fork_map(_pid_and_square, list(range(4)), 3) is None
    monkeypatch.setattr(os, "fork", real)
    assert len(forks) == 2 and multiprocessing.active_children() == []  # the first worker was ended


@linux_only
def test_fork_map_does_a_lost_workers_part_here(caplog: pytest.LogCaptureFixture) -> None:
    import signal

    from talkinghead.aside import fork_map

    parent = os.getpid()

    def dies_in_a_child_on_two(x: int) -> tuple[int, int]:
        if x == 2 and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.05)
        return _pid_and_square(x)

    with caplog.at_level("WARNING", logger="talkinghead"):
        out = fork_map(dies_in_a_child_on_two, list(range(5)), 2, what="squares")
    assert out is not None and [sq for _, sq in out] == [0, 1, 4, 9, 16]
    assert out[2][0] == parent  # done here (with every other part not done when the pool broke)
    assert any("squares" in r.getMessage() and "lost" in r.getMessage() for r in caplog.records)
