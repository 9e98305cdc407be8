"""The rule path: audio features + phones -> MotionSequence (explicit, anatomical motion)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead.motion.acoustic import acoustic_to_au, jaw_gain, resample_curve
from talkinghead.motion.blinks import blink_curve, blink_times
from talkinghead.motion.head_pose import brow_raise, prosody_head_pose
from talkinghead.motion.rig import AU_NAMES, default_rig
from talkinghead.motion.visemes import phones_to_au
from talkinghead.types import AudioFeatures, MotionSequence, PhoneSegments

_K = {name: i for i, name in enumerate(AU_NAMES)}


@dataclass(frozen=True)
class MotionConfig:
    """Settings of motion generation.

    Attributes:
        fps: video frame rate (Hz, > 0).
        pose_scale: head-motion amplitude multiplier (0 = still head; 1 = natural).
        blink_rate: blinks per minute (0 disables blinking).
        seed: random seed for head wander and blink timing.
    """

    fps: float = 25.0
    pose_scale: float = 1.0
    blink_rate: float = 15.0
    seed: int = 0


def num_video_frames(duration_s: float, fps: float) -> int:
    """Frames covering ``duration_s`` at ``fps`` (at least 1): the video lasts as long as the audio, +-1 frame."""
    return max(1, int(round(duration_s * fps)))


def rule_motion(features: AudioFeatures, phones: PhoneSegments, active: np.ndarray, duration_s: float,
                config: MotionConfig = MotionConfig()) -> MotionSequence:
    """Motion for a whole utterance by the rule path.

    Mouth: coarticulated visemes when phones are given (``phones.source != "none"``), else the
    acoustic path; the jaw is scaled by loudness in both; pauses relax to a closed mouth.
    Head: prosody-driven pose. Eyes: blinks at ``config.blink_rate``, preferring pauses.

    Args:
        features: 100 Hz audio features of the speech.
        phones: phone segments (may be empty).
        active: bool ``[T]`` voice activity at 100 Hz.
        duration_s: audio duration (s); sets the number of frames.
        config: motion settings.
    Returns:
        MotionSequence with ``F = round(duration_s * fps)`` frames.
    """
    fps = config.fps
    n = num_video_frames(duration_s, fps)
    if len(phones) > 0:
        au = phones_to_au(phones, n, fps)
        au[:, _K["jawOpen"]] *= jaw_gain(features, active, fps, n)
        source = "rules"
    else:
        au = acoustic_to_au(features, active, fps, n)
        source = "acoustic"
    # Long pauses (voice inactive around the frame) relax the mouth whatever the phones say.
    act = resample_curve(active.astype(np.float32), features.frame_rate, fps, n, window_s=0.2)
    quiet = act < 0.05
    au[quiet, _K["jawOpen"]] *= 0.3
    au[:, _K["browInnerUp"]] = brow_raise(features, fps, n) * min(1.0, config.pose_scale)
    au = np.clip(au, 0.0, 1.0).astype(np.float32)
    offsets = default_rig().offsets(au)
    pose = prosody_head_pose(features, active, fps, n, scale=config.pose_scale, seed=config.seed)
    # Pause onsets for blinks.
    t100 = np.arange(len(active)) / features.frame_rate
    onsets = t100[1:][active[:-1] & ~active[1:]]
    blinks = blink_curve(blink_times(duration_s, config.blink_rate, onsets, seed=config.seed), fps, n)
    return MotionSequence(fps=fps, au_names=AU_NAMES, au=au, landmark_offsets=offsets,
                          head_pose=pose, blink=blinks, source=source)
