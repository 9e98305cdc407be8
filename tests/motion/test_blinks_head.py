from __future__ import annotations

import numpy as np

from talkinghead.motion.blinks import blink_curve, blink_times
from talkinghead.motion.head_pose import prosody_head_pose
from talkinghead.types import AudioFeatures


def test_blinks_natural_rate_and_fully_closed() -> None:
    times = blink_times(120.0, rate_per_min=15.0, seed=3)
    gaps = np.diff(times)
    assert 6 <= len(times) <= 60
    assert gaps.min() >= 1.5 and gaps.max() <= 6.6
    curve = blink_curve(times, 25.0, 3000)
    for t in times:
        f0, f1 = int(t * 25), int((t + 0.3) * 25) + 1
        assert curve[f0:f1].max() == 1.0  # every blink closes the eyes fully on some frame
    closed_frames = (curve > 0.5).sum() / len(times)
    assert 2 <= closed_frames <= 6  # ~0.1-0.2 s half-closed per blink at 25 fps


def test_no_blinks_when_rate_zero() -> None:
    assert len(blink_times(60.0, rate_per_min=0.0)) == 0


def _features(active: np.ndarray) -> AudioFeatures:
    t = len(active)
    rng = np.random.default_rng(1)
    energy = np.where(active, -20.0 + 6 * rng.standard_normal(t), -70.0).astype(np.float32)
    f0 = np.where(active, 120 + 20 * rng.standard_normal(t), 0).astype(np.float32)
    return AudioFeatures(mel=np.zeros((t, 80), np.float32), energy=energy, f0=f0, formants=np.zeros((t, 2), np.float32))


def test_head_pose_does_not_drift_and_is_calmer_in_pauses() -> None:
    # 10 minutes: 20 s of speech, 20 s of silence, alternating.
    t = 60000
    active = (np.arange(t) // 2000) % 2 == 0
    pose = prosody_head_pose(_features(active), active, 25.0, 15000, seed=0)
    assert pose.shape == (15000, 6)
    assert np.abs(pose[:, :3]).max() < 15.0
    # no drift: the mean of each half stays near zero
    for half in (pose[:7500], pose[7500:]):
        assert np.abs(half[:, :3].mean(0)).max() < 2.0
    frame_active = active[::4][:15000]
    assert pose[frame_active, 1].std() > pose[~frame_active, 1].std()


def test_still_head() -> None:
    active = np.ones(500, bool)
    assert np.all(prosody_head_pose(_features(active), active, 25.0, 125, scale=0.0) == 0)
