"""Building the mouth bank from prepared real clips (training clips only)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from talkinghead.eval.datasets import GRID_S1_TEST
from talkinghead.person.mouth import SIZE
from talkinghead.train.mouth_bank import build_bank
from talkinghead.train.prepare import process_clip, write_shard
from talkinghead.types import InputError


def test_bank_from_two_real_clips_leaves_out_test_clips(shared_data: Path, tmp_path: Path) -> None:
    video = shared_data / "grid" / "s1" / "video"
    train = [n for n in ("bbaf2n", "bbaf3s") if n not in GRID_S1_TEST]
    test = GRID_S1_TEST[0]
    names = train + [test]
    write_shard(tmp_path / "shard_00000.npz", [process_clip(video / f"{n}.mp4") for n in names], {})
    out = tmp_path / "bank.png"
    s = build_bank(video, tmp_path, out, stride=1, per_bin=20)
    assert s["clips"] == len(train)  # the test clip never enters the bank
    meta = json.loads(out.with_suffix(".json").read_text())
    atlas = cv2.imread(str(out))
    k = len(meta["openings"])
    assert k >= 2 and atlas.shape == (k * SIZE[0], SIZE[1], 3)
    assert np.all(np.diff(meta["openings"]) > 0) and sum(meta["frames"]) <= s["frames"]
    # The widest interior is darker inside its opening than the lips around it.
    h, w = SIZE
    img = atlas[(k - 1) * h:k * h].astype(np.float32).mean(axis=2)
    poly = np.concatenate([np.asarray(meta["upper"][-1]), np.asarray(meta["lower"][-1])[::-1]])
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round((poly - meta["origin"]) * meta["scale"]).astype(np.int32)], 1)
    assert img[mask > 0].mean() < img[mask == 0].mean()


def test_no_shards_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no shard"):
        build_bank(tmp_path, tmp_path, tmp_path / "bank.png")
