from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from talkinghead.pipeline import GenerateConfig
from talkinghead.types import InputError

CLI = [sys.executable, "-m", "talkinghead.cli"]


@pytest.mark.parametrize("bad", [dict(size=10), dict(size=513), dict(fps=0), dict(pose_scale=-1), dict(blink_rate=100), dict(phones="magic"), dict(face_index=-1)])
def test_config_rejects_out_of_range_settings(bad: dict) -> None:
    with pytest.raises(InputError):
        GenerateConfig(**bad).validate()


def test_help_explains_every_generate_option() -> None:
    env = dict(os.environ, COLUMNS="200")
    r = subprocess.run([*CLI, "generate", "--help"], capture_output=True, text=True, check=True, env=env)
    for opt in ("--transcript", "--size", "--fps", "--pose-scale", "--still", "--blink-rate", "--full-frame", "--face", "--phones", "--motion-out"):
        assert opt in r.stdout


def test_bad_setting_is_a_one_line_error(tmp_path) -> None:
    r = subprocess.run([*CLI, "generate", "a.png", "b.wav", "-o", str(tmp_path / "o.mp4"), "--size", "10"],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["error: --size must be an even number of pixels from 64 to 2048, got 10"]


def _assets():
    from importlib import resources
    from pathlib import Path

    return Path(str(resources.files("talkinghead") / "assets"))


@pytest.mark.parametrize("case", ["motion_out_is_input", "output_is_dir", "transcript_not_utf8", "missing_portrait"])
def test_more_user_mistakes_are_one_line_errors(tmp_path, case: str) -> None:
    import shutil

    portrait = tmp_path / "face.png"
    shutil.copy(_assets() / "astronaut.png", portrait)
    before = portrait.read_bytes()
    args = ["generate", str(portrait), str(_assets() / "jfk.flac"), "-o", str(tmp_path / "out.mp4"), "-q"]
    expect = str(portrait)
    if case == "motion_out_is_input":
        args += ["--motion-out", str(portrait)]
    elif case == "output_is_dir":
        (tmp_path / "d.mp4").mkdir()
        args[4] = str(tmp_path / "d.mp4")
        expect = "is a directory"
    elif case == "transcript_not_utf8":
        (tmp_path / "words.txt").write_bytes(b"caf\xe9 \xff\xfe")
        args += ["--transcript", "@" + str(tmp_path / "words.txt")]
        expect = "not a UTF-8 text file"
    else:
        args[1] = str(tmp_path / "nobody.png")
        expect = "nobody.png"
    r = subprocess.run([*CLI, *args], capture_output=True, text=True, check=False)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:") and expect in lines[0], r.stderr
    assert portrait.read_bytes() == before
    assert not (tmp_path / "out.mp4").exists()


def test_fit_on_too_little_footage_writes_the_person_and_says_why_the_motion_was_not_fitted(tmp_path, shared_data) -> None:
    import json

    from talkinghead.person.model import load_person

    clips = [str(shared_data / "grid" / "s1" / "video" / f"{n}.mp4") for n in ("bbaf2n", "bbaf3s")]
    out = tmp_path / "p.thp"
    r = subprocess.run([*CLI, "fit", *clips, "-o", str(out), "-q"], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert "note: motion not fine-tuned: too little footage" in r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["motion"] == "shipped model (not fine-tuned)"
    assert load_person(out).motion_onnx is None


def test_the_command_ends_at_once_after_writing_and_the_file_is_whole(tmp_path) -> None:
    """``python -m talkinghead`` (as the ``talkinghead`` command) leaves by ``os._exit`` once the video
    is written: the file must be complete, with its sound; other commands exit the usual way."""
    import subprocess

    from talkinghead.eval.speed import cut_audio
    from talkinghead.media.video import probe_video

    assets = Path(__file__).resolve().parents[1] / "src" / "talkinghead" / "assets"
    one = cut_audio(str(assets / "jfk.flac"), 1.5, str(tmp_path))
    out = tmp_path / "out.mp4"
    r = subprocess.run([sys.executable, "-m", "talkinghead", "generate", str(assets / "astronaut.png"), one, "-o", str(out),
                        "--size", "128", "--phones", "acoustic"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stderr
    info = probe_video(out)
    assert info.has_audio and abs(info.duration_s - 1.5) < 0.1 and info.num_frames >= 37
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    v = subprocess.run([sys.executable, "-m", "talkinghead", "--version"], capture_output=True, text=True, timeout=60)
    assert v.returncode == 0 and v.stdout.strip()
    bad = subprocess.run([sys.executable, "-m", "talkinghead", "generate", str(assets / "astronaut.png"),
                          str(tmp_path / "missing.wav"), "-o", str(tmp_path / "x.mp4")], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode != 0 and not (tmp_path / "x.mp4").exists()


def _children() -> list[int]:
    """Live (not zombie) child processes of this one (Linux /proc)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            pids.append(int(entry))
    return pids


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_generate_ends_its_early_analysis_process_when_it_fails_before_the_job(tmp_path) -> None:
    """`generate` starts the speech analysis before its own imports; a mistake found before the job
    (here a person model that is not one) must not leave that process running."""
    import typer

    from talkinghead import cli

    before = set(_children())
    bad = tmp_path / "person.thp"
    bad.write_text("not a person model")
    assets = Path(__file__).resolve().parents[1] / "src" / "talkinghead" / "assets"
    with pytest.raises((SystemExit, typer.Exit)):
        cli._run_generate(assets / "astronaut.png", assets / "jfk.flac", tmp_path / "o.mp4", None, 128, 25.0, 1.0,
                          False, None, False, 0, "auto", "auto", 0, None, True, person=bad)
    assert set(_children()) - before == set()
    assert not (tmp_path / "o.mp4").exists()
