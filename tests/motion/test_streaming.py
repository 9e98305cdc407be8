"""Motion made as speech arrives: same frames as offline, no frame before its speech, bounded memory."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from talkinghead.motion import streaming as S  # noqa: E402
from talkinghead.motion.blinks import BlinkStream, blink_times  # noqa: E402
from talkinghead.motion.head_pose import HeadWander, head_wander, prosody_head_pose  # noqa: E402
from talkinghead.motion.learned import READ_AHEAD_S, LearnedMotion, learned_motion  # noqa: E402
from talkinghead.motion.rules import MotionConfig  # noqa: E402
from talkinghead.types import AudioFeatures  # noqa: E402

JFK = Path(__file__).resolve().parents[2] / "src" / "talkinghead" / "assets" / "jfk.flac"


@lru_cache(maxsize=1)
def _speech() -> np.ndarray:
    from talkinghead.media.audio import load_speech

    return load_speech(JFK, S.STREAM_RATE).samples


def _gap(offsets: np.ndarray) -> np.ndarray:
    from talkinghead.eval.metrics import offset_opening

    return offset_opening(offsets)


def _stream(x: np.ndarray, chunk: int, **kw: object) -> tuple[list[S.MotionFrame], list[tuple[float, int]]]:
    """All frames of a stream fed ``chunk`` samples at a time, and (seconds received, frames made) after each push."""
    st = S.StreamingMotion(LearnedMotion.from_file(), MotionConfig(fps=25.0), **kw)
    frames, progress = [], []
    for i in range(0, len(x), chunk):
        got = st.push(x[i:i + chunk])
        for f in got:  # no frame comes before the speech it waits for has arrived
            assert f.time_s + READ_AHEAD_S + st.lookahead_s <= st.received_s + 1e-6
        frames += got
        progress.append((st.received_s, st.frames_made))
    frames += st.finish()
    return frames, progress


def test_stream_follows_the_offline_motion_frame_for_frame() -> None:
    from talkinghead.analysis import analyse_speech
    from talkinghead.types import Speech

    x = _speech()
    frames, progress = _stream(x, 320)  # 20 ms chunks
    speech = Speech(x, S.STREAM_RATE)
    a = analyse_speech(speech, None, "acoustic")
    offline = learned_motion(LearnedMotion.from_file(), a.features, a.phones, a.active, speech.duration_s,
                             MotionConfig(fps=25.0))
    assert [f.index for f in frames] == list(range(offline.num_frames))  # every frame once, in order
    assert [f.time_s for f in frames] == pytest.approx(np.arange(offline.num_frames) / 25.0)
    seq = S.motion_sequence(frames, 25.0)
    # The same network, less context: the mouth follows the offline one closely (0.91 measured), not exactly.
    assert np.corrcoef(_gap(seq.landmark_offsets), _gap(offline.landmark_offsets))[0, 1] > 0.85
    assert np.corrcoef(seq.head_pose[:, 0], offline.head_pose[:, 0])[0, 1] > 0.9
    assert 0.0 <= seq.blink.min() and seq.blink.max() == 1.0
    # Frames are never held back longer than the look-ahead and one step of frames.
    for received, made in progress[10:]:
        due = int(np.floor((received - 0.1 - READ_AHEAD_S - S.LOOKAHEAD_S) * 25.0))
        assert made >= due - S.STEP_FRAMES


def test_chunk_size_does_not_change_the_frames_much() -> None:
    x = _speech()[: 5 * S.STREAM_RATE]
    small, _ = _stream(x, 320)
    large, _ = _stream(x, 5333)  # 1/3 s chunks: frames come in larger batches
    assert len(small) == len(large) == 125
    a = _gap(np.stack([f.offsets for f in small]))
    b = _gap(np.stack([f.offsets for f in large]))
    assert np.corrcoef(a, b)[0, 1] > 0.95


def test_one_long_push_makes_the_same_frames_as_many_short_ones() -> None:
    x = _speech()  # 11 s: longer than the history, in one piece
    st = S.StreamingMotion(LearnedMotion.from_file(), MotionConfig(fps=25.0))
    once = st.push(x) + st.finish()
    short, _ = _stream(x, 16000)
    assert [f.index for f in once] == list(range(275))
    np.testing.assert_allclose(np.stack([f.offsets for f in once]), np.stack([f.offsets for f in short]), atol=1e-6)
    with pytest.raises(ValueError, match="look-ahead"):
        S.StreamingMotion(LearnedMotion.from_file(), lookahead_s=S.MAX_LOOKAHEAD_S + 1)


def test_memory_is_bounded_by_the_history() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(25 * S.STREAM_RATE) / S.STREAM_RATE
    x = (0.3 * np.sin(2 * np.pi * 150 * t) * (np.sin(2 * np.pi * 0.7 * t) > 0) + 0.01 * rng.standard_normal(len(t)))
    st = S.StreamingMotion(LearnedMotion.from_file(), MotionConfig(fps=25.0))
    n = sum(len(st.push(x[i:i + 1600].astype(np.float32))) for i in range(0, len(x), 1600)) + len(st.finish())
    assert n == 625
    assert len(st._energy) <= S.HISTORY_S * 100 and len(st._audio) <= 0.5 * S.STREAM_RATE
    assert len(st._wander_past) <= S.HISTORY_S * 25 + 2


def test_stream_rejects_bad_audio_and_pushes_after_the_end() -> None:
    st = S.StreamingMotion(LearnedMotion.from_file())
    with pytest.raises(ValueError, match="mono"):
        st.push(np.zeros((2, 100), np.float32))
    assert st.finish() == []  # no speech: no frames
    with pytest.raises(ValueError, match="finished"):
        st.push(np.zeros(100, np.float32))
    with pytest.raises(ValueError, match="look-ahead"):
        S.StreamingMotion(LearnedMotion.from_file(), lookahead_s=-0.1)


def _wander_reference(n: int, fps: float, seed: int) -> np.ndarray:
    """The wander as an Ornstein-Uhlenbeck process smoothed by scipy (the offline code before HeadWander)."""
    from scipy.ndimage import gaussian_filter1d

    from talkinghead.motion.head_pose import REVERSION, WANDER_STD_DEG

    rng = np.random.default_rng(seed)
    std = np.array(WANDER_STD_DEG)
    x = rng.normal(0.0, 1.0, 3) * std
    noise = rng.normal(0.0, 1.0, (n, 3))
    a = np.exp(-REVERSION / fps)
    b = std * np.sqrt(2.0 * REVERSION) * np.sqrt((1.0 - a * a) / (2.0 * REVERSION))
    out = np.empty((n, 3))
    for i in range(n):
        x = a * x + b * noise[i]
        out[i] = x
    return gaussian_filter1d(out, 0.12 * fps, axis=0, mode="nearest")


def test_head_wander_is_the_same_in_pieces_and_as_offline() -> None:
    w = HeadWander(25.0, seed=4)
    pieces = np.concatenate([w.take(k) for k in (1, 9, 40, 150)])
    assert np.array_equal(pieces, head_wander(200, 25.0, seed=4))
    assert not np.array_equal(pieces, head_wander(200, 25.0, seed=5))
    # The same process as before it could be drawn in pieces; only the last 12 frames (the
    # smoothing's reach) differ: they now see the next draws instead of the last value repeated.
    ref = _wander_reference(200, 25.0, seed=4)
    np.testing.assert_allclose(pieces[:188], ref[:188], atol=1e-9)
    assert not np.allclose(pieces[188:], ref[188:])
    active = np.ones(800, bool)
    feats = AudioFeatures(mel=np.zeros((800, 80), np.float32), energy=np.full(800, -20.0, np.float32),
                          f0=np.full(800, 120.0, np.float32), formants=np.zeros((800, 2), np.float32))
    assert np.array_equal(prosody_head_pose(feats, active, 25.0, 200, seed=4),
                          prosody_head_pose(feats, active, 25.0, 200, seed=4, wander=pieces))


def test_streamed_blinks_keep_the_offline_rate_and_close_fully() -> None:
    b = BlinkStream(25.0, rate_per_min=15.0, seed=2)
    curve = np.concatenate([b.curve(i, 5, np.array([])) for i in range(0, 3000, 5)])  # 120 s
    starts = np.flatnonzero(np.diff((curve > 0.99).astype(int)) == 1)
    assert abs(len(starts) - len(blink_times(120.0, 15.0, seed=2))) <= 1
    assert curve.max() == 1.0
    # A pause heard ahead draws the next blink to it.
    b2 = BlinkStream(25.0, rate_per_min=15.0, seed=2)
    first = BlinkStream(25.0, 15.0, seed=2)._next
    pause = first + 0.4
    c2 = np.concatenate([b2.curve(i, 5, np.array([pause])) for i in range(0, 200, 5)])
    assert abs(np.argmax(c2 > 0.99) / 25.0 - (pause + 0.07)) < 0.1
    assert BlinkStream(25.0, 0.0).curve(0, 100, np.array([])).max() == 0.0
    # Pauses everywhere: a blink still never comes within 1.5 s of the one before (as offline).
    b3 = BlinkStream(25.0, rate_per_min=40.0, seed=1)
    pauses = np.arange(0.0, 60.0, 0.3)
    c3 = np.concatenate([b3.curve(i, 5, pauses[pauses >= i / 25.0]) for i in range(0, 1500, 5)])
    starts = np.flatnonzero(np.diff((c3 > 0.0).astype(int)) == 1) / 25.0
    assert len(starts) > 5 and np.diff(starts).min() > 1.4
