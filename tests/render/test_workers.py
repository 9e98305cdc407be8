from __future__ import annotations

import cv2
import numpy as np
import pytest

from talkinghead.face.landmarks import find_face
from talkinghead.face.neutral import neutralize
from talkinghead.media.image import load_image
from talkinghead.render.renderer import RenderConfig, Renderer
from talkinghead.render.workers import SLOTS, RenderWorkers, render_workers_available

pytestmark = pytest.mark.skipif(not render_workers_available(), reason="render workers need fork (Linux)")


@pytest.fixture(scope="module")
def renderer(shared_data) -> Renderer:
    img = load_image(shared_data / "portraits" / "photo" / "sadtalker_people_0.png")
    face = find_face(img)
    return Renderer(img, face, neutralize(face), RenderConfig(size=128))


def motion(au_offsets, n: int) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """n frames of an opening and closing jaw, a turning head and a blink."""
    out = []
    for i in range(n):
        s = np.sin(np.pi * i / 6.0) ** 2
        pose = np.array([2.0 * s, -3.0 * s, 1.0 * s, 0.01 * s, 0.0, 0.0])
        out.append((au_offsets(jawOpen=0.7 * s, mouthStretch=0.3 * s), pose, float(i % 9 == 4)))
    return out


@pytest.mark.parametrize("n", [1, 2, 3])
def test_workers_render_the_same_frames_in_order(renderer, au_offsets, n) -> None:
    frames_in = motion(au_offsets, 2 * n * SLOTS + 5)  # more frames than the rings hold
    here = [renderer.render(*m) for m in frames_in]
    with RenderWorkers(renderer, n) as workers:
        there = list(workers.frames(iter(frames_in)))
        assert cv2.getNumThreads() == 1  # the pool is off while the workers live (it cannot be used after fork)
    assert len(there) == len(here)
    for a, b in zip(here, there):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert len({f.tobytes() for f in there}) > 3  # the frames differ from each other: not one frame repeated


def test_workers_restore_opencv_threads_and_can_be_reused_for_nothing(renderer) -> None:
    before = cv2.getNumThreads()
    with RenderWorkers(renderer, 2) as workers:
        assert list(workers.frames(iter([]))) == []
    assert cv2.getNumThreads() == before


def test_a_worker_error_is_raised_here(renderer, au_offsets) -> None:
    bad = [(au_offsets(), np.zeros(6), 0.0), (np.zeros((3, 3)), np.zeros(6), 0.0)]  # wrong landmark count
    with pytest.raises(Exception) as here:
        renderer.render(*bad[1])
    with RenderWorkers(renderer, 2) as workers:
        frames = workers.frames(iter(bad))
        assert next(frames).shape == (128, 128, 3)
        with pytest.raises(type(here.value)):  # what rendering here raises
            next(frames)


def test_a_lost_worker_leaves_the_frames_to_this_process(renderer, au_offsets, caplog) -> None:
    import logging

    frames_in = motion(au_offsets, 20)
    with RenderWorkers(renderer, 2) as workers:
        frames = workers.frames(iter(frames_in))
        got = [next(frames) for _ in range(3)]
        workers._workers[1][0].kill()  # a worker killed (out of memory, say) while frames are in flight
        with caplog.at_level(logging.WARNING, logger="talkinghead"):
            got += list(frames)
    assert "rendering process died" in caplog.text
    assert len(got) == 20 and all(np.array_equal(a, renderer.render(*m)) for a, m in zip(got, frames_in))


def test_a_hung_worker_leaves_the_frames_to_this_process(renderer, au_offsets, caplog, monkeypatch) -> None:
    import logging
    import os
    import signal

    import talkinghead.render.workers as workers_module

    monkeypatch.setattr(workers_module, "HUNG_S", 0.5)
    frames_in = motion(au_offsets, 20)
    with RenderWorkers(renderer, 2) as workers:
        frames = workers.frames(iter(frames_in))
        got = [next(frames) for _ in range(3)]
        hung = workers._workers[1][0]
        os.kill(hung.pid, signal.SIGSTOP)  # alive, but renders nothing more (a deadlock, say)
        with caplog.at_level(logging.WARNING, logger="talkinghead"):
            got += list(frames)
        assert not hung.is_alive()  # ended, not left behind
    assert "a rendering process gave no frame in 0.5 s; rendering the rest" in caplog.text
    assert len(got) == 20 and all(np.array_equal(a, renderer.render(*m)) for a, m in zip(got, frames_in))


def test_frames_can_be_taken_once(renderer, au_offsets) -> None:
    with RenderWorkers(renderer, 2) as workers:
        first = workers.frames(iter(motion(au_offsets, 10)))
        assert next(first).shape == (128, 128, 3)  # then abandoned, its replies still in the pipes
        with pytest.raises(RuntimeError, match="once"):
            next(workers.frames(iter(motion(au_offsets, 10))))


def test_workers_end_with_their_parent(shared_data, tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        "from talkinghead.face.landmarks import find_face\n"
        "from talkinghead.face.neutral import neutralize\n"
        "from talkinghead.media.image import load_image\n"
        "from talkinghead.render.renderer import RenderConfig, Renderer\n"
        "from talkinghead.render.workers import RenderWorkers\n"
        f"img = load_image({str(shared_data / 'portraits' / 'photo' / 'sadtalker_people_0.png')!r})\n"
        "face = find_face(img)\n"
        "w = RenderWorkers(Renderer(img, face, neutralize(face), RenderConfig(size=64)), 2)\n"
        "print(' '.join(str(p.pid) for p, _, _ in w._workers), flush=True)\n"
        "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(x) for x in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(os.path.exists(f"/proc/{p}") for p in pids)
        parent.send_signal(signal.SIGKILL)  # no clean-up of its own: the workers must notice
        parent.wait()
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.05)
        assert not any(_alive(p) for p in pids)
    finally:
        parent.kill()


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
