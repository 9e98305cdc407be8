"""The learned motion fine-tuned to one person (``talkinghead fit``): windows, members, fine-tune, use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from talkinghead.train.person import PersonClip, fine_tune, load_members, windows  # noqa: E402
from talkinghead.types import AudioFeatures, InputError  # noqa: E402

CLIPS = ("bbaf2n", "bbaf3s", "bbaf4p", "bbaf5a", "bbal6n", "bbal7s")


def synthetic(seconds: float, fps: float = 25.0) -> PersonClip:
    t, f = int(seconds * 100), int(round(seconds * fps))
    rng = np.random.default_rng(int(seconds))
    feats = AudioFeatures(mel=rng.normal(size=(t, 80)).astype(np.float32), energy=rng.normal(size=t).astype(np.float32),
                          f0=np.zeros(t, np.float32), formants=np.zeros((t, 2), np.float32))
    return PersonClip(feats, np.ones(t, bool), np.zeros((f, 478, 3), np.float32), np.zeros((f, 52), np.float32),
                      np.ones(f, bool), fps)


def test_windows_hold_out_whole_short_clips_or_the_end_of_long_ones() -> None:
    train, held = windows([synthetic(3.0) for _ in range(6)])
    assert (len(train.names), len(held.names)) == (5, 1)  # the fifth clip held out whole
    train, held = windows([synthetic(30.0)])
    # The last 6 s held out as two back-to-back windows; the first 24 s give a window every second.
    assert len(held.names) == 2 and len(train.names) == 22
    assert train.mask.sum(1).max() == 75 and held.mask.sum(1).min() == 75
    with pytest.raises(InputError, match="too little footage"):
        windows([synthetic(8.0)])
    # Four videos of 6.5 s: each keeps its last 3 s for checking; 3.5 s each, 14 s in all, to learn from.
    train, held = windows([synthetic(6.5) for _ in range(4)])
    assert len(held.names) == 4 and len(train.names) == 8 and held.mask.sum(1).min() == 75
    # A long video among short ones: every video is split in time, none held out whole.
    train, held = windows([synthetic(4.0)] * 4 + [synthetic(30.0)])
    assert len(held.names) == 4 + 2 and len(train.names) == 4 + 22
    train, held = windows([synthetic(30.0)], max_windows=5)  # long footage: a spread of windows
    assert len(train.names) == 5 and train.names[0] == "0:0.0" and train.names[-1] == "0:21.0"


def test_the_shipped_members_are_the_shipped_graph() -> None:
    import torch

    from talkinghead.motion.learned import LearnedMotion
    from talkinghead.train.model import build_ensemble

    ens = build_ensemble(load_members())
    shipped = LearnedMotion.from_file()
    rng = np.random.default_rng(0)
    t, f = 200, 50
    inputs = {"content": rng.normal(size=(1, t, 80)).astype(np.float32), "tokens": np.zeros((1, t), np.int64),
              "dynamics": rng.normal(size=(1, t, 8)).astype(np.float32),
              "index": np.clip(np.arange(f)[None, :, None] * 4 + np.arange(-2, 2)[None, None], 0, t - 1).astype(np.int64)}
    want = shipped.session.run(None, inputs)[1]
    with torch.no_grad():
        got = ens(*(torch.from_numpy(inputs[k]) for k in ("content", "tokens", "dynamics", "index")))[1].numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.fixture(scope="module")
def fitted(shared_data: Path):
    from talkinghead.media.audio import load_speech
    from talkinghead.person.model import fit_person
    from talkinghead.train.person import person_clip

    videos = [shared_data / "grid" / "s1" / "video" / f"{n}.mp4" for n in CLIPS]
    tracks: list = []
    person = fit_person(videos, tracks=tracks)
    clips = [person_clip(lm, bl, fps, load_speech(v)) for v, (lm, bl, fps) in zip(videos, tracks)]
    return person, clips, fine_tune(clips, steps=4, eval_every=2), videos, tracks


def test_fine_tune_on_real_footage_keeps_the_best_held_out_weights(fitted) -> None:
    person, clips, tuned = fitted[:3]
    assert len(clips) == 6 and all(c.offsets.shape[1:] == (478, 3) and c.found.all() for c in clips)
    assert clips[0].blendshapes.shape == (len(clips[0].offsets), 52) and clips[0].blendshapes.max() > 0.1
    rec = tuned.record
    assert rec["train_windows"] == 5 and rec["held_out_windows"] == 1 and len(rec["members"]) == 3
    for m in rec["members"]:
        assert m["step_kept"] in (0, 2, 4) and m["held_out_r_after"] >= m["held_out_r_before"]
        assert (m["step_kept"] == 0) == (m["held_out_r_after"] == m["held_out_r_before"])


def test_a_person_with_their_motion_round_trips_and_drives_generate(fitted, shared_data: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    from talkinghead.media.audio import load_speech
    from talkinghead.motion.make import make_motion
    from talkinghead.person.model import load_person, person_motion, save_person
    from talkinghead.pipeline import GenerateConfig, TalkingHeadPipeline, analyse_speech

    person, _, tuned = fitted[:3]
    assert person.motion_onnx is None and person_motion(person) is None
    person = replace(person, motion_onnx=np.frombuffer(tuned.onnx, np.uint8))
    save_person(person, tmp_path / "p.thp")
    back = load_person(tmp_path / "p.thp")
    assert back.motion_onnx is not None and back.motion_onnx.tobytes() == tuned.onnx
    from safetensors import safe_open

    with safe_open(str(tmp_path / "p.thp"), framework="numpy") as f:
        assert f.metadata()["version"] == "2"
    model = person_motion(back)
    assert "person_fine_tune" in model.meta
    config = GenerateConfig(size=128, pose_scale=0.0)
    pipe = TalkingHeadPipeline(back.portrait, config, person=back)
    analysis = analyse_speech(load_speech(shared_data / "grid" / "s1" / "video" / "bbaz6p.mp4"), None, "acoustic")
    own = pipe.motion(analysis).landmark_offsets
    np.testing.assert_array_equal(own, make_motion(analysis, config, model=model).landmark_offsets)
    if any(m["step_kept"] for m in tuned.record["members"]):  # changed weights move the face differently
        assert not np.array_equal(own, make_motion(analysis, config).landmark_offsets)


def test_adapt_says_why_it_did_not_fine_tune(fitted, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from talkinghead.train.person import adapt

    person, _, _, videos, tracks = fitted
    same, record, notes = adapt(person, videos[:2], tracks[:2])  # 6 s of talking
    assert same is person and record is None and "too little footage" in notes[-1]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    same, record, notes = adapt(person, videos, tracks)
    assert same is person and record is None and notes == ["motion not fine-tuned: it needs torch "
                                                           "(pip install 'talkinghead[train]')"]


def test_live_streams_with_the_persons_own_motion(fitted, shared_data: Path, tmp_path: Path) -> None:
    import subprocess
    import sys
    from dataclasses import replace

    import cv2

    from talkinghead.live import live
    from talkinghead.pipeline import GenerateConfig

    person, _, tuned = fitted[:3]
    person = replace(person, motion_onnx=np.frombuffer(tuned.onnx, np.uint8))
    portrait = tmp_path / "them.png"
    cv2.imwrite(str(portrait), cv2.cvtColor(person.portrait, cv2.COLOR_RGB2BGR))
    speech = shared_data / "grid" / "s1" / "video" / "bbaz6p.mp4"
    config = GenerateConfig(size=128, pose_scale=0.0, blink_rate=0.0)
    runs = {}
    for key, who in (("shipped", None), ("person", person)):
        live(portrait, speech, tmp_path / f"{key}.mp4", config=config, realtime=False,
             motion_out=tmp_path / f"{key}.npz", person=who)
        runs[key] = np.load(tmp_path / f"{key}.npz")["landmark_offsets"]
    assert runs["person"].shape == runs["shipped"].shape and len(runs["person"]) > 50
    if any(m["step_kept"] for m in tuned.record["members"]):  # the person's networks moved: so does the face
        assert not np.array_equal(runs["person"], runs["shipped"])
    bad = tmp_path / "bad.thp"
    bad.write_bytes(b"not a person")
    r = subprocess.run([sys.executable, "-m", "talkinghead.cli", "live", str(portrait), "-a", str(speech), "-o",
                        str(tmp_path / "x.mp4"), "--person", str(bad), "-q"], capture_output=True, text=True, check=False)
    assert r.returncode == 2 and r.stderr.strip().startswith("error: ") and "bad.thp" in r.stderr
    assert not (tmp_path / "x.mp4").exists()
