"""Build the mouth bank (``assets/mouth_bank.png`` + ``.json``) from real talking footage.

``talkinghead train mouth-bank VIDEOS SHARDS -o src/talkinghead/assets/mouth_bank.png``

Uses the landmarks already tracked by ``talkinghead train prepare`` (GRID s1: the fixed split's
training clips only; test and validation clips never enter the bank). Every ``stride``-th frame
of every clip goes to :class:`talkinghead.person.mouth.MouthBankBuilder` (the clip's first frame
sets its skin colour). The atlas is one PNG (bins stacked vertically) with its geometry in the
JSON beside it.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from talkinghead.media.files import atomic_path
from talkinghead.person.mouth import MIN_FRAMES, ORIGIN, SCALE, SIZE, MouthBankBuilder
from talkinghead.render.interior import BANK_SCALE, skin_colour
from talkinghead.types import InputError


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
    builder = MouthBankBuilder(per_bin=per_bin, seed=seed)
    for name, lms in tqdm(clips, unit="clip", desc="mouth bank"):
        video = paths[name]
        skin = None
        for i, frame in enumerate(read_video(video, fps=float(probe_video(video).fps))):
            if i >= len(lms):
                break
            if skin is None:  # the clip's first frame sets its skin colour
                skin = skin_colour(frame, lms[i])
            if i % stride == 0:
                builder.add(frame, lms[i], skin)
    bank = builder.build(exact=False, source=str(shards))
    h, w = SIZE
    images = bank.images
    atlas = np.clip(np.round(images * BANK_SCALE), 0, 255).astype(np.uint8).reshape(-1, w, 3)
    meta = {"version": 1, "source": "GRID s1 training clips (CC BY 4.0, Cooke et al. 2006)",
            "height": h, "width": w, "scale": SCALE, "origin": list(ORIGIN),
            "openings": [round(float(o), 4) for o in bank.openings],
            "upper": bank.upper.round(4).tolist(), "lower": bank.lower.round(4).tolist(),
            "frames": [c for c in builder.counts if c >= MIN_FRAMES], "clips": len(clips)}
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        tmp.write_bytes(cv2.imencode(".png", cv2.cvtColor(atlas, cv2.COLOR_RGB2BGR))[1].tobytes())
    with atomic_path(out.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(meta, indent=1) + "\n")
    return {"clips": len(clips), "frames": builder.frames, "per_bin": meta["frames"], "openings": meta["openings"]}

