"""Fitting a person model on real footage, its .thp file, and using it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from talkinghead.person.model import fit_person, load_person, person_bank, save_person
from talkinghead.types import InputError

CLIPS = ("bbaf2n", "bbaf3s", "bbaf4p", "bbaf5a")


@pytest.fixture(scope="module")
def person(shared_data: Path):
    return fit_person([shared_data / "grid" / "s1" / "video" / f"{n}.mp4" for n in CLIPS])


def test_fit_learns_the_mouth_pose_and_blinks_of_real_footage(person) -> None:
    assert person.seconds == pytest.approx(12.0, abs=0.5)
    k = len(person.mouth_openings)
    assert k >= 4 and np.all(np.diff(person.mouth_openings) > 0)
    assert person.mouth_images.shape[0] == k and person.mouth_upper.shape == (k, 11, 2)
    assert person.portrait.dtype == np.uint8 and person.portrait.shape == (288, 360, 3)
    assert np.all(person.pose_std > 0) and np.all(person.pose_std < 10)
    assert 0 <= person.blink_rate < 120
    # Their own colours: the widest mouth's inside is darker than its lips, relative to the skin.
    bank = person_bank(person)
    assert bank.exact and bank.images[-1].mean() < 1.2


def test_thp_round_trip_and_bad_files(person, tmp_path: Path) -> None:
    path = tmp_path / "p.thp"
    save_person(person, path)
    back = load_person(path)
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:  # no fine-tuned motion: version 1, which older releases read
        assert f.metadata()["version"] == "1" and "motion_onnx" not in f.keys()
    assert back.motion_onnx is None
    assert back.name == person.name and back.blink_rate == pytest.approx(person.blink_rate)
    assert np.array_equal(back.portrait, person.portrait) and np.allclose(back.mouth_images, person.mouth_images)
    truncated = tmp_path / "cut.thp"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InputError, match="cut.thp"):
        load_person(truncated)
    foreign = tmp_path / "foreign.thp"
    from safetensors.numpy import save_file

    save_file({"x": np.zeros(3, np.float32)}, str(foreign), metadata={"format": "something-else"})
    with pytest.raises(InputError, match="not a talkinghead person model"):
        load_person(foreign)
    other = tmp_path / "v9.thp"
    save_file({"x": np.zeros(3, np.float32)}, str(other), metadata={"format": "talkinghead-person", "version": "9"})
    with pytest.raises(InputError, match="version"):
        load_person(other)
    with pytest.raises(InputError, match="not found"):
        load_person(tmp_path / "missing.thp")


def test_generate_with_the_person_draws_their_mouth(person, shared_data: Path, tmp_path: Path) -> None:
    from talkinghead.media.video import probe_video
    from talkinghead.pipeline import GenerateConfig, generate

    out = tmp_path / "p.mp4"
    generate(None, shared_data / "grid" / "s1" / "video" / "bbal6n.mp4", out, config=GenerateConfig(size=256),
             person=person)
    info = probe_video(out)
    assert (info.width, info.height) == (256, 256) and info.duration_s > 2.5
    with pytest.raises(InputError, match="portrait"):
        generate(None, shared_data / "grid" / "s1" / "video" / "bbal6n.mp4", tmp_path / "q.mp4")


def test_too_little_footage_is_a_clear_error(shared_data: Path, tmp_path: Path) -> None:
    still = tmp_path / "still.png"
    import cv2

    from talkinghead.media.video import read_video

    frame = next(iter(read_video(shared_data / "grid" / "s1" / "video" / "bbaf2n.mp4")))
    cv2.imwrite(str(still), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    with pytest.raises(InputError):
        fit_person([still])


def test_the_person_turns_their_head_as_much_as_in_their_footage(person, shared_data: Path) -> None:
    from talkinghead.media.audio import load_speech
    from talkinghead.pipeline import GenerateConfig, TalkingHeadPipeline, analyse_speech

    # Per-video spread: GRID s1 sits still (well under a degree), not the spread between clips.
    assert float(np.mean(person.pose_std)) < 1.5
    analysis = analyse_speech(load_speech(shared_data / "audio" / "whisper_jfk.flac"), None, "acoustic")
    for scale in (1.0, 2.0):
        pipe = TalkingHeadPipeline(person.portrait, GenerateConfig(size=128, pose_scale=scale), person=person)
        seq = pipe.motion(analysis)
        got = float(np.mean(np.std(seq.head_pose[:, :3], axis=0)))
        assert got == pytest.approx(scale * float(np.mean(person.pose_std)), rel=0.02)
    still = TalkingHeadPipeline(person.portrait, GenerateConfig(size=128, pose_scale=0.0), person=person).motion(analysis)
    assert np.abs(still.head_pose[:, :3]).max() < 1e-6
