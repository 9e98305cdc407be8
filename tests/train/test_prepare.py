"""Training-set builder: neutral choice, gap filling, shard round trip, resume and per-video errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from talkinghead.train.prepare import (
    ClipData,
    interpolate_missing,
    clip_neutral,
    prepare,
    process_clip,
    write_shard,
)
from talkinghead.types import InputError


def _clip(name: str, f: int = 6, t: int = 24) -> ClipData:
    z = np.zeros
    return ClipData(name=name, landmarks=z((f, 478, 3), np.float32), offsets=np.ones((f, 478, 3), np.float32),
                    neutral=z((478, 3), np.float32), blendshapes=z((f, 52), np.float32), pose=z((f, 3), np.float32),
                    mel=z((t, 80), np.float32), energy=z(t, np.float32), f0=z(t, np.float32),
                    formants=z((t, 2), np.float32), active=z(t, bool), phones=("SIL", "AA"),
                    phone_start=np.array([0.0, 0.1], np.float32), phone_end=np.array([0.1, 0.2], np.float32),
                    fps=25.0, blendshape_names=())


def test_clip_neutral_takes_the_closed_mouth_frames() -> None:
    from talkinghead.face.regions import LOWER_INNER_LIP, canonical_mesh

    base = canonical_mesh()
    frames = np.stack([base.copy() for _ in range(10)])
    for i in range(10):
        frames[i, list(LOWER_INNER_LIP[1:-1]), 1] += 0.02 * i  # mouth opens more and more
    neutral = clip_neutral(frames, k=2)
    np.testing.assert_allclose(neutral, frames[:2].mean(0), atol=1e-6)


def test_interpolate_missing_frames() -> None:
    x = np.arange(5, dtype=np.float32)[:, None] * np.ones((5, 2), np.float32)
    found = np.array([True, False, True, False, True])
    x[~found] = 0.0
    np.testing.assert_allclose(interpolate_missing(x, found)[:, 0], [0, 1, 2, 3, 4])


def test_shard_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "shard_00000.npz"
    write_shard(path, [_clip("a"), _clip("b", f=4, t=16)], {"c": "no face"})
    with np.load(path) as z:
        assert list(z["names"]) == ["a", "b"]
        assert list(z["frame_index"]) == [0, 6, 10] and list(z["audio_index"]) == [0, 24, 40]
        assert z["offsets"].shape == (10, 478, 3) and list(z["phones"]) == ["SIL", "AA", "SIL", "AA"]
        assert json.loads(str(z["meta"]))["errors"] == {"c": "no face"}


def test_bad_video_is_reported_and_skipped_and_resume_skips_done_shards(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "broken.mp4").write_bytes(b"not a video")
    out = tmp_path / "cache"
    s = prepare(videos, out, clips_per_shard=4, workers=1)
    assert s["clips_kept"] == 0 and "broken" in s["errors"]
    assert (out / "shard_00000.npz").is_file()
    s2 = prepare(videos, out, clips_per_shard=4, workers=1)
    assert s2["shards_skipped"] == 1 and s2["shards_built"] == 0


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no video files"):
        prepare(tmp_path, tmp_path / "out")


@pytest.mark.slow
def test_process_a_real_grid_clip(shared_data: Path) -> None:
    clip = process_clip(shared_data / "grid" / "s1" / "video" / "bbaf2n.mp4")
    f = clip.offsets.shape[0]
    assert f == 75 and clip.blendshapes.shape == (f, 52) and clip.mel.shape[1] == 80
    assert "B" in clip.phones and abs(clip.mel.shape[0] - 300) <= 2
    assert float(np.abs(clip.offsets[:, 14, 1]).max()) > 0.03  # the jaw moves while speaking
