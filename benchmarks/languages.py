"""Do mouths move in time with speech in every language? Rendered check, no ground truth needed.

    python benchmarks/languages.py [--out reports/languages] [--systems auto,learned-nophones,rules-nophones] [--size 256]
        [--clips whisper_jfk.flac,...] [--runs]

For each speech clip in ../shared/data/audio (8 languages), animate the demo portrait with no
transcript, track the output with MediaPipe and report:

- ``pauses closed``: share of frames inside the pauses that voice activity finds (runs of at
  least 0.3 s, less 0.1 s at each end) where the rendered lips are closed (goal >= 0.9);
- ``voiced runs opened``: share of voiced stretches (at least 0.2 s of pitch) during which the
  rendered mouth opens (goal 1.0);
- the Pearson r between the rendered mouth opening and the audio's loudness, as a sanity range
  only (real speakers: about 0.4-0.6 on GRID, 0.1-0.4 in interviews; much higher means the
  mouth merely follows loudness), never a score to maximise;

plus which phone source the pipeline used (``--runs``: each voiced stretch's time and widest
opening too; ``--clips``: only these files), and a contact sheet per clip (``sheet_CLIP.png``:
frames at evenly spaced times, the mouth zoomed 2x below each). Writes languages.json and
languages.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: system -> (motion model, phone mode); no transcript in any of them.
SYSTEMS = {"auto": ("auto", "auto"), "learned-nophones": ("learned", "acoustic"), "rules-nophones": ("rules", "acoustic")}
#: Shortest voiced stretch (s) that must open the mouth.
VOICED_MIN_S = 0.2


def voiced_runs(f0: np.ndarray, rate: float, fps: float, min_s: float = VOICED_MIN_S) -> list[tuple[int, int]]:
    """Video-frame spans ``[a, b)`` of voiced stretches (F0 > 0 at 100 Hz) at least ``min_s`` long."""
    from talkinghead.audio.features import true_runs

    return [(int(a / rate * fps), int(np.ceil(b / rate * fps))) for a, b in true_runs(np.asarray(f0) > 0)
            if (b - a) / rate >= min_s]


def contact_sheet(frames: list[np.ndarray], landmarks: np.ndarray, tile: int = 192) -> np.ndarray:
    """Frames side by side, each with its mouth region zoomed 2x below it (uint8 RGB)."""
    import cv2

    from talkinghead.eval.metrics import MOUTH

    cols = []
    for frame, lm in zip(frames, landmarks):
        top = cv2.resize(frame, (tile, tile), interpolation=cv2.INTER_AREA)
        if np.isfinite(lm).all():
            c = lm[list(MOUTH), :2].mean(0)
            half = max(8, int(0.6 * np.ptp(lm[list(MOUTH), 0])))
            x0, y0 = int(max(0, c[0] - half)), int(max(0, c[1] - half))
            crop = frame[y0:y0 + 2 * half, x0:x0 + 2 * half]
            zoom = cv2.resize(crop, (tile, tile), interpolation=cv2.INTER_CUBIC) if crop.size else np.zeros_like(top)
        else:
            zoom = np.zeros_like(top)
        cols.append(np.concatenate([top, zoom], axis=0))
    return np.concatenate(cols, axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="reports/languages")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--sheet-frames", type=int, default=8)
    ap.add_argument("--clips", default="", help="comma-separated file names (default: all)")
    ap.add_argument("--runs", action="store_true", help="print each voiced stretch and its widest opening")
    args = ap.parse_args()
    from importlib import resources

    from PIL import Image

    from talkinghead.eval import metrics as M
    from talkinghead.eval.reference import pause_closed, pause_frames
    from talkinghead.face.track import track_frames
    from talkinghead.media.audio import load_speech
    from talkinghead.media.image import load_image
    from talkinghead.pipeline import GenerateConfig, TalkingHeadPipeline, analyse_speech

    portrait = load_image(Path(str(resources.files("talkinghead") / "assets" / "astronaut.png")))
    systems = [m.strip() for m in args.systems.split(",") if m.strip()]
    pipes = {m: TalkingHeadPipeline(portrait, GenerateConfig(size=args.size, motion=SYSTEMS[m][0])) for m in systems}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    wanted = {c.strip() for c in args.clips.split(",") if c.strip()}
    for clip in sorted((DATA / "audio").iterdir()):
        if wanted and clip.name not in wanted:
            continue
        speech = load_speech(clip)
        row: dict[str, object] = {"clip": clip.name, "seconds": round(speech.duration_s, 2)}
        sheets = []
        for m, pipe in pipes.items():
            analysis = analyse_speech(speech, None, SYSTEMS[m][1])
            seq = pipe.motion(analysis)
            frames = list(pipe.frames(seq))
            track = track_frames(iter(frames), seq.fps)
            opening = M.mouth_opening(track.landmarks)
            loud = M.loudness_envelope(speech.samples, speech.sample_rate, seq.fps, len(opening))
            pauses = pause_frames(speech, seq.fps, len(opening))
            runs = voiced_runs(analysis.features.f0, analysis.features.frame_rate, seq.fps)
            widest = [(a, b, float(np.nanmax(opening[a:b]))) for a, b in runs if b > a and a < len(opening)]
            opened = [w > M.CLOSED_OPENING for _, _, w in widest]
            if args.runs:
                print(f"{clip.name} {m}: " + ", ".join(f"{a / seq.fps:.2f}-{b / seq.fps:.2f} s {w:.3f}"
                                                       for a, b, w in widest), flush=True)
            row[m] = {"phones": analysis.phones.source, "motion": seq.source,
                      "pauses_closed": pause_closed(opening, pauses),
                      "voiced_opened": float(np.mean(opened)) if opened else None,
                      "loudness_r": round(M.loudness_correlation(opening, loud), 3)}
            idx = np.linspace(0, len(frames) - 1, args.sheet_frames).round().astype(int)
            sheets.append(contact_sheet([frames[i] for i in idx], track.landmarks[idx]))
        Image.fromarray(np.concatenate(sheets, axis=0)).save(out / f"sheet_{clip.stem}.png")
        rows.append(row)
        print(json.dumps(row), flush=True)
    (out / "languages.json").write_text(json.dumps(rows, indent=2))

    def cell(v: object) -> str:
        return "–" if v is None else f"{v:.2f}"

    lines = ["| clip | s | " + " | ".join(f"{m}: phones / pauses closed / voiced opened / mouth~loudness r" for m in systems)
             + " |", "|---|---:|" + "---|" * len(systems)]
    for r in rows:
        lines.append(f"| {r['clip']} | {r['seconds']} | " + " | ".join(
            f"{r[m]['phones']} / {cell(r[m]['pauses_closed'])} / {cell(r[m]['voiced_opened'])} / {cell(r[m]['loudness_r'])}"
            for m in systems) + " |")
    (out / "languages.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
