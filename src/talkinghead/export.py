"""Motion -> ARKit-52 blendshape curves for 3D avatars: Live Link Face CSV and JSON.

A :class:`~talkinghead.types.MotionSequence` holds named action-unit / blendshape curves, head
pose and blinks. This module writes them in the form 3D tools read:

- **Live Link Face CSV** (Epic's Live Link Face app; Unreal Engine imports it, Blender add-ons
  map it to shape keys by name): ``Timecode, BlendShapeCount``, the 52 ARKit blendshapes in the
  order of the app's own CSV takes (``EyeBlinkLeft`` ... ``JawForward, JawRight, JawLeft``
  ... ``MouthRight, MouthLeft`` ... ``TongueOut``), then ``HeadYaw, HeadPitch, HeadRoll`` and
  the six eye rotations (radians; the eyes are 0 here). One row per video frame;
  ``BlendShapeCount`` is 61.
- **JSON**: ``{"fps", "names" (ARKit, lowerCamel), "frames": [[52 values] per frame],
  "head_pose_deg": [[pitch, yaw, roll] per frame], "source"}``.

Names are mapped from the motion's own: the learned model predicts MediaPipe's 52 blendshapes,
which are ARKit's names (``_neutral`` dropped, ``tongueOut`` 0); the rule path's symmetric
action units (``mouthStretch``, ``mouthUpperUp``) go to both sides. The eyes follow the
rendered blink curve (``eyeBlinkLeft/Right`` = ``motion.blink``). Values are in [0, 1].
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import numpy as np

from talkinghead.types import InputError, MotionSequence

#: The 52 ARKit blendshapes in the column order of Live Link Face's CSV takes (Apple's names, lowerCamel).
ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft",
    "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight", "jawForward", "jawRight", "jawLeft", "jawOpen", "mouthClose", "mouthFunnel",
    "mouthPucker", "mouthRight", "mouthLeft", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPressLeft", "mouthPressRight",
    "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight", "browDownLeft",
    "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff", "cheekSquintLeft",
    "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
)
#: Rotation columns after the blendshapes in a Live Link Face CSV (radians).
LIVE_LINK_ROTATIONS = ("HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
                       "RightEyeYaw", "RightEyePitch", "RightEyeRoll")


def arkit_curves(motion: MotionSequence) -> np.ndarray:
    """The motion as ARKit-52 blendshape curves, float32 ``[F, 52]`` in [0, 1], :data:`ARKIT_NAMES` order.

    A name the motion has is taken as it is; ``NAME`` stands for ``NAMELeft`` and ``NAMERight``
    where only the symmetric curve exists; the blinks are ``motion.blink``; the rest is 0.
    """
    have = {n: i for i, n in enumerate(motion.au_names)}
    out = np.zeros((motion.num_frames, len(ARKIT_NAMES)), np.float32)
    for j, name in enumerate(ARKIT_NAMES):
        base = name.removesuffix("Left").removesuffix("Right")
        if name in have:
            out[:, j] = motion.au[:, have[name]]
        elif base != name and base in have:
            out[:, j] = motion.au[:, have[base]]
    for name in ("eyeBlinkLeft", "eyeBlinkRight"):
        out[:, ARKIT_NAMES.index(name)] = motion.blink
    return np.clip(out, 0.0, 1.0)


def _timecode(frame: int, fps: float) -> str:
    """Live Link Face's ``HH:MM:SS:FF.mmm`` from t = 0: the second, the frame counted within it, sub-frame 0.

    At a fractional rate (12.5 fps) the frames of a second are counted from the first one
    that starts in it, so every row's timecode is distinct.
    """
    whole = int(math.floor(frame / fps + 1e-9))
    ff = frame - math.ceil(whole * fps - 1e-9)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}:{ff:02d}.000"


def _write_text(path: Path, write: object) -> None:
    from talkinghead.media.files import atomic_path

    try:
        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
            write(f)  # type: ignore[operator]
    except OSError as e:
        raise InputError(f"{path}: cannot write the motion export ({e.strerror or e})") from e


def write_live_link_csv(motion: MotionSequence, path: str | os.PathLike[str]) -> None:
    """Write the Live Link Face CSV (see the module docstring), atomically.

    Raises:
        InputError: the file cannot be written.
    """
    curves = arkit_curves(motion)
    pose = np.radians(np.asarray(motion.head_pose, np.float64)[:, :3])  # pitch, yaw, roll
    header = ["Timecode", "BlendShapeCount", *(n[0].upper() + n[1:] for n in ARKIT_NAMES), *LIVE_LINK_ROTATIONS]

    def write(f: object) -> None:
        w = csv.writer(f)  # type: ignore[arg-type]
        w.writerow(header)
        for i in range(motion.num_frames):
            rot = [pose[i, 1], pose[i, 0], pose[i, 2], 0, 0, 0, 0, 0, 0]
            w.writerow([_timecode(i, motion.fps), len(ARKIT_NAMES) + len(LIVE_LINK_ROTATIONS),
                        *(f"{v:.6f}" for v in curves[i]), *(f"{v:.6f}" for v in rot)])

    _write_text(Path(path), write)


def write_json(motion: MotionSequence, path: str | os.PathLike[str]) -> None:
    """Write the ARKit curves, head pose and frame rate as JSON (see the module docstring), atomically.

    Raises:
        InputError: the file cannot be written.
    """
    curves = arkit_curves(motion)
    doc = {"fps": motion.fps, "source": motion.source, "names": list(ARKIT_NAMES),
           "frames": np.round(curves, 6).tolist(),
           "head_pose_deg": np.round(np.asarray(motion.head_pose)[:, :3], 4).tolist()}
    _write_text(Path(path), lambda f: json.dump(doc, f))


def export_motion(motion: MotionSequence, path: str | os.PathLike[str]) -> None:
    """Write ``motion`` by the file's suffix: ``.npz`` (the whole MotionSequence, :meth:`MotionSequence.save
    <talkinghead.types.MotionSequence.save>`), ``.csv`` (Live Link Face) or ``.json``.

    Raises:
        InputError: another suffix, or the file cannot be written.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    try:
        if suffix == ".npz":
            motion.save(p)
        elif suffix == ".csv":
            write_live_link_csv(motion, p)
        elif suffix == ".json":
            write_json(motion, p)
        else:
            raise InputError(f"{p}: export to .npz, .csv (Live Link Face) or .json")
    except OSError as e:
        raise InputError(f"{p}: cannot write the motion file ({e.strerror or e})") from e
