"""Live streaming: TalkingHeadPipeline.stream() and `talkinghead live` on real speech, from a file and from stdin."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from talkinghead.media.audio import load_speech  # noqa: E402
from talkinghead.media.image import load_image  # noqa: E402
from talkinghead.pipeline import GenerateConfig, TalkingHeadPipeline  # noqa: E402

ASSETS = Path(str(resources.files("talkinghead") / "assets"))
CLI = [sys.executable, "-m", "talkinghead.cli"]


@pytest.fixture(scope="module")
def pipe() -> TalkingHeadPipeline:
    return TalkingHeadPipeline(load_image(ASSETS / "astronaut.png"), GenerateConfig(size=128))


def test_stream_yields_rendered_frames_at_the_video_rate(pipe) -> None:
    x = load_speech(ASSETS / "jfk.flac").samples[:16000 * 3]
    got = list(pipe.stream(x[i:i + 320] for i in range(0, len(x), 320)))
    assert [t for t, _ in got] == pytest.approx(np.arange(75) / 25.0)
    frames = np.stack([f for _, f in got])
    assert frames.shape == (75, 128, 128, 3) and frames.dtype == np.uint8
    mouth = frames[:, 80:110, 40:88].astype(np.float32)
    assert np.abs(np.diff(mouth, axis=0)).mean() > 0.5  # the face moves as the speech goes


def test_a_late_frame_is_skipped_not_rendered(pipe) -> None:
    x = load_speech(ASSETS / "jfk.flac").samples[:16000]
    got = list(pipe.stream([x], late=lambda t: 0.2 <= t < 0.4))
    skipped = [t for t, f in got if f is None]
    assert skipped == pytest.approx([0.2, 0.24, 0.28, 0.32, 0.36])
    assert len(got) == 25


def test_live_cli_writes_an_mp4_with_stats_and_motion(tmp_path) -> None:
    from talkinghead.media.video import probe_video
    from talkinghead.types import MotionSequence

    out, stats, motion = tmp_path / "live.mp4", tmp_path / "s.json", tmp_path / "m.npz"
    r = subprocess.run([*CLI, "live", str(ASSETS / "astronaut.png"), "-a", str(ASSETS / "jfk.flac"), "-o", str(out),
                        "--size", "128", "--as-fast-as-possible", "--stats", str(stats), "--motion-out", str(motion)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    info = probe_video(out)
    assert info.width == 128 and info.has_audio and abs(info.duration_s - 11.0) < 0.1
    assert abs(_audio_seconds(out) - 11.0) < 0.1
    s = json.loads(stats.read_text())
    assert s["frames"] == 275 and s["dropped"] == 0 and s["speech_s"] == pytest.approx(11.0, abs=0.01)
    assert s["latency_median_ms"] is None or np.isnan(s["latency_median_ms"])  # not real time: no latency
    seq = MotionSequence.load(motion)
    assert seq.num_frames == 275 and seq.source == "learned-stream"
    assert "275 frames, 0 dropped" in r.stderr


def _audio_seconds(path: Path) -> float:
    import av

    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        return sum(f.samples for f in c.decode(stream)) / stream.rate


def test_live_sound_is_whole_when_frames_come_before_their_audio(tmp_path) -> None:
    """At 10 fps with no look-ahead a frame is made before the speech reaches its end: the mp4 must
    still carry all the speech (the writer reads the sound as it comes, the rest at the end)."""
    out = tmp_path / "live.mp4"
    r = subprocess.run([*CLI, "live", str(ASSETS / "astronaut.png"), "-a", str(ASSETS / "jfk.flac"), "-o", str(out),
                        "--size", "128", "--fps", "10", "--lookahead", "0", "-q"], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert abs(_audio_seconds(out) - 11.0) < 0.1


def test_live_reads_pcm_from_stdin_in_real_time_and_serves_mjpeg(tmp_path) -> None:
    x = load_speech(ASSETS / "jfk.flac", sample_rate=22050).samples[:22050 * 2]
    pcm = np.round(x * 32767).astype("<i2").tobytes()
    out, stats = tmp_path / "live.mp4", tmp_path / "s.json"
    p = subprocess.Popen([*CLI, "live", str(ASSETS / "astronaut.png"), "-a", "-", "--rate", "22050", "-o", str(out),
                          "--size", "128", "--stats", str(stats), "--mjpeg", "0"],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    line = p.stderr.readline().decode()  # "live: watch at http://127.0.0.1:PORT/"
    assert "http://127.0.0.1:" in line
    url = line.split("watch at ")[1].strip()
    page = urllib.request.urlopen(url, timeout=10)
    assert page.headers["Content-Type"].startswith("multipart/x-mixed-replace")
    step = 441 * 2  # 20 ms
    start = time.perf_counter()
    for i in range(0, len(pcm), step):  # as a microphone would: 20 ms every 20 ms
        p.stdin.write(pcm[i:i + step])
        p.stdin.flush()
        time.sleep(max(0.0, start + (i + step) / (2 * 22050) - time.perf_counter()))
    first = page.read(2000)
    assert b"Content-Type: image/jpeg" in first and b"\xff\xd8" in first  # a JPEG frame came through
    p.stdin.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 0, err
    s = json.loads(stats.read_text())
    assert s["frames"] == 50 and s["speech_s"] == pytest.approx(2.0, abs=0.005)  # the last partial chunk too
    assert 0 < s["latency_median_ms"] < 1000  # measured from each chunk's arrival


def test_live_speaks_text_through_offline_tts(tmp_path) -> None:
    pytest.importorskip("espeakng_loader")
    from talkinghead.media.video import probe_video

    out, stats = tmp_path / "live.mp4", tmp_path / "s.json"
    r = subprocess.run([*CLI, "live", str(ASSETS / "astronaut.png"), "--text", "Hello there, this is live.", "--voice",
                        "espeak:en-us", "-o", str(out), "--size", "128", "--as-fast-as-possible", "--stats", str(stats)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    s = json.loads(stats.read_text())
    assert 1.0 < s["speech_s"] < 4.0 and s["frames"] == round(s["speech_s"] * 25)
    assert probe_video(out).has_audio


@pytest.mark.parametrize("case", ["missing", "same_as_input", "bad_motion_out", "no_speech", "both"])
def test_live_bad_input_is_one_line_and_leaves_nothing(tmp_path, case: str) -> None:
    out = tmp_path / "o.mp4"
    args = {"missing": ["-a", str(tmp_path / "none.wav"), "-o", str(out)],
            "same_as_input": ["-a", str(ASSETS / "jfk.flac"), "-o", str(ASSETS / "astronaut.png")],
            "bad_motion_out": ["-a", str(ASSETS / "jfk.flac"), "-o", str(out), "--motion-out", str(tmp_path / "m.txt")],
            "no_speech": ["-o", str(out)],
            "both": ["-a", str(ASSETS / "jfk.flac"), "--text", "hello", "-o", str(out)]}[case]
    r = subprocess.run([*CLI, "live", str(ASSETS / "astronaut.png"), *args], capture_output=True, text=True, check=False)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_paced_holds_a_burst_to_the_speech_pace() -> None:
    from talkinghead.live import paced

    chunks = [np.zeros(320, np.float32)] * 15  # 0.3 s of speech, all at once
    t0 = time.perf_counter()
    out = list(paced(iter(chunks), 16000))
    assert len(out) == 15 and 0.27 <= time.perf_counter() - t0 < 0.6


def test_live_with_no_speech_on_stdin_fails_cleanly(tmp_path) -> None:
    out = tmp_path / "o.mp4"
    r = subprocess.run([*CLI, "live", str(ASSETS / "astronaut.png"), "-a", "-", "-o", str(out), "--size", "128"],
                       input=b"", capture_output=True, check=False)
    assert r.returncode == 2
    assert r.stderr.decode().strip().splitlines()[-1].startswith("error: ") and "no speech" in r.stderr.decode()
    assert list(tmp_path.iterdir()) == []
