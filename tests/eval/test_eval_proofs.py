"""Proofs that the metrics mean what they say, on real talking clips.

A real video scored against itself is perfect (r = 1, offset 0, LMD 0); against itself shifted
by k frames the offset is k; against its still first frame there is no mouth motion and r = 0.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from talkinghead.eval import metrics as M
from talkinghead.eval.reference import EvalConfig, Reference, prepare_reference
from talkinghead.eval.scoring import real_scores, score_frames
from talkinghead.eval.datasets import GRID_S1_TEST, Clip, load_set
from talkinghead.face.track import video_frames

# (clip, shift in frames for the offset proof)
CASES = [("pcavs_00098", 3), (GRID_S1_TEST[1], -2)]
CONFIG = EvalConfig(identity_frames=0, sheet_frames=2)


def _clip(shared_data: Path, name: str) -> Clip:
    if name.startswith("pcavs"):
        return Clip(name=name, set="videos", video=shared_data / "videos" / f"{name}.mp4")
    return next(c for c in load_set("grid_test", shared_data) if c.name == name)


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def case(request, shared_data: Path) -> tuple[Reference, list[np.ndarray], int]:
    name, shift = request.param
    ref = prepare_reference(_clip(shared_data, name), CONFIG)
    frames = list(video_frames(ref.clip.video, ref.fps))
    return ref, frames, shift


def test_reference_is_a_talking_face(case) -> None:
    ref, frames, _ = case
    assert ref.track.detection_rate == 1.0
    assert len(frames) == ref.num_frames > 70
    opening = M.mouth_opening(ref.track.landmarks)
    assert np.nanstd(opening) > 10 * M.STILL_STD  # the mouth really moves
    real = real_scores(ref)
    assert real.loudness_r > 0.1  # and it moves with the sound


def test_real_video_against_itself_is_perfect(case) -> None:
    ref, frames, _ = case
    run = score_frames(ref, iter(frames), "oracle", CONFIG)
    s = run.scores
    assert s.frames == ref.num_frames and s.face_rate == 1.0
    assert s.mouth_r == pytest.approx(1.0, abs=1e-6)
    assert s.offset == 0 and s.offset_r == pytest.approx(1.0, abs=1e-6)
    assert s.lmd == pytest.approx(0.0, abs=1e-6) and s.lmd_px256 == pytest.approx(0.0, abs=1e-4)
    assert s.jitter_ratio == pytest.approx(1.0, abs=1e-6)
    assert s.pose_std_ratio == pytest.approx(1.0, abs=1e-6)
    assert s.blink_rate == pytest.approx(real_scores(ref).blink_rate)
    assert s.psnr == M.PSNR_CAP and s.ssim == pytest.approx(1.0)


def test_real_video_shifted_by_k_frames_has_offset_k(case) -> None:
    ref, frames, k = case
    if k > 0:  # generated k frames late: the first frame held for k frames
        shifted = itertools.chain(itertools.repeat(frames[0], k), frames)
    else:  # generated |k| frames early: starts |k| frames in, last frame held at the end
        shifted = itertools.chain(frames[-k:], itertools.repeat(frames[-1], -k))
    s = score_frames(ref, shifted, f"shift{k:+d}", CONFIG).scores
    assert s.offset == k
    assert s.offset_r > 0.99
    assert s.mouth_r < s.offset_r - 0.05  # out of sync at lag 0
    assert s.lmd > 0.005


def test_still_frame_has_no_sync(case) -> None:
    ref, frames, _ = case
    run = score_frames(ref, itertools.repeat(frames[0], len(frames)), "still", CONFIG)
    s = run.scores
    assert np.nanstd(run.opening) < M.STILL_STD  # the tracker sees a still mouth
    assert s.mouth_r == 0.0 and s.offset is None
    assert s.jitter_ratio < 0.1
    assert s.lmd > 0.01
    assert s.psnr < 40 and s.ssim < 0.98
