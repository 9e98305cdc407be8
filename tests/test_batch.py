"""Batch jobs: rows checked up front, bad rows reported while the rest run, resumable, a results file."""

from __future__ import annotations

import json
import wave
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from talkinghead.batch import read_jobs, run_batch
from talkinghead.cli import app
from talkinghead.media.audio import load_speech
from talkinghead.types import InputError

ASSETS = Path(str(resources.files("talkinghead") / "assets"))


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    """A jobs folder with the demo portrait and 1.5 s of real speech."""
    (tmp_path / "face.png").write_bytes((ASSETS / "astronaut.png").read_bytes())
    x = load_speech(ASSETS / "jfk.flac").samples[16000:16000 + 24000]
    with wave.open(str(tmp_path / "speech.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
    return tmp_path


def test_rows_are_checked_before_anything_runs(folder: Path) -> None:
    jobs = folder / "jobs.csv"
    jobs.write_text("portrait,audio,text,output,size,full_frame,motion\n"
                    "face.png,speech.wav,,a.mp4,64,no,\n"
                    "face.png,,,b.mp4,64,,\n"
                    "face.png,nope.wav,,c.mp4,64,,\n"
                    "face.png,speech.wav,,d.mp4,big,,\n"
                    "face.png,speech.wav,,e.mp4,64,,dance\n")
    good, bad = read_jobs(jobs)
    assert [j.row for j in good] == [1] and good[0].audio == folder / "speech.wav" and good[0].options == {
        "size": 64, "full_frame": False}
    errors = {r.row: r.error for r in bad}
    assert set(errors) == {2, 3, 4, 5} and all(r.status == "invalid" for r in bad)
    assert "exactly one of audio and text" in errors[2] and "audio not found" in errors[3]
    assert errors[4].startswith("size:") and "--motion must be one of" in errors[5]
    with pytest.raises(InputError, match="jobs must be a .csv"):
        read_jobs(folder / "face.png")


def test_batch_runs_resumes_and_reports(folder: Path) -> None:
    jobs = folder / "jobs.jsonl"
    rows = [{"portrait": "face.png", "audio": "speech.wav", "output": "out/a.mp4", "size": 64, "phones": "acoustic"},
            {"portrait": "face.png", "audio": "speech.wav", "output": "out/b.mp4", "size": 64, "still": True},
            {"portrait": "face.png", "audio": "speech.wav", "output": "missing_dir/c.mp4", "size": 64}]
    (folder / "out").mkdir()
    jobs.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    seen = []
    res = run_batch(jobs, workers=2, progress=False, on_result=seen.append)
    status = {r.row: r.status for r in res}
    assert status == {1: "done", 2: "invalid", 3: "failed", 4: "invalid"} and len(seen) == 4
    assert "unknown column(s) still" in res[1].error and "missing_dir" in res[2].error
    assert (folder / "out" / "a.mp4").stat().st_size > 1000 and not (folder / "missing_dir").exists()
    lines = [json.loads(x) for x in (folder / "jobs.results.jsonl").read_text().splitlines()]
    assert sorted(x["row"] for x in lines) == [1, 2, 3, 4] and all({"status", "seconds", "error"} <= set(x) for x in lines)
    # again: the finished video is skipped, not made twice
    r = CliRunner().invoke(app, ["batch", str(jobs), "-q", "--results", str(folder / "r2.jsonl")])
    assert r.exit_code == 1 and "4 jobs: 1 failed, 2 invalid, 1 skipped" in r.output
    again = {x["row"]: x["status"] for x in map(json.loads, (folder / "r2.jsonl").read_text().splitlines())}
    assert again == {1: "skipped", 2: "invalid", 3: "failed", 4: "invalid"}


def test_relative_jobs_path_and_spreadsheet_csv(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths come out absolute (Ray workers run elsewhere); a UTF-8 byte-order mark is not part of a column name."""
    (folder / "jobs.csv").write_bytes("\ufeffportrait,text,output,transcript\nface.png,Hello.,a.mp4,\n"
                                      "face.png,Hello.,b.mp4,hello\n".encode("utf-8"))
    monkeypatch.chdir(folder)
    good, bad = read_jobs("jobs.csv")
    assert [j.row for j in good] == [1] and good[0].portrait == folder.resolve() / "face.png"
    assert good[0].output.is_absolute() and good[0].text == "Hello."
    assert "transcript is not used with text" in bad[0].error
    with pytest.raises(InputError, match="would overwrite the jobs file"):
        run_batch("jobs.csv", results="jobs.csv", progress=False)


def test_two_rows_writing_one_output_is_an_error(folder: Path) -> None:
    jobs = folder / "jobs.csv"
    jobs.write_text("portrait,audio,output\nface.png,speech.wav,x.mp4\nface.png,speech.wav,./x.mp4\n")
    with pytest.raises(InputError, match="several rows write"):
        run_batch(jobs, progress=False)


def test_batch_on_a_local_ray_instance(folder: Path) -> None:
    """A Ray cluster of one machine, started and stopped by the test: the same jobs run as Ray tasks."""
    ray = pytest.importorskip("ray")
    jobs = folder / "jobs.csv"
    jobs.write_text("portrait,audio,output,size,phones\nface.png,speech.wav,a.mp4,64,acoustic\n"
                    "face.png,speech.wav,b.mp4,64,acoustic\nface.png,speech.wav,c.mp4,64,dance\n")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        res = run_batch(jobs, progress=False, ray_address="auto")
    finally:
        ray.shutdown()
    assert [r.status for r in res] == ["done", "done", "invalid"]
    assert (folder / "a.mp4").stat().st_size > 1000 and (folder / "b.mp4").stat().st_size > 1000
