"""The fixed GRID split, alignments, bilabial events, and the identity model's files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from talkinghead.eval import datasets as D
from talkinghead.types import InputError


def test_read_align_units_and_silence(tmp_path: Path) -> None:
    p = tmp_path / "x.align"
    p.write_text("0 23750 sil\n23750 29500 bin\n29500 34000 blue\n34000 35500 sp\n35500 41000 m\n41000 74500 sil\n")
    words = D.read_align(p)
    assert [w.word for w in words] == ["bin", "blue", "m"]
    assert words[0].start_s == pytest.approx(0.95) and words[0].end_s == pytest.approx(1.18)
    bad = tmp_path / "bad.align"
    bad.write_text("0 10 sil extra\n")
    with pytest.raises(InputError, match="bad.align:1"):
        D.read_align(bad)
    with pytest.raises(InputError, match="missing.align"):
        D.read_align(tmp_path / "missing.align")


def test_bilabial_events_from_words() -> None:
    W = D.AlignedWord
    words = [W("bin", 1.0, 1.2), W("white", 1.2, 1.5), W("m", 1.5, 1.8), W("please", 1.8, 2.2), W("phone", 2.2, 2.5)]
    ev = D.bilabial_events(words)
    assert ev == [(1.0, 1.08), (pytest.approx(1.72), 1.8), (1.8, pytest.approx(1.88))]


def test_clip_transcript() -> None:
    c = D.Clip("x", "grid_test", Path("x.mp4"), (D.AlignedWord("bin", 0, 1), D.AlignedWord("blue", 1, 2)))
    assert c.transcript == "bin blue"
    assert D.Clip("y", "videos", Path("y.mp4")).transcript is None


def test_split_procedure_is_deterministic_and_disjoint() -> None:
    names = [f"c{i:03d}" for i in range(300)]
    a = D.make_grid_split(names)
    b = D.make_grid_split(list(reversed(names)))
    assert a == b
    assert len(a.test) == 40 and len(a.validation) == 40 and len(a.train) == 220
    assert not (set(a.test) & set(a.validation)) and not (set(a.train) & (set(a.test) | set(a.validation)))


def test_fixed_grid_split_matches_the_data(shared_data: Path) -> None:
    names = D.grid_s1_names(shared_data)
    assert len(names) > 800
    drawn = D.make_grid_split(names)
    assert drawn.test == D.GRID_S1_TEST and drawn.validation == D.GRID_S1_VALIDATION
    split = D.grid_split(shared_data)
    assert split.test == D.GRID_S1_TEST and split.validation == D.GRID_S1_VALIDATION
    assert len(split.train) == len(names) - 80
    assert not set(split.train) & (set(D.GRID_S1_TEST) | set(D.GRID_S1_VALIDATION))


def test_load_sets(shared_data: Path) -> None:
    test = D.load_set("grid_test", shared_data)
    assert len(test) == 40 and all(c.video.is_file() and c.transcript for c in test)
    assert [c.name for c in D.load_set("grid_test", shared_data, quick=True)] == list(D.GRID_S1_TEST[:3])
    others = D.load_set("grid_others", shared_data)
    # unseen speakers: 5 in grid/others, 10 of s31 (aligned) and 23 of s4 in grid/more
    assert len(others) == 38 and sum(bool(c.words) for c in others) == 11
    assert all(c.video.is_file() for c in others) and len({c.video.parent.parent.name for c in others}) == 3
    noisy = D.load_set("grid_babble0", shared_data)
    assert [c.name for c in noisy] == [c.name for c in test] and {c.snr_db for c in noisy} == {0.0}
    assert all(len(c.noise) == 3 and all(f.is_file() for f in c.noise) for c in noisy)
    assert not test[0].noise and D.load_set("grid_babble10", shared_data, limit=1)[0].snr_db == 10.0
    videos = D.load_set("videos", shared_data, limit=2)
    assert len(videos) == 2 and videos[0].transcript is None
    assert len(D.load_set("videos", shared_data, quick=True)) == 2
    with pytest.raises(InputError, match="unknown evaluation set"):
        D.load_set("nope", shared_data)


def test_identity_model_files_found_without_pkg_resources() -> None:
    pytest.importorskip("dlib")
    code = ("import sys; from talkinghead.eval.identity import model_dir; d = model_dir(); "
            "assert d is not None and (d / 'dlib_face_recognition_resnet_model_v1.dat').is_file(); "
            "assert 'face_recognition_models' not in sys.modules and 'pkg_resources' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_dub_cross_pairs_one_clips_video_with_the_next_clips_speech(shared_data: Path) -> None:
    from talkinghead.eval.systems import systems_for

    pairs = D.load_set("dub_cross", shared_data)
    test = D.load_set("grid_test", shared_data)
    assert len(pairs) == D.DUB_CROSS_PAIRS
    for k, c in enumerate(pairs):
        # scored against real clip B (its video, its words); clip A's video is the one dubbed
        assert c.video == test[k + 1].video and c.transcript == test[k + 1].transcript
        assert c.dub_video == test[k].video and c.name == f"{test[k].name}>{test[k + 1].name}"
    assert systems_for(pairs[0], ["still", "learned", "dub"]) == ["learned", "dub"]
    assert systems_for(test[0], ["still", "dub"]) == ["still", "dub"]
    cross = D.load_set("cross", shared_data, limit=1)[0]
    assert systems_for(cross, ["learned", "dub"]) == ["learned"]  # no video to dub


def test_person_set_never_holds_the_footage_its_person_is_fitted_on(shared_data: Path) -> None:
    from talkinghead.eval.systems import systems_for

    clips = D.load_set("grid_person", shared_data)
    assert len(clips) == 12 and {c.video.parent.parent.name for c in clips} == {"s4", "s31"}
    for c in clips:
        fit = D.person_fit_videos(c)
        assert len(fit) == D.PERSON_FIT[c.video.parent.parent.name] and c.video not in fit
        assert all(f.parent == c.video.parent for f in fit)
    assert systems_for(clips[0], ("learned", "auto-notext", "person")) == ["auto-notext", "person"]
    test = D.load_set("grid_test", shared_data)[0]
    assert systems_for(test, ("learned", "person")) == ["learned"]
    with pytest.raises(InputError, match="grid_person"):
        D.person_fit_videos(test)
