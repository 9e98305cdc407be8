"""Whole-process speed of this tree beside another commit's, in one run, as a user times it.

    python benchmarks/side_by_side.py --baseline e923c2b --repeats 3 --out reports/side_by_side [--jobs dub,1 s]

The baseline is checked out into a temporary git worktree and run from its own sources
(``PYTHONPATH``) with this environment's packages; each job runs alternately on the baseline and
on this tree (so drift in the machine's speed hits both alike), and the medians are reported.
Jobs (the demo portrait, 512² unless said):

- 60 s of English (``audio/musetalk_eng.wav``), no transcript; the same at 256²; the same
  with ``--phones acoustic`` (no recognition); the same with a transcript (the words word
  recognition hears: the clip has no transcript of its own);
- the demo (11 s, with its transcript);
- a 1 s cut of the demo speech (for the fixed cost of a run), and ``talkinghead --help``;
- ``dub`` of a 1280x720 video with 30 s of speech (made by ``benchmarks/dub_speed.py``);
- ``batch`` of four 60 s jobs (``--phones acoustic``) on two worker processes (its RTF: per second of all four).

``--jobs`` keeps the jobs whose names contain one of the given comma-separated parts as whole words, or the one
job whose name contains the whole value (``--jobs "60 s, no transcript, 512"``). Writes ``side_by_side.json``
and ``side_by_side.md`` (wall s, RTF, CPU s, peak RSS; and, per job, the median of the repeats' paired
differences this - baseline and in how many repeats this tree was faster: on a machine whose speed drifts
by 10-20%, the pairs say more than the two medians).
"""

from __future__ import annotations

import argparse
import json
import re
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CLI = "import sys; import talkinghead.cli as c; sys.exit(getattr(c, 'run', c.app)())"  # as the command runs (older trees: app)


def write_words(audio: str, path: Path) -> None:
    """Write the words of ``audio`` as word recognition hears them to ``path`` (a stand-in transcript
    for a clip that has none)."""
    from talkinghead.audio.recognition import recognize
    from talkinghead.media.audio import load_speech

    path.write_text(recognize(load_speech(audio)).transcript + "\n")


def batch_jobs(work: Path, portrait: str, audio: str, n: int = 4) -> Path:
    """A jobs file in ``work/batch`` of ``n`` copies of ``generate portrait audio --phones acoustic``
    (their outputs are removed before each run, which would otherwise skip them as done)."""
    folder = work / "batch"
    folder.mkdir(exist_ok=True)
    path = folder / "jobs.csv"
    path.write_text("portrait,audio,output,phones\n" + "".join(f"{portrait},{audio},out{i}.mp4,acoustic\n" for i in range(n)))
    return path


def jobs(work: Path) -> list[tuple[str, float, list[str]]]:
    """``(name, audio seconds, talkinghead arguments)`` of each job."""
    from talkinghead.eval.speed import cut_audio

    assets = ROOT / "src" / "talkinghead" / "assets"
    portrait, demo = str(assets / "astronaut.png"), str(assets / "jfk.flac")
    from talkinghead.cli import DEMO_TRANSCRIPT

    eng = str(DATA / "audio" / "musetalk_eng.wav")
    one = cut_audio(demo, 1.0, str(work))
    out = str(work / "out.mp4")
    video, speech = ROOT / "reports" / "dub_speed" / "work" / "talk_720p.mp4", ROOT / "reports" / "dub_speed" / "work" / "speech_30s.wav"
    listed = [
        ("60 s, no transcript, 512", 60.0, ["generate", portrait, eng, "-o", out, "-q"]),
        ("60 s, no transcript, 256", 60.0, ["generate", portrait, eng, "-o", out, "-q", "--size", "256"]),
        ("60 s, --phones acoustic, 512", 60.0, ["generate", portrait, eng, "-o", out, "-q", "--phones", "acoustic"]),
        ("60 s, transcript, 512", 60.0, ["generate", portrait, eng, "-o", out, "-q", "-t", f"@{work / 'words.txt'}"]),
        ("demo 11 s, transcript, 512", 11.0, ["generate", portrait, demo, "-o", out, "-q", "-t", DEMO_TRANSCRIPT]),
        ("1 s, no transcript, 512", 1.0, ["generate", portrait, one, "-o", out, "-q"]),
        ("--help", 0.0, ["--help"]),
        ("batch: four 1-minute jobs, --phones acoustic, 2 workers", 240.0, ["batch", str(batch_jobs(work, portrait, eng)), "-q"]),
    ]
    if video.exists() and speech.exists():
        listed.append(("dub 720p, 30 s", 30.0, ["dub", str(video), str(speech), "-o", out, "-q"]))
    return listed


def main() -> None:
    from talkinghead.eval.speed import machine, timed_process

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True, help="git revision to compare with")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="reports/side_by_side")
    ap.add_argument("--jobs", default="", help="comma-separated parts of job names to run (default: all)")
    args = ap.parse_args()
    keep = [w.strip() for w in args.jobs.split(",") if w.strip()]
    here = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(base), args.baseline], cwd=ROOT, check=True)
        try:
            trees = {"baseline": base / "src", "this": ROOT / "src"}
            runs: dict[str, dict[str, list[tuple[float, float, float]]]] = {}
            every = jobs(Path(tmp))
            if any(args.jobs.strip() and args.jobs.strip() in j[0] for j in every):
                keep = [args.jobs.strip()]  # a job's whole name (names hold commas)
            # parts match whole words: "1 s" is not part of "demo 11 s"
            listed = [j for j in every if not keep or any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", j[0]) for w in keep)]
            words = Path(tmp) / "words.txt"
            for _, _, cli_args in listed:  # made only where a job reads them: generate PORTRAIT AUDIO ... -t @words
                if f"@{words}" in cli_args and not words.exists():
                    write_words(cli_args[2], words)
            for k in range(args.repeats):
                for name, _, cli_args in listed:
                    for which, src in trees.items():
                        if cli_args[0] == "batch":  # a fresh start: finished outputs would be skipped
                            for f in Path(cli_args[1]).parent.iterdir():
                                if f.name != "jobs.csv":
                                    f.unlink()
                        env = {**os.environ, "PYTHONPATH": str(src)}
                        wall, cpu, rss, rc, err = timed_process([sys.executable, "-c", CLI, *cli_args], env=env)
                        if rc != 0:
                            raise SystemExit(f"{which} {name}: {err.strip().splitlines()[-1] if err.strip() else rc}")
                        runs.setdefault(name, {}).setdefault(which, []).append((wall, cpu, rss))
                        print(f"[{k + 1}/{args.repeats}] {name} {which}: {wall:.2f} s", file=sys.stderr)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, lines = [], [
        f"Machine: {machine()['cpu']}, {machine()['cores']} cores; this tree {here} vs {args.baseline}; "
        f"median of {args.repeats}, whole process", "",
        "| job | wall s before | wall s now | RTF before | RTF now | now - before, median of pairs | faster | "
        "CPU s before | CPU s now | peak MiB before | peak MiB now |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, seconds, _ in listed:
        med = {w: np.median(np.array(runs[name][w]), axis=0) for w in ("baseline", "this")}
        # Each repeat runs both trees back to back: their difference cancels most of the machine's drift.
        diff = np.array([t[0] - b[0] for b, t in zip(runs[name]["baseline"], runs[name]["this"])])
        rtf = {w: (f"{med[w][0] / seconds:.3f}" if seconds else "–") for w in med}
        rows.append({"job": name, "audio_s": seconds, **{f"{w}_{q}": round(float(med[w][i]), 3)
                     for w in med for i, q in enumerate(("wall_s", "cpu_s", "peak_mib"))},
                     "paired_diff_s": [round(float(d), 3) for d in diff]})
        lines.append(f"| {name} | {med['baseline'][0]:.2f} | {med['this'][0]:.2f} | {rtf['baseline']} | {rtf['this']} | "
                     f"{np.median(diff):+.2f} | {int((diff < 0).sum())} of {len(diff)} | "
                     f"{med['baseline'][1]:.1f} | {med['this'][1]:.1f} | {med['baseline'][2]:.0f} | {med['this'][2]:.0f} |")
    (out / "side_by_side.json").write_text(json.dumps({"this": here, "baseline": args.baseline, "machine": machine(),
                                                       "repeats": args.repeats, "jobs": rows}, indent=1) + "\n")
    (out / "side_by_side.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
