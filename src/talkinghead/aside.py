"""A function call run in a second Python process, beside the caller's work.

Used where a library holds the GIL for long stretches (pocketsphinx decodes a whole utterance
without releasing it), so a thread cannot overlap it with other work. The child is a fresh
``python -c`` that imports only the called function's module: unlike :mod:`multiprocessing`'s
spawn, it never re-imports the caller's ``__main__``, so a user's script without an
``if __name__ == "__main__"`` guard is not run again. Arguments and the result travel pickled
over the child's stdin (written by a thread, so the caller goes on at once) and a private copy
of its stdout (anything the child prints goes to stderr). Start-up costs about 0.3-0.5 s of the
other core.

Where no second process can be had (none starts, or it dies), :meth:`Aside.result_or_here`
runs the call in the caller's process instead, with a warning. What the child logs through the
``talkinghead`` loggers, at the caller's level, comes back with the result and is handed to the
caller's own loggers (so a caller's handlers see the child's warnings, and a progress bar is not
written over from another process).

The first child starts a process group of its own (a nested call's child joins it), so Ctrl-C
at the terminal reaches only the caller, and :meth:`Aside.close` ends the whole group:
no grandchild is left decoding. On Linux a child also dies with its parent.

:func:`fork_map` is the other way to use more cores here: many independent calls (the chunks of
speech recognition and of forced alignment) shared between forked copies of this process, which
need no start-up (the decoder already loaded here is theirs too).
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

_SERVE = "from talkinghead.aside import _serve; _serve()"
#: Set in a child's environment: its own children join its process group.
_NESTED = "TALKINGHEAD_ASIDE_CHILD"


log = logging.getLogger("talkinghead")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity; the machine's count where that is not known)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 2


#: Most processes :func:`fork_map` forks, however many cores (each forked pocketsphinx decoder holds
#: about 40 MB of its own; measured only on 2 cores, where 3 are used).
MAX_FORKED = 5


def fork_map(fn: Callable[[Any], Any], items: Sequence[Any], workers: int | None = None, what: str = "",
             cost: Callable[[Any], float] | None = None) -> list[Any] | None:
    """``[fn(item) for item in items]``, computed by ``workers`` forked copies of this process.

    Each worker takes the next item left (the costliest first, by ``cost``), so the work stays
    shared to its end; the OS shares the cores between the workers (more workers than cores lets
    a few long items share them too). The children are forked (Linux only): ``fn``, ``items`` and
    whatever they use (a loaded decoder, the samples) are theirs without copying or pickling; only
    item numbers go to them, and results come back pickled with what ``fn`` logged through the
    ``talkinghead`` loggers (handed to this process's loggers). They ignore Ctrl-C and die with this process.

    Args:
        fn: called on each item in a child (any callable; it is not pickled).
        items: the work; at least two for any process to be forked.
        workers: processes to fork (at most ``len(items)`` and :data:`MAX_FORKED`); None: one more than the
            cores this process may run on, so that a few long items share the cores to the end.
        what: what the work is, for the warning where a worker is lost.
        cost: an item's expected cost (any scale), for the order the items are taken in.
    Returns:
        The results in the order of ``items``; None, with nothing done, where no process is forked
        here: ``workers`` or ``items`` under 2, not Linux, other Python threads running (a forked
        child would inherit the locks they hold), or the fork failing (no process left over). Where a
        worker dies (killed, out of memory) the others are ended too, and every item not yet done is
        computed in this process, with a warning.
    Raises:
        Whatever ``fn`` raised in a worker (the first in the order taken; the workers are ended at once).
    """
    global _forked
    workers = min(usable_cores() + 1 if workers is None else workers, len(items), MAX_FORKED)
    if workers < 2 or not sys.platform.startswith("linux") or threading.active_count() > 1:
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    order = sorted(range(len(items)), key=lambda i: -cost(items[i])) if cost is not None else list(range(len(items)))
    results: dict[int, Any] = {}
    lost: list[int] = []
    _forked = (fn, items)  # inherited by the children at the fork (the pool forks them all at its first submit)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_forked_init,
                               initargs=(os.getpid(),))
    try:
        try:
            futures = {order[0]: pool.submit(_forked_call, order[0])}
        except OSError as e:  # no process to be had (a limit on processes, no memory)
            log.debug("fork_map: no worker process (%s)", e)
            _end(pool)
            return None
        futures.update((i, pool.submit(_forked_call, i)) for i in order[1:])
        _forked = None
        for i, future in futures.items():
            try:
                results[i], records = future.result()
            except BrokenProcessPool:
                lost.append(i)
                continue
            for record in records:  # the worker's log, through this process's handlers
                logging.getLogger(record.name).handle(record)
    except BaseException:  # fn's error or Ctrl-C: nothing more is computed
        _end(pool)
        raise
    finally:
        _forked = None
    pool.shutdown()  # every part is in: the workers and the pool's thread end at once
    if lost:
        log.warning("%s: a worker process was lost; %d of %d parts are done in this process",
                    what or getattr(fn, "__qualname__", "work"), len(lost), len(items))
        for i in lost:
            results[i] = fn(items[i])
    return [results[i] for i in range(len(items))]


#: ``(fn, items)`` of the :func:`fork_map` call being forked (read by its children).
_forked: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def _end(pool: Any) -> None:
    """End a :func:`fork_map` pool now: its workers killed, not waited for to finish their items."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for proc in procs:
        try:
            proc.kill()
        except (OSError, ValueError, AttributeError):
            pass
    pool.shutdown(wait=True, cancel_futures=True)
    for proc in procs:  # reaped (where the pool's own thread never started, nothing else would)
        try:
            proc.join(timeout=5.0)
        except (OSError, ValueError, AssertionError, AttributeError):
            pass


def forked_child(parent: int) -> bool:
    """Set up a forked worker process (of :func:`fork_map` or the rendering workers): Ctrl-C is left to
    its parent (which ends its workers), and it dies with the parent (Linux). False where the parent,
    process ``parent``, died before that was asked for: the worker should end at once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    return os.getppid() == parent


def _forked_init(parent: int) -> None:
    """A :func:`fork_map` child: :func:`forked_child`, and keeps what it logs for its parent."""
    if not forked_child(parent):
        os._exit(1)
    global _collected
    _collected = _RecordList()
    log.handlers = [_collected]  # not written here too: the parent hands the records to its own handlers
    log.propagate = False


#: A :func:`fork_map` child's log records since its current item began.
_collected: _RecordList | None = None


def _forked_call(i: int) -> tuple[Any, list[logging.LogRecord]]:
    assert _forked is not None and _collected is not None, "fork_map: called outside a forked child"
    fn, items = _forked
    _collected.records = []
    return fn(items[i]), _collected.records


class WorkerLost(RuntimeError):
    """The second process ended without a result (not started, killed, crashed, or not a working Python)."""


class Aside:
    """``fn(*args)`` running in a second process; :meth:`result` waits for it.

    Use as a context manager: leaving the block ends the child if it is still running.

    Args:
        fn: a module-level function (found again by module and name in the child).
        args: picklable arguments.
        what: what the call does, for the warning where it falls back to this process.
        warm: ``"module:function"`` names of functions without arguments that the child runs
            while it waits for the call (imports, models to load), best effort: one that fails is skipped.
        defer: start the child now but send the call later, with :meth:`call` (so its start-up
            and ``warm`` overlap the caller's work before the arguments exist).
        here: as for :meth:`call` (without ``defer``).
    A child that cannot be started is reported by :meth:`result` (:class:`WorkerLost`).
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, what: str = "", warm: tuple[str, ...] = (),
                 defer: bool = False, here: Callable[[], tuple] | None = None) -> None:
        self._fn, self._args, self._what = fn, args, what or fn.__qualname__
        self._group = not os.environ.get(_NESTED)  # the first child leads a process group
        self._proc: subprocess.Popen[bytes] | None = None
        self._not_started = ""
        self._called = False
        self._here: Callable[[], tuple] | None = None
        if defer and (args or here is not None):
            raise ValueError("Aside(..., defer=True) takes its arguments (and here) in call(), not here")
        try:
            if not sys.executable:
                raise OSError("no Python executable to start")
            self._proc = subprocess.Popen([sys.executable, "-c", _SERVE, *warm], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, start_new_session=self._group,
                                          env={**os.environ, _NESTED: "1"})
        except OSError as e:
            self._not_started = f"no second process: {e}"
        if not defer:
            self.call(*args, here=here)

    def call(self, *args: Any, here: Callable[[], tuple] | None = None) -> None:
        """Send the call ``fn(*args)`` to a child started with ``defer=True`` (once).

        ``here``: where given, ``args`` are not kept for :meth:`result_or_here`'s fallback (nothing here
        holds them once they are sent: an hour of speech is 230 MB); the fallback calls ``fn(*here())``.

        Raises:
            RuntimeError: the call was already sent.
        """
        if self._called:
            raise RuntimeError(f"{self._what}: the call was already sent")
        self._called, self._args, self._here = True, (None if here is not None else args), here
        if self._proc is None:
            return
        call = (self._fn.__module__, self._fn.__qualname__, args, log.getEffectiveLevel())
        self._writer = threading.Thread(target=self._send, args=(call,), name="talkinghead-aside-send", daemon=True)
        self._writer.start()

    def _send(self, call: tuple) -> None:
        """Pickle the call straight into the child's stdin (no copy of large arguments in memory)."""
        assert self._proc is not None
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            pickle.dump(call, stdin, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError:
            pass  # the child died or was ended: result() reports it
        except Exception:  # arguments that do not pickle: the child gets a broken call and ends
            self._proc.kill()
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    def result(self) -> Any:
        """Wait for the call and return its value, or raise the exception it raised.

        Raises:
            WorkerLost: the child did not start, or ended without a result (killed, crashed, not a working Python).
            RuntimeError: its result or exception could not be pickled, or (``defer=True``) no call was sent.
        """
        if not self._called:
            raise RuntimeError(f"{self._what}: no call was sent (Aside(..., defer=True) needs call())")
        if self._proc is None:
            raise WorkerLost(self._not_started)
        assert self._proc.stdout is not None
        try:
            status, value, records = pickle.load(self._proc.stdout)
        except (EOFError, pickle.UnpicklingError):
            self._proc.wait()
            raise WorkerLost(f"the worker process ended without a result (exit status {self._proc.returncode})") from None
        except Exception as e:  # a result or exception that pickles but will not unpickle here
            raise RuntimeError(f"the worker's result cannot be read ({type(e).__name__}: {e})") from e
        finally:
            self._proc.stdout.close()
        self._proc.wait()
        for record in records:  # the child's log, through this process's handlers
            logging.getLogger(record.name).handle(record)
        if status == "error":
            raise value
        return value

    def result_or_here(self) -> Any:
        """:meth:`result`, or, where the child is lost (:class:`WorkerLost`), the call run in this process
        (once: the arguments are let go afterwards), with the arguments of :meth:`call`'s ``here`` where given."""
        try:
            return self.result()
        except WorkerLost as e:
            if self._args is None and self._here is None:
                raise RuntimeError(f"{self._what}: the result was already taken") from e
            log.warning("%s runs in this process (%s)", self._what, e)
            args = self._args if self._args is not None else self._here()  # type: ignore[misc]
            return self._fn(*args)
        finally:
            self._args = self._here = None  # kept only for this fallback: let large arguments go

    def running(self) -> bool:
        """Whether the child is still at work: started, not ended, and not yet writing its reply (a reply
        larger than the pipe holds keeps the child alive until :meth:`result` reads it). False where
        that cannot be told without waiting (no ``select`` on pipes: Windows)."""
        if self._proc is None or self._proc.poll() is not None or self._proc.stdout is None:
            return False
        try:
            replying, _, _ = select.select([self._proc.stdout], [], [], 0)
        except (OSError, ValueError):
            return False
        return not replying

    def close(self) -> None:
        """End the child if it is still running (its result is dropped)."""
        if self._proc is None:
            return
        if not self._called and self._proc.stdin is not None and not self._proc.stdin.closed:
            try:  # deferred and never called: the writer thread that would close it never ran
                self._proc.stdin.close()
            except OSError:
                pass
        if self._proc.poll() is None:
            try:
                if self._group:
                    os.killpg(self._proc.pid, signal.SIGKILL)  # the child and any it started
                else:
                    self._proc.kill()
            except OSError:
                pass  # it ended meanwhile
        self._proc.wait()
        if self._proc.stdout is not None and not self._proc.stdout.closed:
            self._proc.stdout.close()

    def __enter__(self) -> Aside:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve() -> None:
    """The child's body: read the call from stdin, run it, write ``(status, value)`` to the saved stdout."""
    import importlib

    _die_with_parent()
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # prints go to stderr; stdout's copy carries only the result
    records = _RecordList()  # before the warm-up: what it logs also goes back with the result
    log.addHandler(records)
    log.propagate = False
    log.setLevel(logging.WARNING)
    for spec in sys.argv[1:]:  # warm-up while the call is on its way (best effort)
        try:
            mod, _, attr = spec.partition(":")
            getattr(importlib.import_module(mod), attr)()
        except Exception:
            pass
    try:
        module, name, args, level = pickle.load(sys.stdin.buffer)
    except EOFError:  # a deferred call that never came: the caller closed our stdin
        return
    log.setLevel(level)
    fn: Any = importlib.import_module(module)
    for part in name.split("."):
        fn = getattr(fn, part)
    try:
        reply = ("ok", fn(*args), records.records)
    except Exception as e:  # raised again in the parent (without the traceback, whose frames hold the arguments)
        e.__cause__ = e.__context__ = None  # their tracebacks' frames would hold the arguments too
        reply = ("error", e.with_traceback(None), records.records)
    del args  # not held while the reply is pickled (an hour of speech sent for analysis: 230 MB)
    try:
        data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:  # an unpicklable result or exception: say so instead
        data = pickle.dumps(("error", RuntimeError(f"the worker's result cannot be sent back ({type(e).__name__}: {e})"),
                             []))
    try:
        out.write(data)
        out.flush()
    except BrokenPipeError:  # the caller no longer waits for it
        pass


class _RecordList(logging.Handler):
    """Keeps the child's log records, made picklable (message formatted, traceback as text), for the parent."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args, record.exc_info = record.getMessage(), None, None
        self.records.append(record)


def _die_with_parent() -> None:
    """Linux: ask for SIGKILL when the parent process ends (best effort; nothing elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
