"""Synthetic training clips of the text-to-speech teacher: eSpeak NG speech, the shipped model's motion as targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("espeakng_loader")
pytest.importorskip("onnxruntime")


def test_teacher_shards_load_as_training_clips_with_the_teachers_motion(tmp_path: Path) -> None:
    from talkinghead.motion.learned import LearnedMotion, learned_available
    from talkinghead.train.dataset import load_shards, split_names
    from talkinghead.train.teacher import MAX_S, make_teacher_data, teacher_clip

    if not learned_available():
        pytest.skip("no shipped learned model")
    s = make_teacher_data(tmp_path, clips=3, seed=1)
    assert s["clips"] == 3 and s["errors"] == 0
    again = make_teacher_data(tmp_path, clips=3, seed=1)  # resumable: the shard exists
    assert again["clips"] == 0
    ds = load_shards(tmp_path)
    assert len(ds.names) == 3 and all(n.startswith("tts_") for n in ds.names)
    assert split_names(ds.names)[0] == [0, 1, 2]  # all training clips
    assert ds.mask.sum(1).max() <= MAX_S * 25 and (ds.tokens > 0).mean() > 0.5  # exact phones
    # the targets are the teacher's motion: the mouth opens and closes with the words
    clip = teacher_clip("t", "papa may bob an apple", "en-us+m3", 1.0, LearnedMotion.from_file())
    gap = clip.offsets[:, 14, 1] - clip.offsets[:, 13, 1]  # lower minus upper inner lip (IOD units)
    assert gap.max() - gap.min() > 0.05
    assert clip.phones[:2] == ("P", "AA") and np.all(clip.phone_end <= len(clip.energy) / 100 + 1e-6)
