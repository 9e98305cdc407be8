"""Memory of long speech, per process: ``talkinghead generate`` on speech of N seconds, RSS sampled every 0.2 s.

    python benchmarks/memory.py --seconds 60,600,3600 --out reports/memory

The speech is ``musetalk_eng.wav`` (60 s of English) repeated to each length; no transcript,
512x512. With ``--transcript`` it is given one: the words word recognition hears in the 60 s clip,
repeated as often as the clip (lengths in whole minutes). ``talkinghead bench --long`` gives the whole job's peak (``wait4``); this gives each
process's own peak (the main process; the speech-analysis process and the recognition process
it starts; the rendering processes forked from the main one), the peak of their sum at one instant,
as RSS and as PSS (what the whole job needs of the machine: forked processes share pages), the
wall time and the main process's and the job's RSS at a quarter, half and three quarters of the
run (flat or growing). Writes ``memory.json`` and ``memory.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def _tree(pid: int, depth: int = 0) -> list[tuple[int, int]]:
    """``(pid, depth)`` of a process and its descendants (depth 0: the process itself)."""
    out = [(pid, depth)]
    try:
        for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            out += _tree(int(c), depth + 1)
    except OSError:
        pass
    return out


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _kib_field_mib(path: str, key: str) -> float | None:
    """A ``key: N kB`` line of a /proc file, in MiB (None where the process is gone)."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def _pss_mib(pid: int) -> float | None:
    """Proportional set size: the process's own pages plus its share of pages shared with others (forked
    rendering processes share most of theirs with the main process, which the RSS of each counts in full)."""
    return _kib_field_mib(f"/proc/{pid}/smaps_rollup", "Pss:")


def _rss_mib(pid: int) -> float | None:
    return _kib_field_mib(f"/proc/{pid}/status", "VmRSS")


def run(audio: str, out_mp4: Path, extra: tuple[str, ...] = ()) -> dict[str, object]:
    """Run generate on ``audio`` (with ``extra`` arguments); per-process and whole-job peak RSS (MiB), wall
    seconds, the main process's and the job's RSS each second."""
    cmd = [sys.executable, "-m", "talkinghead", "generate", str(ROOT / "src" / "talkinghead" / "assets" / "astronaut.png"),
           audio, "-o", str(out_mp4), "-q", *extra]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd)
    peaks: dict[int, float] = {}
    roles: dict[int, str] = {}
    curve: list[float] = []
    job_curve: list[float] = []
    job_peak = pss_peak = 0.0
    last = 0.0
    main_cmd = _cmdline(p.pid)
    while p.poll() is None:
        job = pss = 0.0
        for q, depth in _tree(p.pid):
            rss = _rss_mib(q)
            if rss is None:
                continue
            job += rss
            pss += _pss_mib(q) or 0.0
            peaks[q] = max(peaks.get(q, 0.0), rss)
            if q not in roles:  # forked rendering processes run the main process's command line
                roles[q] = ("main" if depth == 0 else "render" if _cmdline(q) == main_cmd
                            else "analysis" if depth == 1 else "recognition")
        job_peak, pss_peak = max(job_peak, job), max(pss_peak, pss)
        now = time.perf_counter() - t0
        if now - last >= 1.0:
            curve.append(_rss_mib(p.pid) or 0.0)
            job_curve.append(job)
            last = now
        time.sleep(0.2)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with status {p.returncode}")
    wall = time.perf_counter() - t0
    by_role: dict[str, float] = {}
    for q, v in peaks.items():
        by_role[roles[q]] = max(by_role.get(roles[q], 0.0), v)
    by_role["job"] = job_peak
    by_role["job_pss"] = pss_peak
    return {"wall_s": wall, "peak_mib": by_role, "main_rss_each_s": curve, "job_rss_each_s": job_curve}


def _quarters(curve: list[float]) -> list[float]:
    """The values at a quarter, half and three quarters of a curve (0 where it is empty)."""
    return [curve[min(len(curve) - 1, int(q * len(curve)))] if curve else 0.0 for q in (0.25, 0.5, 0.75)]


def main() -> None:
    from talkinghead.eval.speed import make_long_audio

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", default="60,600")
    ap.add_argument("--out", default="reports/memory")
    ap.add_argument("--transcript", action="store_true", help="give each run its transcript (lengths in whole minutes)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    clip = str(DATA / "audio" / "musetalk_eng.wav")
    lengths = [float(x) for x in args.seconds.split(",")]
    heard = ""
    if args.transcript:
        if any(s % 60 for s in lengths):
            raise SystemExit("--transcript needs lengths in whole minutes (the 60 s clip repeated)")
        from talkinghead.audio.recognition import recognize
        from talkinghead.media.audio import load_speech

        heard = recognize(load_speech(clip)).transcript  # once: the clip's words, repeated for each length
    with tempfile.TemporaryDirectory() as tmp:
        for s in lengths:
            audio = make_long_audio(clip, s, tmp)
            extra: tuple[str, ...] = ()
            if args.transcript:
                words = Path(tmp) / "words.txt"
                words.write_text(" ".join([heard] * int(s // 60)) + "\n")
                extra = ("-t", f"@{words}")
            r = run(audio, Path(tmp) / "out.mp4", extra)
            row = {"seconds": s, **r, "main_at_quarters_mib": _quarters(r["main_rss_each_s"]),
                   "job_at_quarters_mib": _quarters(r["job_rss_each_s"])}
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if not k.endswith("_each_s")}), flush=True)
    (out / "memory.json").write_text(json.dumps(rows, indent=2))
    lines = [f"`python benchmarks/memory.py`: peak RSS per process (MiB), 512x512, "
             f"{'with' if args.transcript else 'no'} transcript", "",
             "| speech s | wall s | RTF | main | analysis | recognition | each rendering process | whole job (sum of RSS) "
             "| whole job (sum of PSS) | main at 1/4, 1/2, 3/4 of the run | whole job at 1/4, 1/2, 3/4 |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        pk = r["peak_mib"]
        lines.append(f"| {r['seconds']:.0f} | {r['wall_s']:.1f} | {r['wall_s'] / r['seconds']:.3f} | {pk.get('main', 0):.0f} | "
                     f"{pk.get('analysis', 0):.0f} | {pk.get('recognition', 0):.0f} | {pk.get('render', 0):.0f} | "
                     f"{pk.get('job', 0):.0f} | {pk.get('job_pss', 0):.0f} | "
                     f"{', '.join(f'{v:.0f}' for v in r['main_at_quarters_mib'])} | "
                     f"{', '.join(f'{v:.0f}' for v in r['job_at_quarters_mib'])} |")
    (out / "memory.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
