"""Dubbing a real talking video with new speech."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from talkinghead.dubbing import Dubber, dub, handover, lower_face_weight, pingpong
from talkinghead.face.regions import canonical_mesh
from talkinghead.media.video import probe_video, read_video
from talkinghead.pipeline import GenerateConfig
from talkinghead.types import InputError


def test_pingpong_plays_forward_then_back_without_a_jump() -> None:
    seq = [pingpong(k, 4) for k in range(10)]
    assert seq == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]
    assert all(abs(a - b) == 1 for a, b in zip(seq, seq[1:]))
    assert pingpong(7, 1) == 0


def test_handover_ramps_around_frames_without_a_face() -> None:
    found = np.ones(20, bool)
    found[10] = False
    w = handover(found, frames=3)
    assert w[10] == 0 and w[0] == 1 and w[19] == 1
    assert 0 < w[9] < w[8] < w[7] <= 1 and 0 < w[11] < w[12] < w[13] <= 1
    assert np.all(handover(np.zeros(5, bool)) == 0)


def test_only_the_lower_face_follows_the_speech() -> None:
    w = lower_face_weight()
    assert w[13] == 1 and w[14] == 1 and w[152] == 1  # inner lips, chin
    assert w[159] == 0 and w[386] == 0 and w[10] == 0  # eyelids, forehead
    assert np.all((w >= 0) & (w <= 1)) and w.shape == (len(canonical_mesh()),)


@pytest.fixture(scope="module")
def grid(shared_data: Path) -> tuple[Path, Path]:
    d = shared_data / "grid" / "s1" / "video"
    return d / "bbaf2n.mp4", d / "bbaf3s.mp4"


def test_dub_keeps_the_video_and_moves_only_the_mouth(grid, tmp_path: Path) -> None:
    video, other = grid
    out = tmp_path / "dubbed.mp4"
    dub(video, other, out)
    src, got = probe_video(video), probe_video(out)
    assert (got.width, got.height) == (src.width, src.height) and got.has_audio
    assert abs(got.duration_s - probe_video(other).duration_s) < 0.2  # as long as the new speech
    a = list(read_video(video))
    b = list(read_video(out))
    d = Dubber(video)
    diffs = []
    for i in (10, 30, 50):
        x0, y0, x1, y1 = (int(v) for v in (*d.track.landmarks[i, :, :2].min(0), *d.track.landmarks[i, :, :2].max(0)))
        outside = np.ones(a[i].shape[:2], bool)
        outside[max(0, y0 - 40):y1 + 40, max(0, x0 - 40):x1 + 40] = False
        # Away from the face: the video's own pixels (up to the codec's re-encoding).
        assert np.abs(a[i].astype(int) - b[i])[outside].mean() < 3
        lips = d.track.landmarks[i, [13, 14, 61, 291], :2].mean(0).astype(int)
        diffs.append(np.abs(a[i].astype(int) - b[i])[lips[1] - 6:lips[1] + 6, lips[0] - 10:lips[0] + 10].mean())
    assert max(diffs) > 4  # the mouth did change


def test_a_short_video_covers_long_speech_by_playing_back_and_forth(grid, tmp_path: Path) -> None:
    video, _ = grid
    d = Dubber(video, GenerateConfig(motion="rules"))
    from talkinghead.motion.rig import AU_NAMES, default_rig
    from talkinghead.types import MotionSequence

    n = 2 * d.num_frames + 5
    au = np.zeros((n, len(AU_NAMES)), np.float32)
    motion = MotionSequence(fps=d.track.fps, au_names=AU_NAMES, au=au, landmark_offsets=default_rig().offsets(au),
                            head_pose=np.zeros((n, 6), np.float32), blink=np.zeros(n, np.float32), source="test")
    from talkinghead.media.yuv import to_rgb

    frames = [f if isinstance(f, np.ndarray) else to_rgb(f) for f in d.frames(motion)]  # forward: passed through
    assert len(frames) == n
    k = d.num_frames  # just after the turn: the frame before the last one again (its held JPEG copy)
    assert np.abs(frames[k].astype(int) - frames[k - 2]).mean() < 1.5


def test_bad_inputs_are_one_line_errors(shared_data: Path, tmp_path: Path) -> None:
    audio = shared_data / "audio" / "whisper_jfk.flac"
    with pytest.raises(InputError):
        dub(audio, audio, tmp_path / "o.mp4")  # an audio file given as the video
    with pytest.raises(InputError, match="mp4"):
        dub(shared_data / "grid" / "s1" / "video" / "bbaf2n.mp4", audio, tmp_path / "o.avi")
    assert not any(tmp_path.iterdir())


def _write(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> None:
    from talkinghead.media.writer import VideoWriter
    from talkinghead.types import Speech

    silence = Speech(samples=np.zeros(int(len(frames) / fps * 16000), np.float32), sample_rate=16000)
    with VideoWriter(path, fps=fps, size=(frames[0].shape[1], frames[0].shape[0]), speech=silence) as w:
        for f in frames:
            w.write(f)


def test_frames_without_a_face_pass_through_untouched(grid, tmp_path: Path) -> None:
    video, other = grid
    frames = list(read_video(video))
    for i in range(30, 40):  # the face covered for 10 frames
        frames[i] = np.full_like(frames[i], 90)
    src = tmp_path / "covered.mp4"
    _write(src, frames)
    d = Dubber(src)
    assert not d.track.found[32:38].any() and d.track.found[:25].all()
    assert np.all(d.weight[30:40] == 0) and 0 < d.weight[28] < 1
    out = tmp_path / "dubbed.mp4"
    dub(src, other, out)
    got = list(read_video(out))
    ref = list(read_video(src))
    for i in range(31, 39):
        assert np.abs(got[i].astype(int) - ref[i]).mean() < 1.5  # the covered frames: as they were


def test_a_video_without_a_face_is_refused_and_a_one_frame_video_is_a_photo(grid, tmp_path: Path) -> None:
    video, other = grid
    blank = tmp_path / "blank.mp4"
    _write(blank, [np.full((288, 360, 3), 120, np.uint8)] * 10)
    with pytest.raises(InputError, match="no face"):
        dub(blank, other, tmp_path / "o.mp4")
    assert not (tmp_path / "o.mp4").exists()
    one = tmp_path / "one.mp4"
    _write(one, [next(iter(read_video(video)))])
    out = tmp_path / "photo.mp4"
    dub(one, other, out)
    info = probe_video(out)
    assert (info.width, info.height) == (360, 288) and abs(info.duration_s - probe_video(other).duration_s) < 0.2


def test_a_phone_video_stored_sideways_is_dubbed_upright(grid, tmp_path: Path) -> None:
    """A portrait phone video: frames stored rotated, with a display matrix that turns them upright."""
    import av

    video, other = grid
    upright = list(read_video(video))[:40]
    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stored0 = np.rot90(upright[0], k=1)  # stored turned 90 degrees counter-clockwise
        stream.width, stream.height, stream.pix_fmt = stored0.shape[1], stored0.shape[0], "yuv420p"
        stream.set_display_rotation(-90)
        for i, f in enumerate(upright):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.rot90(f, k=1)), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    d = Dubber(path)
    assert d.size == upright[0].shape[:2] and d.track.found.all()  # tracked upright
    out = tmp_path / "dubbed.mp4"
    dub(path, other, out)
    info = probe_video(out)
    assert (info.width, info.height) == (upright[0].shape[1], upright[0].shape[0])
    first = next(iter(read_video(out)))
    assert np.abs(first.astype(int)[:40] - upright[0][:40]).mean() < 4  # upright, the same picture on top


def test_frames_are_read_again_going_forward_and_held_once_they_go_back(grid) -> None:
    """A dub shorter than its video decodes the file a second time instead of holding it; should the
    output still turn back (a frame count that was wrong), the frames are held from then on."""
    from talkinghead.dubbing import _Frames

    video, _ = grid
    real = list(read_video(video, fps=25.0))
    frames = _Frames(Path(video), 25.0, len(real), None)
    order = [0, 1, 2, 10, len(real) - 1, len(real) - 2, 3]
    got = [frames[i] for i in order]
    frames.close()
    assert frames.held is not None and len(frames.held) == len(real)
    for i, g in zip(order, got):
        tol = 0.0 if order.index(i) < 5 else 3.0  # forward: the decoded frame itself; back: its JPEG copy
        assert np.abs(g.astype(int) - real[i]).mean() <= tol


def test_a_variable_frame_rate_video_is_dubbed_on_its_mean_rate(grid, tmp_path: Path) -> None:
    """Frames 25-70 ms apart (as phones record): the output runs at the file's mean rate, as long as the speech."""
    import fractions

    import av

    video, other = grid
    vfr = tmp_path / "vfr.mp4"
    rng = np.random.default_rng(0)
    with av.open(str(vfr), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 360, 288, "yuv420p"
        s.codec_context.time_base = fractions.Fraction(1, 1000)
        t = 0
        for f in read_video(video):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f[:288, :360]), format="rgb24")
            vf.pts, vf.time_base = t, fractions.Fraction(1, 1000)
            c.mux(s.encode(vf))
            t += int(rng.choice([25, 33, 50, 70]))
        c.mux(s.encode())
    info = probe_video(vfr)
    assert not 24 < info.fps < 26  # the file is not the clip's 25 fps any more
    out = tmp_path / "dubbed.mp4"
    dub(vfr, other, out)
    got = probe_video(out)
    assert abs(got.fps - info.fps) < 0.05 and got.has_audio
    assert abs(got.duration_s - probe_video(other).duration_s) < 0.2
    assert got.num_frames == len(list(read_video(out)))


def test_frames_pass_through_as_decoded_and_change_only_around_the_face(grid) -> None:
    """A yuv420p video read forward: each output frame is the decoded frame itself, changed only in
    the face's box (no conversion of the rest of the picture to RGB and back)."""
    from talkinghead.media.video import read_decoded
    from talkinghead.media.yuv import planes
    from talkinghead.motion.rig import AU_NAMES, default_rig
    from talkinghead.render.reanimate import face_region
    from talkinghead.types import MotionSequence

    video, _ = grid
    n = 30
    d = Dubber(video, GenerateConfig(motion="rules"), max_frames=n)  # shorter than the video: read forward
    assert d.color is not None
    au = np.zeros((n, len(AU_NAMES)), np.float32)
    motion = MotionSequence(fps=d.track.fps, au_names=AU_NAMES, au=au, landmark_offsets=default_rig().offsets(au),
                            head_pose=np.zeros((n, 6), np.float32), blink=np.zeros(n, np.float32), source="test")
    got = list(d.frames(motion))
    src = list(islice(read_decoded(video, fps=d.config.fps), n))
    changed_frames = 0
    for k in range(n):
        assert not isinstance(got[k], np.ndarray)
        y, y0 = planes(got[k])[0], planes(src[k])[0]
        i, s, t = d.target(k, motion)
        x0, y0_, x1, y1 = face_region(np.concatenate([s[:, :2], t[:, :2]]), d.size)
        outside = np.ones(y.shape, bool)
        outside[y0_ - 1:y1 + 1, x0 - 1:x1 + 1] = False
        assert np.array_equal(y[outside], y0[outside])  # the picture away from the face: exactly as decoded
        changed_frames += int((y != y0).any())
    assert changed_frames > n // 2  # the mouth was closed to the still motion


def test_a_video_shorter_than_the_speech_passes_through_until_it_turns_back(grid) -> None:
    """Frames held as JPEG copies (the speech is longer) still come as decoded going forward; from
    the first step back they come from the copies (RGB)."""
    from talkinghead.dubbing import _Frames, _jpeg

    video, _ = grid
    real = list(read_video(video, fps=25.0))
    frames = _Frames(Path(video), 25.0, len(real), [_jpeg(f) for f in real], yuv=True)
    forward = [frames[i] for i in range(len(real))]
    back = frames[len(real) - 2]
    again = frames[len(real) - 1]
    frames.close()
    assert not any(isinstance(f, np.ndarray) for f in forward)
    assert isinstance(back, np.ndarray) and isinstance(again, np.ndarray)
    assert np.abs(back.astype(int) - real[-2]).mean() <= 3.0


def test_tracking_every_other_frame_follows_the_face_as_tracking_every_frame(grid) -> None:
    """The frames between tracked ones are interpolated: on a talking GRID clip the smoothed mouth
    is where tracking every frame puts it, to a small fraction of the mouth's width."""
    from talkinghead.face.regions import LOWER_INNER_LIP, UPPER_INNER_LIP

    video, _ = grid
    every, other = Dubber(video, track_stride=1), Dubber(video, track_stride=2)
    assert other.track.found.all() and other.num_frames == every.num_frames
    lips = list(UPPER_INNER_LIP + LOWER_INNER_LIP)
    err = np.linalg.norm(other.track.landmarks[:, lips, :2] - every.track.landmarks[:, lips, :2], axis=2)
    width = np.ptp(every.track.landmarks[:, lips, 0], axis=1).mean()
    assert np.median(err) < 0.05 * width and err.max() < 0.25 * width


def test_frames_left_out_of_tracking_still_give_their_mouths_to_the_bank(grid, monkeypatch) -> None:
    """The person's mouth bank sees every frame with a face, tracked or interpolated: with only the
    tracked ones, a short clip's bank (halved again by the evaluation's hold-out) loses half its mouths."""
    from talkinghead.person.mouth import MouthBankBuilder

    video, _ = grid
    seen: list[np.ndarray] = []
    add = MouthBankBuilder.add
    monkeypatch.setattr(MouthBankBuilder, "add", lambda self, frame, lm: (seen.append(np.asarray(lm)), add(self, frame, lm))[1])
    every = Dubber(video, track_stride=1)
    n_every, every_lm = len(seen), np.stack(seen)
    seen.clear()
    Dubber(video, track_stride=2)
    assert len(seen) == n_every == every.num_frames
    # the left-out frames' mouths are placed where tracking every frame puts them, to within a few pixels
    assert np.median(np.abs(np.stack(seen)[1::2, 13, :2] - every_lm[1::2, 13, :2])) < 2.0
