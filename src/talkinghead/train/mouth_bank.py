"""Build the mouth bank (``assets/mouth_bank.png`` + ``.json``) from real talking footage.

``talkinghead train mouth-bank VIDEOS SHARDS -o src/talkinghead/assets/mouth_bank.png``

Uses the landmarks already tracked by ``talkinghead train prepare`` (GRID s1: the fixed split's
training clips only; test and validation clips never enter the bank). Every ``stride``-th frame
of every clip is mapped into the canonical mouth frame of :mod:`talkinghead.render.interior`,
divided by the clip's skin colour, and filed by its opening; each opening bin keeps up to
``per_bin`` frames (evenly over the clips), and its per-pixel median becomes one interior.
The atlas is one PNG (bins stacked vertically) with its geometry in the JSON beside it.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from talkinghead.face.regions import LOWER_INNER_LIP, UPPER_INNER_LIP
from talkinghead.media.files import atomic_path
from talkinghead.render.interior import BANK_SCALE, canonical_frame, skin_colour
from talkinghead.types import InputError

#: Canonical mouth frame of the atlas: pixels per unit (half a mouth width) and extent.
SCALE = 32.0
ORIGIN = (-1.125, -0.5)
SIZE = (56, 72)  # height, width
#: Opening bins (mid-mouth gap over half the mouth width).
EDGES = (0.02, 0.06, 0.1, 0.15, 0.2, 0.26, 0.32, 0.39, 0.46, 0.54, 0.63, 0.75)


def build_bank(videos: Path, shards: Path, out: Path, stride: int = 3, per_bin: int = 240, seed: int = 0) -> dict:
    """Build the bank and write ``out`` (PNG) and ``out.with_suffix('.json')`` atomically.

    Args:
        videos: folder of the clips' videos (GRID ``s1/video``, or its parent).
        shards: folder of ``shard_*.npz`` from ``talkinghead train prepare``.
        out: the PNG to write.
        stride: use every ``stride``-th frame.
        per_bin: most frames kept per opening bin.
        seed: random seed for the frames kept.
    Returns:
        A summary: clips, frames seen, frames per bin, openings.
    Raises:
        InputError: no shards, or a clip's video is missing.
    """
    from tqdm import tqdm

    from talkinghead.eval.datasets import GRID_S1_TEST, GRID_S1_VALIDATION
    from talkinghead.media.video import probe_video, read_video
    from talkinghead.train.prepare import list_videos

    files = sorted(shards.glob("shard_*.npz"))
    if not files:
        raise InputError(f"{shards}: no shard_*.npz files (run `talkinghead train prepare` first)")
    held = set(GRID_S1_TEST) | set(GRID_S1_VALIDATION)
    paths = {p.stem: p for p in list_videos(videos)}
    clips = []
    for f in files:
        with np.load(f, allow_pickle=False) as z:
            fi = z["frame_index"]
            for c, name in enumerate(z["names"]):
                name = str(name)
                if name in held or "#" in name:
                    continue
                if name not in paths:
                    raise InputError(f"{videos}: no video for the prepared clip {name}")
                clips.append((name, z["landmarks"][fi[c]:fi[c + 1]].copy()))
    rng = np.random.default_rng(seed)
    nb = len(EDGES) - 1
    bins: list[list[tuple[np.ndarray, np.ndarray, np.ndarray, float]]] = [[] for _ in range(nb)]
    seen = [0] * nb
    frames = 0
    h, w = SIZE
    to_px = np.array([[SCALE, 0.0, -ORIGIN[0] * SCALE], [0.0, SCALE, -ORIGIN[1] * SCALE]])
    for name, lms in tqdm(clips, unit="clip", desc="mouth bank"):
        video = paths[name]
        skin = None
        for i, frame in enumerate(read_video(video, fps=float(probe_video(video).fps))):
            if i >= len(lms):
                break
            lm = lms[i]
            if skin is None:
                skin = np.maximum(skin_colour(frame, lm), 1.0)
            if i % stride:
                continue
            up = lm[list(UPPER_INNER_LIP), :2].astype(np.float64)
            lo = lm[list(LOWER_INNER_LIP), :2].astype(np.float64)
            m = canonical_frame(up, lo)
            cu, cl = up @ m[:, :2].T + m[:, 2], lo @ m[:, :2].T + m[:, 2]
            opening = float(np.mean(cl[3:8, 1] - cu[3:8, 1]))
            b = int(np.searchsorted(EDGES, opening)) - 1
            frames += 1
            if not 0 <= b < nb:
                continue
            seen[b] += 1
            # Reservoir sampling: every frame of the bin equally likely to be kept.
            if len(bins[b]) < per_bin or rng.random() < per_bin / seen[b]:
                full = np.concatenate([to_px[:, :2] @ m[:, :2], (to_px[:, :2] @ m[:, 2] + to_px[:, 2])[:, None]], axis=1)
                crop = cv2.warpAffine(frame, full, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                item = (crop.astype(np.float32) / skin, cu.astype(np.float32), cl.astype(np.float32), opening)
                if len(bins[b]) < per_bin:
                    bins[b].append(item)
                else:
                    bins[b][int(rng.integers(per_bin))] = item
    kept = [b for b in bins if len(b) >= 5]
    if len(kept) < 2:
        raise InputError(f"{shards}: too few frames to build a mouth bank ({frames} seen)")
    images = np.stack([np.median(np.stack([x[0] for x in b]), axis=0) for b in kept])
    openings = [float(np.median([x[3] for x in b])) for b in kept]
    upper = [np.median(np.stack([x[1] for x in b]), axis=0).round(4).tolist() for b in kept]
    lower = [np.median(np.stack([x[2] for x in b]), axis=0).round(4).tolist() for b in kept]
    atlas = np.clip(np.round(images * BANK_SCALE), 0, 255).astype(np.uint8).reshape(-1, w, 3)
    meta = {"version": 1, "source": "GRID s1 training clips (CC BY 4.0, Cooke et al. 2006)",
            "height": h, "width": w, "scale": SCALE, "origin": list(ORIGIN), "openings": openings,
            "upper": upper, "lower": lower, "frames": [len(b) for b in kept], "clips": len(clips)}
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        tmp.write_bytes(cv2.imencode(".png", cv2.cvtColor(atlas, cv2.COLOR_RGB2BGR))[1].tobytes())
    with atomic_path(out.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(meta, indent=1) + "\n")
    return {"clips": len(clips), "frames": frames, "per_bin": meta["frames"], "openings": [round(o, 3) for o in openings]}

