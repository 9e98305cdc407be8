"""Fitting a person model from their videos, and its ``.thp`` file (safetensors + JSON, versioned).

``talkinghead fit VIDEO... -o person.thp``: every frame is tracked (MediaPipe, video mode); the
mouth bank (:mod:`talkinghead.person.mouth`) is built from all frames with a face; head-pose
spread (standard deviation within each video, averaged) and blink rate are measured from the track; the most frontal closed-mouth frame becomes
the portrait ``generate --person`` animates. The tracks can be handed on (``tracks``) for the
learned motion's fine-tune (:mod:`talkinghead.train.person`, run by the ``fit`` command), whose
graph the file then carries (``motion_onnx``; :func:`person_motion` loads it). The file holds the
arrays as safetensors (no pickle) and the rest as JSON in its metadata, with a format name and
version (2 with a fine-tuned motion, else 1, which older releases read); a truncated, foreign or
other-version file is refused with a one-line error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from talkinghead.types import InputError, PersonModel

#: Identifies a talkinghead person file and its layout.
FORMAT, VERSION = "talkinghead-person", 2
#: Versions this code reads (1: no fine-tuned motion).
READABLE = ("1", "2")
_ARRAYS = ("portrait", "mouth_images", "mouth_openings", "mouth_upper", "mouth_lower", "mouth_origin", "pose_std")


def save_person(person: PersonModel, path: str | os.PathLike[str]) -> None:
    """Write ``person`` to ``path`` (``.thp``) atomically.

    Raises:
        InputError: the file cannot be written.
    """
    from safetensors.numpy import save_file

    from talkinghead.media.files import atomic_path

    # Version 1 where there is no fine-tuned motion: older releases read it.
    version = VERSION if person.motion_onnx is not None else 1
    meta = {"format": FORMAT, "version": str(version), "person": json.dumps(
        {"name": person.name, "mouth_scale": person.mouth_scale, "blink_rate": person.blink_rate, "seconds": person.seconds})}
    arrays = {k: np.ascontiguousarray(getattr(person, k)) for k in _ARRAYS}
    if person.motion_onnx is not None:
        arrays["motion_onnx"] = np.ascontiguousarray(person.motion_onnx, dtype=np.uint8)
    try:
        with atomic_path(path) as tmp:
            save_file(arrays, str(tmp), metadata=meta)
    except OSError as e:
        raise InputError(f"{path}: cannot write the person model ({e.strerror or e})") from e


def load_person(path: str | os.PathLike[str]) -> PersonModel:
    """Read a ``.thp`` file.

    Raises:
        InputError: missing, truncated or not a talkinghead person file, or another format version.
    """
    from safetensors import safe_open

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: person model not found")
    try:
        with safe_open(str(p), framework="numpy") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                raise InputError(f"{p}: not a talkinghead person model (.thp from 'talkinghead fit')")
            if meta.get("version") not in READABLE:
                raise InputError(f"{p}: person model format version {meta.get('version')!r}; this talkinghead reads "
                                 f"versions {', '.join(READABLE)} (fit it again)")
            arrays = {k: f.get_tensor(k) for k in _ARRAYS}
            arrays["motion_onnx"] = f.get_tensor("motion_onnx") if "motion_onnx" in f.keys() else None
        info = json.loads(meta["person"])
    except InputError:
        raise
    except Exception as e:  # safetensors' own errors for truncated or foreign files, bad JSON, missing keys
        raise InputError(f"{p}: not a readable person model ({type(e).__name__}: {e})") from e
    return PersonModel(name=str(info["name"]), mouth_scale=float(info["mouth_scale"]), blink_rate=float(info["blink_rate"]),
                       seconds=float(info["seconds"]), **arrays)


def person_motion(person: PersonModel | None) -> object | None:
    """The person's fine-tuned learned motion model (:class:`~talkinghead.motion.learned.LearnedMotion`), or
    None when there is no person or it carries none (then the shipped model drives them).

    Raises:
        InputError: the carried graph is not a learned-motion model.
    """
    if person is None or person.motion_onnx is None:
        return None
    from talkinghead.motion.learned import LearnedMotion

    return LearnedMotion.from_bytes(np.asarray(person.motion_onnx, np.uint8).tobytes(), f"person model {person.name}: motion")


def person_bank(person: PersonModel) -> object:
    """The person's mouth bank (:class:`~talkinghead.render.interior.MouthBank`, their own colours)."""
    from talkinghead.render.interior import MouthBank

    return MouthBank.create(person.mouth_images, person.mouth_openings, person.mouth_upper, person.mouth_lower,
                            person.mouth_scale, person.mouth_origin, exact=True)


def fit_person(videos: Sequence[str | os.PathLike[str]], progress: bool = False,
               tracks: list[tuple[np.ndarray, np.ndarray, float]] | None = None) -> PersonModel:
    """Fit a person model on one or more videos of the same person talking.

    Args:
        videos: video files (any FFmpeg format); 1-5 minutes in all is plenty.
        progress: a progress bar over all frames.
        tracks: if given, one ``(landmarks float32 [F, 478, 3] in pixels, NaN where no face,
            blendshapes float32 [F, 52], fps)`` per video is appended (for the motion fine-tune).
    Returns:
        The PersonModel.
    Raises:
        InputError: no videos, an unreadable video, no face anywhere, or too little talking footage.
    """
    from talkinghead.face.neutral import lip_gap
    from talkinghead.face.regions import normalize_mesh
    from talkinghead.face.track import TRACK_SHORT_SIDE, Tracker
    from talkinghead.media.video import probe_video, read_video
    from talkinghead.person.mouth import MouthBankBuilder

    if not videos:
        raise InputError("fit: give at least one video")
    infos = [probe_video(v) for v in videos]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=sum(i.num_frames for i in infos), unit="frame", desc="fitting", dynamic_ncols=True)
    builder = MouthBankBuilder(per_bin=240)
    poses, blinks, seconds = [], [], 0.0
    best: tuple[float, np.ndarray] | None = None
    try:
        for video, info in zip(videos, infos):
            blends: list[np.ndarray] = []
            with Tracker(info.fps, max_short_side=TRACK_SHORT_SIDE) as tracker:
                for frame in read_video(video, fps=info.fps):
                    face = tracker.add(frame)
                    if bar is not None:
                        bar.update(1)
                    if tracks is not None:
                        ok = face is not None and len(face.blendshapes) == 52
                        blends.append(face.blendshapes if ok else np.zeros(52, np.float32))  # type: ignore[union-attr]
                    if face is None:
                        continue
                    lm = face.landmarks
                    builder.add(frame, lm)
                    # The portrait: frontal, mouth closed, eyes open.
                    rot = np.abs(face.rotation_deg)
                    score = float(rot[0] + rot[1] + 0.5 * rot[2]) + 200.0 * float(max(lip_gap(normalize_mesh(lm)).max(), 0.0)) \
                        + 10.0 * face.blendshape("eyeBlinkLeft")
                    if best is None or score < best[0]:
                        best = (score, frame)
                track = tracker.track()
            if tracks is not None:
                tracks.append((track.landmarks, np.asarray(blends, np.float32).reshape(-1, 52), info.fps))
            found = track.found
            if found.sum() > 1:  # spread within each video: the videos' different mean poses are not motion
                poses.append(track.pose[found].std(axis=0))
            blinks.append(track.blink[found])
            seconds += info.num_frames / info.fps
    finally:
        if bar is not None:
            bar.close()
    if best is None:
        raise InputError(f"{videos[0]}: no face found in the footage")
    bank = builder.build(exact=True, source=", ".join(str(v) for v in videos))
    pose_std = np.mean(poses, axis=0) if poses else np.zeros(3)
    blink = np.concatenate(blinks)
    from talkinghead.face.track import blink_count

    rate = float(blink_count(blink) * 60.0 / max(seconds, 1e-6))
    return PersonModel(name=Path(videos[0]).stem, portrait=best[1], mouth_images=bank.images,
                       mouth_openings=bank.openings, mouth_upper=bank.upper, mouth_lower=bank.lower,
                       mouth_scale=bank.scale, mouth_origin=bank.origin,
                       pose_std=np.asarray(pose_std, np.float32), blink_rate=rate, seconds=seconds)
