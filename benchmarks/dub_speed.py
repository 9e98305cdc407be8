"""Speed of dubbing and fitting, whole process, as a user times it.

    python benchmarks/dub_speed.py --out reports/dub_speed

- dub: a 720p (1280x720, 25 fps) talking video made from ``videos/vrt_face1.mp4`` (its 700x700
  frames centred on a blurred copy of themselves, looped to 30 s) dubbed with 30 s of the JFK
  speech; ``time talkinghead dub ...`` in a fresh process, start-up included.
- fit: ``talkinghead fit`` on 3 minutes of GRID s1 training clips (60 clips of 3 s), with the
  motion fine-tune (the default where PyTorch is installed) and with ``--no-motion``.
Writes ``speed.json`` and ``speed.md`` (wall seconds, real-time factor, peak RSS).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def make_720p(src: Path, out: Path, seconds: float = 30.0) -> None:
    """A 1280x720 25 fps video of ``src``'s frames (centred, on a blurred stretch of themselves), looped."""
    import cv2

    from talkinghead.media.video import read_video
    from talkinghead.media.writer import VideoWriter
    from talkinghead.types import Speech

    frames = list(read_video(src, fps=25.0))
    n = int(seconds * 25)
    silence = Speech(samples=np.zeros(int(seconds * 16000), np.float32), sample_rate=16000)
    with VideoWriter(out, fps=25.0, size=(1280, 720), speech=silence) as w:
        for k in range(n):
            f = frames[k % len(frames)] if (k // len(frames)) % 2 == 0 else frames[len(frames) - 1 - k % len(frames)]
            back = cv2.GaussianBlur(cv2.resize(f, (1280, 720)), (0, 0), 15)
            s = 720 / max(f.shape[:2])
            fg = cv2.resize(f, (int(f.shape[1] * s) // 2 * 2, int(f.shape[0] * s) // 2 * 2))
            y0, x0 = (720 - fg.shape[0]) // 2, (1280 - fg.shape[1]) // 2
            back[y0:y0 + fg.shape[0], x0:x0 + fg.shape[1]] = fg
            w.write(back)


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a command run in a fresh process (:func:`talkinghead.eval.speed.timed_process`)."""
    from talkinghead.eval.speed import timed_process

    wall, _, rss, rc, err = timed_process(cmd)
    if rc != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err.strip().splitlines()[-1] if err.strip() else rc}")
    return wall, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="reports/dub_speed")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    work.mkdir(exist_ok=True)
    exe = [sys.executable, "-m", "talkinghead.cli"]
    video = work / "talk_720p.mp4"
    if not video.exists():
        make_720p(DATA / "videos" / "vrt_face1.mp4", video)
    speech = work / "speech_30s.wav"
    if not speech.exists():
        from talkinghead.media.audio import load_speech, write_wav
        from talkinghead.types import Speech

        s = load_speech(DATA / "audio" / "whisper_jfk.flac")
        reps = int(np.ceil(30 * s.sample_rate / len(s.samples)))
        write_wav(Speech(samples=np.tile(s.samples, reps)[: 30 * s.sample_rate], sample_rate=s.sample_rate), speech)
    dub_s, dub_rss = timed(exe + ["dub", str(video), str(speech), "-o", str(work / "dubbed.mp4"), "-q"])
    from talkinghead.eval.datasets import GRID_S1_TEST, GRID_S1_VALIDATION

    held = set(GRID_S1_TEST) | set(GRID_S1_VALIDATION)
    clips = [p for p in sorted((DATA / "grid" / "s1" / "video").glob("*.mp4")) if p.stem not in held][:60]
    fit_s, fit_rss = timed(exe + ["fit", *map(str, clips), "-o", str(work / "s1.thp"), "-q"])
    nomotion_s, nomotion_rss = timed(exe + ["fit", *map(str, clips), "-o", str(work / "s1_nomotion.thp"), "-q", "--no-motion"])
    result = {"dub_720p_30s": {"wall_s": round(dub_s, 2), "rtf": round(dub_s / 30.0, 3), "peak_rss_mib": round(dub_rss)},
              "fit_3min": {"wall_s": round(fit_s, 2), "clips": len(clips), "peak_rss_mib": round(fit_rss)},
              "fit_3min_no_motion": {"wall_s": round(nomotion_s, 2), "clips": len(clips), "peak_rss_mib": round(nomotion_rss)}}
    (out / "speed.json").write_text(json.dumps(result, indent=1) + "\n")
    md = ["| job | wall s | RTF | peak RSS MiB |", "|---|---:|---:|---:|",
          f"| dub, 1280x720, 30 s of speech | {dub_s:.1f} | {dub_s / 30:.2f} | {dub_rss:.0f} |",
          f"| fit, 3 min of GRID s1 ({len(clips)} clips), motion fine-tuned | {fit_s:.1f} | {fit_s / 180:.2f} | {fit_rss:.0f} |",
          f"| the same, --no-motion | {nomotion_s:.1f} | {nomotion_s / 180:.2f} | {nomotion_rss:.0f} |"]
    (out / "speed.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
