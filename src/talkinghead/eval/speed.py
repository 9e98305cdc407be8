"""Speed benchmark (``talkinghead bench``): what a user waits for, and where it goes.

Each case is ``talkinghead generate`` run in a fresh process as a user runs it, timed whole
(start-up included) with its CPU seconds and peak resident memory (``wait4``); the CLI also
writes its in-process per-stage seconds (:data:`~talkinghead.pipeline.STAGE_TIMES_ENV`). The real-time factor (RTF)
is wall seconds / audio seconds: below 1 is faster than real time.
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

from talkinghead.pipeline import STAGE_TIMES_ENV


@dataclass(frozen=True)
class SpeedResult:
    """One benchmark case: ``talkinghead generate`` run as a user runs it, in a fresh process.

    Attributes:
        audio: audio file name; audio_s: its duration (s); size: output side (px).
        phones: phone mode used; transcript: whether a transcript was given; frames: frames written.
        wall_s: whole-process wall-clock seconds (Python start-up, imports, face set-up, analysis,
            motion, render, encode: what a user waits for).
        rtf: wall_s / audio_s; fps: frames / wall_s.
        cpu_s: user + system CPU seconds of the process and its children (cpu_s / wall_s: cores used).
        peak_rss_mb: peak resident memory (MiB) of the process or its largest child.
        stages_s: in-process seconds per stage (stages overlap: they add up to more than the wall).
    """

    audio: str
    audio_s: float
    size: int
    phones: str
    transcript: bool
    frames: int
    wall_s: float
    rtf: float
    fps: float
    cpu_s: float
    peak_rss_mb: float
    stages_s: dict[str, float]


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


def timed_process(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, int, str]:
    """Run a command; return ``(wall s, CPU s, peak RSS MiB, exit status, stderr)`` measured by ``wait4``."""
    with tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode(errors="replace")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, proc.returncode, text


def cli(*args: str) -> list[str]:
    """The command line of ``talkinghead ARGS`` with this Python (what the console script runs)."""
    return [sys.executable, "-m", "talkinghead", *args]


def run_case(portrait: str, audio: str, size: int, phones: str, transcript: str | None = None) -> SpeedResult:
    """Time ``talkinghead generate PORTRAIT AUDIO --size SIZE --phones PHONES [-t TRANSCRIPT] -q`` in a
    fresh process, whole process; the output goes to a temporary file that is deleted.

    Raises:
        RuntimeError: the command failed (its last line of stderr).
    """
    from talkinghead.media.audio import load_speech
    from talkinghead.media.video import probe_video

    duration = load_speech(audio).duration_s
    with tempfile.TemporaryDirectory() as tmp:
        out, stages = Path(tmp) / "bench.mp4", Path(tmp) / "stages.json"
        args = cli("generate", portrait, audio, "-o", str(out), "--size", str(size), "--phones", phones, "-q")
        if transcript:
            args += ["--transcript", transcript]
        wall, cpu, peak, rc, err = timed_process(args, env={**os.environ, STAGE_TIMES_ENV: str(stages)})
        if rc != 0:
            raise RuntimeError(err.strip().splitlines()[-1] if err.strip() else f"exit status {rc}")
        frames = probe_video(out).num_frames
        seconds = json.loads(stages.read_text()) if stages.exists() else {}
    return SpeedResult(audio=Path(audio).name, audio_s=round(duration, 3), size=size, phones=phones,
                       transcript=bool(transcript), frames=frames, wall_s=round(wall, 3), rtf=round(wall / duration, 4),
                       fps=round(frames / wall, 2), cpu_s=round(cpu, 2), peak_rss_mb=round(peak, 1),
                       stages_s={k: round(v, 3) for k, v in seconds.items()})


def help_seconds(repeats: int = 3) -> float:
    """Median whole-process seconds of ``talkinghead --help``."""
    return float(np.median([timed_process(cli("--help"))[0] for _ in range(repeats)]))


def fixed_cost(results: list[SpeedResult]) -> dict[str, float] | None:
    """The fixed cost of a run: the whole-process seconds of the shortest clip minus its length times
    the marginal RTF (the slope between the shortest and the longest clip at the same size and phones).

    Returns:
        ``{"clip_s", "wall_s", "marginal_rtf", "fixed_s", "size"}`` for the shortest clip, or None
        without two clip lengths at one setting.
    """
    best = None
    for r in results:
        same = [o for o in results if (o.size, o.phones, o.transcript) == (r.size, r.phones, r.transcript)]
        long = max(same, key=lambda o: o.audio_s)
        if long.audio_s - r.audio_s < 1.0 or (best is not None and r.audio_s >= best["clip_s"]):
            continue
        slope = (long.wall_s - r.wall_s) / (long.audio_s - r.audio_s)
        best = {"clip_s": r.audio_s, "wall_s": r.wall_s, "marginal_rtf": round(slope, 4),
                "fixed_s": round(r.wall_s - r.audio_s * slope, 3), "size": r.size}
    return best


def cut_audio(audio: str, seconds: float, out_dir: str) -> str:
    """A wav of the first ``seconds`` of ``audio`` (for the fixed-cost case)."""
    from talkinghead.media.audio import load_speech, write_wav
    from talkinghead.types import Speech

    s = load_speech(audio)
    path = Path(out_dir) / f"{Path(audio).stem}_{seconds:g}s.wav"
    return str(write_wav(Speech(samples=s.samples[: int(seconds * s.sample_rate)], sample_rate=s.sample_rate), path))


def make_long_audio(audio: str, seconds: float, out_dir: str) -> str:
    """A 16-bit mono wav of ``seconds`` made by repeating ``audio`` (for the cost-is-linear check).

    Written a repeat at a time, so this process never holds the long speech: a child's peak memory from
    ``wait4`` includes the high-water mark of the process that started it (Linux carries the parent's RSS
    into the child's ``ru_maxrss`` at fork and exec), and an hour held here made every case read 550 MiB.
    """
    import wave

    from talkinghead.media.audio import load_speech
    from talkinghead.types import pcm16_samples

    s = load_speech(audio)
    pcm = pcm16_samples(np.asarray(s.samples)).astype("<i2", copy=False).tobytes()
    if not pcm:
        raise ValueError(f"{audio}: no samples to repeat")
    left = int(seconds * s.sample_rate) * 2  # bytes
    path = Path(out_dir) / f"{Path(audio).stem}_{int(seconds)}s.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(s.sample_rate))
        while left > 0:
            w.writeframes(pcm[:left])
            left -= min(left, len(pcm))
    return str(path)


def write_reports(results: list[SpeedResult], out_dir: str | os.PathLike[str], command: str,
                  help_s: float | None = None) -> tuple[Path, Path]:
    """Write ``speed.json`` and ``speed.md`` into ``out_dir``: a table of the whole-process figures
    (wall, RTF, CPU, cores used, peak RSS) beside the in-process per-stage RTFs, the fixed cost
    (:func:`fixed_cost`), ``--help``'s time, the machine and the commit."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info: dict[str, object] = {"machine": machine(), "command": command, "results": [asdict(r) for r in results],
                               "fixed_cost": fixed_cost(results), "help_s": None if help_s is None else round(help_s, 3)}
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
        f"Machine: {m['cpu']}, {m['cores']} cores; commit {info.get('commit')}; `{command}`", "",  # type: ignore[index]
        "Whole process (`talkinghead generate ... -q` in a fresh process, start-up included), then the",
        "in-process seconds per stage as RTF (stages overlap: encoding and speech analysis run beside others).", "",
        "| audio | audio s | size | phones | transcript | wall s | RTF | CPU s | cores used | peak MiB | "
        + " | ".join(f"{s} RTF" for s in stages) + " |",
        "|---|---:|---:|---|---|---:|---:|---:|---:|---:|" + "---:|" * len(stages),
    ]
    for r in results:
        per = " | ".join(f"{r.stages_s.get(s, 0.0) / r.audio_s:.3f}" for s in stages)
        lines.append(f"| {r.audio} | {r.audio_s:.1f} | {r.size} | {r.phones} | {'yes' if r.transcript else 'no'} | "
                     f"{r.wall_s:.2f} | {r.rtf:.3f} | {r.cpu_s:.1f} | {r.cpu_s / r.wall_s:.2f} | {r.peak_rss_mb:.0f} | {per} |")
    fixed = info["fixed_cost"]
    if fixed:
        lines += ["", f"Fixed cost of a run: {fixed['fixed_s']:.2f} s (the {fixed['clip_s']:g} s clip took "  # type: ignore[index]
                  f"{fixed['wall_s']:.2f} s at {fixed['size']} px; marginal RTF {fixed['marginal_rtf']:.3f}, "  # type: ignore[index]
                  "from the longest clip at the same settings)."]
    if help_s is not None:
        lines += ["", f"`talkinghead --help`: {help_s:.2f} s (median of 3, whole process)."]
    md = out / "speed.md"
    md.write_text("\n".join(lines) + "\n")
    return j, md
