"""VideoWriter (streaming, atomic mp4), read_video, probe_video, ensure_distinct."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import av
import numpy as np
import pytest

from talkinghead.media import VideoInfo, VideoWriter, ensure_distinct, load_speech, probe_video, read_video
from talkinghead.types import InputError, Speech

W, H = 128, 96


def _frame(i: int) -> np.ndarray:
    """A frame with large flat colour patches that change with ``i`` (easy to recognise after H.264)."""
    f = np.zeros((H, W, 3), np.uint8)
    f[:, : W // 2] = (200, 40, 40)
    f[:, W // 2 :] = (40, 40, 200)
    f[: H // 2, :, 1] = (i * 37) % 256
    return f


def _speech(seconds: float, sample_rate: int = 16000, onset_s: float = 0.0) -> Speech:
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    x = np.where(t >= onset_s, 0.5 * np.sin(2 * np.pi * 440 * t), 0.0).astype(np.float32)
    return Speech(samples=x, sample_rate=sample_rate)


def _write(path: Path, n: int, fps: float = 25.0, speech: Speech | None = None) -> Path:
    with VideoWriter(path, fps, (W, H), speech) as writer:
        for i in range(n):
            writer.write(_frame(i))
    return path


def test_writer_round_trip(tmp_path: Path) -> None:
    path = _write(tmp_path / "out.mp4", 50, 25.0, _speech(2.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]  # no temporary left behind
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"
        assert (video.codec_context.width, video.codec_context.height) == (W, H)
        assert audio.codec_context.name == "aac"
        assert audio.rate == 16000
        v_dur = float(video.duration * video.time_base)
        a_dur = float(audio.duration * audio.time_base)
        assert v_dur == pytest.approx(2.0, abs=1e-3)
        assert a_dur == pytest.approx(v_dur, abs=1 / 25)
        # Both tracks start at t = 0.
        assert float(video.start_time * video.time_base) == pytest.approx(0.0, abs=1e-3)
        assert float(audio.start_time * audio.time_base) == pytest.approx(0.0, abs=1e-3)
    frames = list(read_video(path))
    assert len(frames) == 50
    assert frames[0].shape == (H, W, 3) and frames[0].dtype == np.uint8
    for i in (0, 17, 49):
        assert np.abs(frames[i].astype(int) - _frame(i)).mean() < 4


def test_audio_aligned_with_first_frame(tmp_path: Path) -> None:
    # A tone that starts exactly at 1.0 s must start at 1.0 s in the file (AAC priming trimmed).
    for rate in (16000, 37000):  # 37 kHz is not an AAC rate: resampled to 48 kHz
        path = _write(tmp_path / f"onset_{rate}.mp4", 50, 25.0, _speech(2.0, rate, onset_s=1.0))
        decoded = load_speech(path, sample_rate=16000)
        onset = np.argmax(np.abs(decoded.samples) > 0.05) / 16000
        assert onset == pytest.approx(1.0, abs=0.005)
        assert decoded.duration_s == pytest.approx(2.0, abs=0.06)


def test_probe_written_video(tmp_path: Path) -> None:
    info = probe_video(_write(tmp_path / "out.mp4", 50, 25.0, _speech(2.0)))
    assert info == VideoInfo(fps=25.0, num_frames=50, width=W, height=H, duration_s=pytest.approx(2.0), has_audio=True)
    silent = probe_video(_write(tmp_path / "silent.mp4", 5, 25.0))
    assert silent.has_audio is False and silent.num_frames == 5


def test_fractional_fps(tmp_path: Path) -> None:
    info = probe_video(_write(tmp_path / "odd.mp4", 30, 22.13))
    assert info.fps == pytest.approx(22.13, abs=1e-6)
    assert info.num_frames == 30
    assert info.duration_s == pytest.approx(30 / 22.13, abs=1e-3)


def test_read_video_constant_rate(tmp_path: Path) -> None:
    path = _write(tmp_path / "ten.mp4", 10, 10.0)  # 1 s, frames at 0.0, 0.1, ... 0.9
    originals = [_frame(i) for i in range(10)]

    def which(frame: np.ndarray) -> int:
        return int(np.argmin([np.abs(frame.astype(int) - o).mean() for o in originals]))

    doubled = list(read_video(path, fps=20.0))
    assert [which(f) for f in doubled] == [i // 2 for i in range(20)]
    halved = list(read_video(path, fps=5.0))
    assert [which(f) for f in halved] == [0, 2, 4, 6, 8]
    with pytest.raises(ValueError):
        read_video(path, fps=0)


def test_display_rotation_applied(tmp_path: Path) -> None:
    # Stored 64 wide x 32 high, left half red; the display matrix says "rotate 90 degrees
    # clockwise" (as phones store portrait video): shown 32 wide x 64 high, red on top.
    path = tmp_path / "rotated.mp4"
    stored = np.zeros((32, 64, 3), np.uint8)
    stored[:, :32] = (255, 0, 0)
    stored[:, 32:] = (0, 0, 255)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.set_display_rotation(-90)
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    info = probe_video(path)
    assert (info.width, info.height) == (32, 64)
    frames = list(read_video(path))
    assert len(frames) == 3 and frames[0].shape == (64, 32, 3)
    assert frames[0][8, 16, 0] > 200 and frames[0][56, 16, 2] > 200


def test_exception_inside_with_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with VideoWriter(out, 25.0, (W, H), _speech(2.0)) as writer:
            for i in range(10):
                writer.write(_frame(i))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_existing_file(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous result")
    with pytest.raises(ValueError, match="frame must be"):
        with VideoWriter(out, 25.0, (W, H)) as writer:
            writer.write(_frame(0))
            writer.write(np.zeros((H, W, 4), np.uint8))  # wrong shape
    assert out.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_no_frames_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no video frames"):
        with VideoWriter(tmp_path / "empty.mp4", 25.0, (W, H)):
            pass
    assert list(tmp_path.iterdir()) == []


def test_abort_and_dropped_writer_leave_nothing(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "a.mp4", 25.0, (W, H))
    writer.write(_frame(0))
    writer.abort()
    writer.close()  # no-op after abort
    dropped = VideoWriter(tmp_path / "b.mp4", 25.0, (W, H))
    dropped.write(_frame(0))
    del dropped
    assert list(tmp_path.iterdir()) == []


def test_invalid_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even"):
        VideoWriter(tmp_path / "x.mp4", 25.0, (W + 1, H))
    with pytest.raises(ValueError, match="fps"):
        VideoWriter(tmp_path / "x.mp4", 0.0, (W, H))
    with pytest.raises(ValueError, match="preset"):
        VideoWriter(tmp_path / "x.mp4", 25.0, (W, H), preset="warp")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_destination(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as info:
        VideoWriter(tmp_path / "missing" / "out.mp4", 25.0, (W, H))
    assert "out.mp4" in str(info.value)
    not_a_dir = tmp_path / "file.txt"
    not_a_dir.write_text("x")
    with pytest.raises(InputError):
        VideoWriter(not_a_dir / "out.mp4", 25.0, (W, H))
    with pytest.raises(InputError, match="directory"):
        VideoWriter(tmp_path, 25.0, (W, H))


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write to read-only directories")
def test_read_only_directory(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(InputError, match="not writable"):
            VideoWriter(ro / "out.mp4", 25.0, (W, H))
    finally:
        ro.chmod(0o700)


def test_ensure_distinct(tmp_path: Path) -> None:
    src = tmp_path / "in.mp4"
    src.write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.mp4"
    link.symlink_to(src)
    ensure_distinct(tmp_path / "out.mp4", src, None, tmp_path / "speech.wav")
    for same in (src, tmp_path / "sub" / ".." / "in.mp4", link):
        with pytest.raises(InputError, match="overwrite"):
            ensure_distinct(same, tmp_path / "speech.wav", src)


def test_bad_inputs_raise_input_error(tmp_path: Path, random_bytes_file) -> None:
    junk = random_bytes_file("clip.mp4")
    for fn in (probe_video, read_video):
        with pytest.raises(InputError) as info:
            fn(junk)
        assert str(junk) in str(info.value) and "\n" not in str(info.value)
        with pytest.raises(InputError, match="not found"):
            fn(tmp_path / "missing.mp4")
    audio_only = tmp_path / "speech.m4a"
    with av.open(str(audio_only), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        stream.codec_context.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(InputError, match="no video stream"):
        probe_video(audio_only)


# -- real media ------------------------------------------------------------------------


def test_real_odd_frame_rate_video(shared_data: Path) -> None:
    path = shared_data / "videos" / "vrt_face1.mp4"
    info = probe_video(path)
    assert info.fps == pytest.approx(1350 / 61, abs=1e-6)  # 22.13 fps on average (variable rate)
    assert info.num_frames == 135
    assert (info.width, info.height) == (700, 700)
    assert info.duration_s == pytest.approx(6.1, abs=0.01)
    assert info.has_audio
    first = list(itertools.islice(read_video(path), 3))
    assert len(first) == 3 and first[0].shape == (700, 700, 3) and first[0].dtype == np.uint8
    # On a 25 fps grid the clip covers its duration.
    assert sum(1 for _ in read_video(path, fps=25.0)) == pytest.approx(info.duration_s * 25, abs=2)


def test_the_encoder_runs_on_the_threads_it_is_given(tmp_path: Path) -> None:
    from talkinghead.media.writer import encoder_threads

    frames = [np.full((240, 320, 3), 40 * k, np.uint8) for k in range(3)]  # tall enough for two slices
    for threads, expected in ((1, b"threads=1 "), (2, b"threads=2 "), (None, f"threads={encoder_threads()} ".encode())):
        out = tmp_path / f"t{threads}.mp4"
        with VideoWriter(out, fps=25.0, size=(320, 240), threads=threads) as w:
            for f in frames:
                w.write(f)
        assert expected in out.read_bytes()  # libx264 writes its settings into the stream
    assert 1 <= encoder_threads() <= max(1, (os.cpu_count() or 1))


def test_the_encoder_uses_the_fast_search_by_default_and_the_preset_when_asked(tmp_path: Path) -> None:
    frames = [np.full((64, 96, 3), 60 * k, np.uint8) for k in range(3)]
    for params, expected, absent in (("me=dia:partitions=none", (b" me=dia ", b" analyse=0x3:0 "), b" me=hex "),
                                     ("", (b" me=hex ", b" analyse=0x3:0x113 "), b" me=dia ")):
        out = tmp_path / f"p{len(params)}.mp4"
        kwargs = {} if params else {"x264_params": ""}
        with VideoWriter(out, fps=25.0, size=(96, 64), **kwargs) as w:
            for f in frames:
                w.write(f)
        data = out.read_bytes()  # libx264 writes its settings into the stream
        assert all(e in data for e in expected) and absent not in data
