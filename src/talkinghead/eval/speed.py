"""Speed benchmark: real-time factor end to end and per stage, frames per second, peak memory.

Each case runs in a fresh subprocess so its peak resident memory is its own. The real-time
factor (RTF) is compute seconds / audio seconds: below 1 is faster than real time.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class SpeedResult:
    """One benchmark case.

    Attributes:
        audio: audio file name; audio_s: its duration (s); size: output side (px).
        phones: phone mode used; frames: frames written.
        wall_s: end-to-end wall-clock seconds (load + analysis + motion + render + encode).
        rtf: wall_s / audio_s; fps: frames / wall_s.
        stages_s: seconds per stage; peak_rss_mb: peak resident memory of the process (MiB).
    """

    audio: str
    audio_s: float
    size: int
    phones: str
    frames: int
    wall_s: float
    rtf: float
    fps: float
    stages_s: dict[str, float]
    peak_rss_mb: float


def machine() -> dict[str, object]:
    """CPU model, core count, Python and platform, for reports."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def run_case(portrait: str, audio: str, size: int, phones: str, transcript: str | None = None) -> SpeedResult:
    """Generate once (in this process) and time it. Output goes to a temporary file that is deleted."""
    import resource

    from talkinghead.media.audio import load_speech
    from talkinghead.pipeline import GenerateConfig, generate

    duration = load_speech(audio).duration_s
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.mp4"
        t = time.perf_counter()
        times = generate(portrait, audio, out, transcript=transcript, config=GenerateConfig(size=size, phones=phones))
        wall = time.perf_counter() - t
        from talkinghead.media.video import probe_video

        frames = probe_video(out).num_frames
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return SpeedResult(audio=Path(audio).name, audio_s=round(duration, 3), size=size, phones=phones, frames=frames,
                       wall_s=round(wall, 3), rtf=round(wall / duration, 4), fps=round(frames / wall, 2),
                       stages_s={k: round(v, 3) for k, v in times.seconds.items()}, peak_rss_mb=round(peak, 1))


def run_case_subprocess(portrait: str, audio: str, size: int, phones: str, transcript: str | None = None) -> SpeedResult:
    """:func:`run_case` in a fresh Python process (so peak memory is per case)."""
    code = ("import json,sys,dataclasses; from talkinghead.eval.speed import run_case; "
            "r=run_case(*json.loads(sys.argv[1])); print('RESULT'+json.dumps(dataclasses.asdict(r)))")
    args = json.dumps([portrait, audio, size, phones, transcript])
    proc = subprocess.run([sys.executable, "-c", code, args], capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT"):
            return SpeedResult(**json.loads(line[6:]))
    raise RuntimeError(f"benchmark case failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}")


def make_long_audio(audio: str, seconds: float, out_dir: str) -> str:
    """A wav of ``seconds`` made by repeating ``audio`` (for the cost-is-linear check)."""
    from talkinghead.media.audio import load_speech, write_wav
    from talkinghead.types import Speech

    s = load_speech(audio)
    reps = int(np.ceil(seconds / s.duration_s))
    x = np.tile(s.samples, reps)[: int(seconds * s.sample_rate)]
    path = Path(out_dir) / f"{Path(audio).stem}_{int(seconds)}s.wav"
    return str(write_wav(Speech(samples=x, sample_rate=s.sample_rate), path))


def write_reports(results: list[SpeedResult], out_dir: str | os.PathLike[str], command: str) -> tuple[Path, Path]:
    """Write ``speed.json`` and ``speed.md`` (a table) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info = {"machine": machine(), "command": command, "results": [asdict(r) for r in results]}
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                        cwd=Path(__file__).parent, check=False).stdout.strip() or None
    except OSError:
        info["commit"] = None
    j = out / "speed.json"
    j.write_text(json.dumps(info, indent=2))
    stages = sorted({k for r in results for k in r.stages_s})
    m = info["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores; commit {info.get('commit')}; `{command}`", "",
        "| audio | audio s | size | phones | RTF | fps | peak MiB | " + " | ".join(f"{s} RTF" for s in stages) + " |",
        "|---|---:|---:|---|---:|---:|---:|" + "---:|" * len(stages),
    ]
    for r in results:
        per = " | ".join(f"{r.stages_s.get(s, 0.0) / r.audio_s:.3f}" for s in stages)
        lines.append(f"| {r.audio} | {r.audio_s:.1f} | {r.size} | {r.phones} | {r.rtf:.3f} | {r.fps:.1f} | {r.peak_rss_mb:.0f} | {per} |")
    md = out / "speed.md"
    md.write_text("\n".join(lines) + "\n")
    return j, md
