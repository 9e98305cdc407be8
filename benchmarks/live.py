"""Live streaming as a user runs it: latency, dropped frames, and how closely the streamed mouth follows offline.

    python benchmarks/live.py --out reports/live

For each speech file, ``talkinghead live PORTRAIT -a FILE`` in a fresh process (the file played at
its own pace, 20 ms chunks, 512x512) reports its frames' latency (median, 95th percentile: from a
chunk's arrival to the frame showing its time being ready) and the frames dropped for being late;
the seconds spent making the motion, rendering and encoding (real-time factors) come from the
same run; its streamed motion is compared with ``talkinghead generate`` of the same speech (mouth opening,
the inner-lip gap of the landmark offsets: Pearson r) with no phones (``--phones acoustic``,
the same information as the stream) and with the defaults (recognised phones where reliable).
Lip sync of the streamed video against real faces is ``talkinghead eval --systems
learned-stream``. Writes ``live.json`` and ``live.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PORTRAIT = ROOT / "src" / "talkinghead" / "assets" / "astronaut.png"


def mouth_gap(path: Path) -> np.ndarray:
    """Inner-lip gap per frame (IOD units) of a saved motion file."""
    from talkinghead.eval.metrics import offset_opening
    from talkinghead.types import MotionSequence

    return offset_opening(MotionSequence.load(path).landmark_offsets)


def run(cmd: list[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {(r.stderr.strip().splitlines() or [r.returncode])[-1]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="reports/live")
    ap.add_argument("--audio", action="append", help="speech files (default: the demo's JFK clip and 60 s of English)")
    ap.add_argument("--lookahead", type=float, default=None, help="the stream's look-ahead (s); default the live command's")
    ap.add_argument("--size", type=int, default=512)
    args = ap.parse_args()
    out = Path(args.out)
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    audios = [Path(a) for a in args.audio] if args.audio else [
        ROOT / "src" / "talkinghead" / "assets" / "jfk.flac", DATA / "audio" / "musetalk_eng.wav"]
    exe = [sys.executable, "-m", "talkinghead"]
    rows = []
    for audio in audios:
        name = audio.stem
        stats, streamed = work / f"{name}_live.json", work / f"{name}_live.npz"
        cmd = exe + ["live", str(PORTRAIT), "-a", str(audio), "-o", str(work / f"{name}_live.mp4"), "--size", str(args.size),
                     "--stats", str(stats), "--motion-out", str(streamed), "-q"]
        if args.lookahead is not None:
            cmd += ["--lookahead", str(args.lookahead)]
        run(cmd)
        s = json.loads(stats.read_text())
        row = {"audio": name, **s}
        for label, extra in (("acoustic", ["--phones", "acoustic"]), ("default", [])):
            offline = work / f"{name}_{label}.npz"
            run(exe + ["generate", str(PORTRAIT), str(audio), "-o", str(work / f"{name}_{label}.mp4"), "--size",
                       str(args.size), "--motion-out", str(offline), "-q", *extra])
            a, b = mouth_gap(streamed), mouth_gap(offline)
            n = min(len(a), len(b))
            row[f"mouth_r_vs_{label}"] = float(np.corrcoef(a[:n], b[:n])[0, 1])
        rows.append(row)
        print(json.dumps(row), flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    (out / "live.json").write_text(json.dumps({"commit": commit, "machine": platform.processor() or platform.machine(),
                                               "rows": rows}, indent=2))
    lines = [f"commit {commit}; `python benchmarks/live.py`; {args.size}x{args.size}, 20 ms chunks, file played in real time", "",
             "| speech | s | frames | dropped | latency median ms | latency p95 ms | motion RTF | render RTF | encode RTF | "
             "mouth r vs offline, no phones | mouth r vs offline, defaults |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['audio']} | {r['speech_s']:.1f} | {r['frames']} | {r['dropped']} | {r['latency_median_ms']:.0f} | "
                     f"{r['latency_p95_ms']:.0f} | {r['motion_s'] / r['speech_s']:.3f} | {r['render_s'] / r['speech_s']:.3f} | "
                     f"{r['encode_s'] / r['speech_s']:.3f} | {r['mouth_r_vs_acoustic']:.3f} | {r['mouth_r_vs_default']:.3f} |")
    (out / "live.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
