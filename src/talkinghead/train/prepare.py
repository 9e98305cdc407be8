"""Training-set builder: talking videos -> cached shards of landmarks, blendshapes, pose, audio and phones.

``talkinghead train prepare VIDEO_DIR OUT_DIR``
tracks every video with MediaPipe Face Landmarker (VIDEO mode, the same model the evaluation
uses), computes the 100 Hz audio features and, where a word alignment or transcript exists,
the phone alignment (pocketsphinx forced alignment of the words). Clips are grouped into
shards of ``clips_per_shard`` (sorted by name); each shard is one ``.npz`` written atomically,
so an interrupted run resumes where it stopped (existing shards are skipped). A video that
cannot be read, has no face in too many frames or whose audio is silent is reported and
skipped; the rest of its shard is kept.

Per clip the shard stores (``F`` video frames, ``T`` audio frames at 100 Hz, ``P`` phones):

- ``landmarks`` float32 ``[F, 478, 3]`` MediaPipe landmarks in pixels (missing frames interpolated).
- ``offsets`` float32 ``[F, 478, 3]``: the face-normalised mesh
  (:func:`talkinghead.face.regions.normalize_mesh`: eye line horizontal, IOD units) minus the
  clip's own **neutral**: the mean normalised mesh of the ``NEUTRAL_FRAMES`` frames with the
  smallest inner-lip gap (a closed, relaxed mouth; GRID clips start and end in silence).
- ``neutral`` float32 ``[478, 3]``, ``blendshapes`` float32 ``[F, 52]`` (ARKit names in
  ``blendshape_names``), ``pose`` float32 ``[F, 3]`` (pitch, yaw, roll in degrees).
- ``mel`` ``[T, 80]``, ``energy``, ``f0`` ``[T]``, ``formants`` ``[T, 2]``, ``active`` bool ``[T]``.
- ``phones`` (ARPAbet strings), ``phone_start``/``phone_end`` (s); empty without a transcript.

Arrays of a shard are concatenated over its clips; ``frame_index``, ``audio_index`` and
``phone_index`` (int64 ``[C + 1]``) give each clip's slice, ``names`` its name.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkinghead.types import InputError

log = logging.getLogger("talkinghead.train")

#: Frames averaged into a clip's neutral mesh (those with the smallest inner-lip gap).
NEUTRAL_FRAMES = 5
#: A clip is rejected when fewer than this share of its frames has a face.
MIN_DETECTION_RATE = 0.9
#: Times the first frame is tracked before it counts (MediaPipe VIDEO mode settles; see face.track).
WARMUP = 10
#: Shard format version (stored in each shard).
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ClipData:
    """Everything cached for one clip (see the module docstring for shapes and units)."""

    name: str
    landmarks: np.ndarray
    offsets: np.ndarray
    neutral: np.ndarray
    blendshapes: np.ndarray
    pose: np.ndarray
    mel: np.ndarray
    energy: np.ndarray
    f0: np.ndarray
    formants: np.ndarray
    active: np.ndarray
    phones: tuple[str, ...]
    phone_start: np.ndarray
    phone_end: np.ndarray
    fps: float
    blendshape_names: tuple[str, ...]


def clip_neutral(normalized: np.ndarray, k: int = NEUTRAL_FRAMES) -> np.ndarray:
    """The identity's neutral mesh of a clip: mean of the ``k`` frames with the smallest lip gap.

    Args:
        normalized: float ``[F, 478, 3]`` face-normalised meshes (IOD units).
        k: number of frames averaged (clipped to ``F``).
    Returns:
        float32 ``[478, 3]``.
    """
    from talkinghead.face.neutral import lip_gap

    gaps = np.array([float(np.mean(lip_gap(m))) for m in normalized])
    idx = np.argsort(gaps)[: max(1, min(k, len(gaps)))]
    return normalized[idx].mean(0).astype(np.float32)


def mesh_offsets(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A clip's training targets from its tracked landmarks (no missing frames).

    Args:
        landmarks: float ``[F, 478, 3]`` MediaPipe landmarks in pixels.
    Returns:
        ``(offsets, neutral)``: float32 ``[F, 478, 3]`` face-normalised meshes minus the clip's
        neutral (:func:`clip_neutral`), and that neutral ``[478, 3]`` (IOD units).
    """
    from talkinghead.face.regions import normalize_mesh

    normalized = np.stack([normalize_mesh(m) for m in landmarks])
    neutral = clip_neutral(normalized)
    return (normalized - neutral[None]).astype(np.float32), neutral


def interpolate_missing(x: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Fill rows where ``found`` is False by linear interpolation over time (edges: nearest)."""
    if found.all():
        return x
    t = np.arange(len(found))
    flat = x.reshape(len(found), -1).copy()
    good = np.flatnonzero(found)
    for j in range(flat.shape[1]):
        flat[~found, j] = np.interp(t[~found], good, flat[good, j])
    return flat.reshape(x.shape)


def transcript_for(video: Path) -> str | None:
    """The words spoken in ``video``: a GRID ``../align/NAME.align`` beside its folder, or ``NAME.txt`` beside it."""
    from talkinghead.eval.datasets import read_align

    align = video.parent.parent / "align" / f"{video.stem}.align"
    if align.is_file():
        words = read_align(align)
        return " ".join(w.word for w in words) if words else None
    txt = video.with_suffix(".txt")
    if txt.is_file():
        return txt.read_text(encoding="utf-8").strip() or None
    return None


def process_clip(video: Path) -> ClipData:
    """Track, normalise and analyse one talking video.

    Raises:
        InputError: unreadable video or audio, silent audio, or a face in too few frames.
    """
    from talkinghead.audio.features import compute_features, speech_activity
    from talkinghead.audio.phones import TRAINING_ALIGN_TOPN, AlignmentError, align_transcript
    from talkinghead.face.landmarks import FaceLandmarker
    from talkinghead.media.audio import load_speech
    from talkinghead.media.video import probe_video, read_video
    from talkinghead.types import N_LANDMARKS

    info = probe_video(video)
    fps = float(info.fps)
    lms, bss, poses, found = [], [], [], []
    names: tuple[str, ...] = ()
    with FaceLandmarker(video=True, max_faces=1) as fl:
        for i, frame in enumerate(read_video(video, fps=fps)):
            if i == 0:
                for k in range(WARMUP):
                    fl.detect(frame, timestamp_ms=int(round(k * 1000.0 / fps)))
            faces = fl.detect(frame, timestamp_ms=int(round((WARMUP + i) * 1000.0 / fps)))
            if faces:
                f = faces[0]
                lms.append(f.landmarks)
                bss.append(f.blendshapes if len(f.blendshapes) == 52 else np.zeros(52, np.float32))
                poses.append(f.rotation_deg)
                names = names or f.blendshape_names
                found.append(True)
            else:
                lms.append(np.zeros((N_LANDMARKS, 3), np.float32))
                bss.append(np.zeros(52, np.float32))
                poses.append(np.zeros(3, np.float32))
                found.append(False)
    f_ok = np.asarray(found, bool)
    if len(f_ok) == 0:
        raise InputError(f"{video}: no video frames")
    if f_ok.mean() < MIN_DETECTION_RATE:
        raise InputError(f"{video}: face found in only {f_ok.mean():.0%} of {len(f_ok)} frames")
    landmarks = interpolate_missing(np.stack(lms).astype(np.float32), f_ok)
    blend = interpolate_missing(np.stack(bss).astype(np.float32), f_ok)
    pose = interpolate_missing(np.stack(poses).astype(np.float32), f_ok)
    offsets, neutral = mesh_offsets(landmarks)

    speech = load_speech(video)
    feats = compute_features(speech)
    active = speech_activity(feats)
    phones: tuple[str, ...] = ()
    p0 = p1 = np.zeros(0, np.float32)
    text = transcript_for(video)
    if text:
        try:
            segs = align_transcript(speech, text, TRAINING_ALIGN_TOPN).segments
            phones = tuple(s.phone for s in segs)
            p0 = np.array([s.start_s for s in segs], np.float32)
            p1 = np.array([s.end_s for s in segs], np.float32)
        except AlignmentError as e:
            log.warning("%s: forced alignment failed (%s); no phones", video, e)
    return ClipData(name=video.stem, landmarks=landmarks, offsets=offsets, neutral=neutral, blendshapes=blend,
                    pose=pose, mel=feats.mel.astype(np.float32), energy=feats.energy.astype(np.float32),
                    f0=feats.f0.astype(np.float32), formants=feats.formants.astype(np.float32),
                    active=np.asarray(active, bool), phones=phones, phone_start=p0, phone_end=p1, fps=fps,
                    blendshape_names=names)


def _cat(parts: Sequence[np.ndarray], shape_tail: tuple[int, ...], dtype: type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros((0, *shape_tail), dtype)


def write_shard(path: Path, clips: Sequence[ClipData], errors: dict[str, str]) -> None:
    """Write clips (concatenated, with index arrays) and the per-video errors as one ``.npz``, atomically."""
    def index(lengths: Sequence[int]) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    meta = {"version": FORMAT_VERSION, "errors": errors,
            "fps": [c.fps for c in clips],
            "blendshape_names": list(next((c.blendshape_names for c in clips if c.blendshape_names), ()))}
    arrays = dict(
        meta=np.array(json.dumps(meta)),
        names=np.array([c.name for c in clips], dtype=str),
        frame_index=index([len(c.offsets) for c in clips]),
        audio_index=index([len(c.energy) for c in clips]),
        phone_index=index([len(c.phones) for c in clips]),
        landmarks=_cat([c.landmarks for c in clips], (478, 3), np.float32),
        offsets=_cat([c.offsets for c in clips], (478, 3), np.float32),
        neutral=np.stack([c.neutral for c in clips]) if clips else np.zeros((0, 478, 3), np.float32),
        blendshapes=_cat([c.blendshapes for c in clips], (52,), np.float32),
        pose=_cat([c.pose for c in clips], (3,), np.float32),
        mel=_cat([c.mel for c in clips], (80,), np.float32),
        energy=_cat([c.energy for c in clips], (), np.float32),
        f0=_cat([c.f0 for c in clips], (), np.float32),
        formants=_cat([c.formants for c in clips], (2,), np.float32),
        active=_cat([c.active for c in clips], (), bool),
        phones=np.array([p for c in clips for p in c.phones], dtype=str),
        phone_start=_cat([c.phone_start for c in clips], (), np.float32),
        phone_end=_cat([c.phone_end for c in clips], (), np.float32),
    )
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=path.parent)
    os.close(fd)
    try:
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _build_shard(job: tuple[str, list[str]]) -> tuple[str, int, dict[str, str]]:
    """Worker: process the videos of one shard and write it. Returns (shard path, clips kept, errors)."""
    shard, videos = job
    clips, errors = [], {}
    for v in videos:
        try:
            clips.append(process_clip(Path(v)))
        except (InputError, ValueError, OSError, RuntimeError) as e:  # one bad video must not stop the run
            errors[Path(v).stem] = f"{type(e).__name__}: {e}" if not isinstance(e, InputError) else str(e)
    write_shard(Path(shard), clips, errors)
    return shard, len(clips), errors


def list_videos(folder: Path) -> list[Path]:
    """Video files in ``folder`` or its ``video/`` subfolder, sorted by name."""
    d = folder / "video" if (folder / "video").is_dir() else folder
    if not d.is_dir():
        raise InputError(f"{folder}: folder not found")
    vids = sorted(p for p in d.iterdir() if p.suffix.lower() in (".mp4", ".mov", ".mkv", ".webm", ".avi"))
    if not vids:
        raise InputError(f"{folder}: no video files found")
    return vids


def prepare(videos_dir: Path, out_dir: Path, clips_per_shard: int = 16, workers: int = 2,
            limit: int | None = None) -> dict[str, object]:
    """Build (or resume building) the shards for a folder of talking videos.

    Args:
        videos_dir: folder of videos (or with a ``video/`` subfolder; GRID ``align/`` beside it is used).
        out_dir: output folder (created); shards are ``shard_00000.npz``...
        clips_per_shard: clips per shard (>= 1).
        workers: worker processes (>= 1); MediaPipe takes about 10 ms per frame per process.
        limit: only the first ``limit`` videos (by name).
    Returns:
        Summary dict: shards written/skipped, clips kept, per-video errors, seconds.
    """
    from multiprocessing import get_context

    from tqdm import tqdm

    vids = list_videos(videos_dir)[:limit]
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = []
    for s in range(0, len(vids), clips_per_shard):
        shard = out_dir / f"shard_{s // clips_per_shard:05d}.npz"
        if not shard.exists():
            jobs.append((str(shard), [str(v) for v in vids[s:s + clips_per_shard]]))
    n_shards = (len(vids) + clips_per_shard - 1) // clips_per_shard
    t0 = time.perf_counter()
    kept, errors = 0, {}
    bar = tqdm(total=sum(len(v) for _, v in jobs), unit="clip", desc="prepare")
    if workers <= 1:
        results = map(_build_shard, jobs)
        for _, n, err in results:
            kept += n
            errors.update(err)
            bar.update(n + len(err))
    else:
        with get_context("spawn").Pool(workers) as pool:
            for _, n, err in pool.imap_unordered(_build_shard, jobs):
                kept += n
                errors.update(err)
                bar.update(n + len(err))
    bar.close()
    for name, msg in sorted(errors.items()):
        print(f"skipped {name}: {msg}", file=sys.stderr)
    summary = {"videos": len(vids), "shards": n_shards, "shards_built": len(jobs),
               "shards_skipped": n_shards - len(jobs), "clips_kept": kept, "errors": errors,
               "seconds": round(time.perf_counter() - t0, 1)}
    (out_dir / "prepare.json").write_text(json.dumps(summary, indent=2))
    return summary
