"""How far ahead of the audio the learned motion should be read: self-reenactment against real faces.

    python benchmarks/read_ahead.py --sets grid_validation grid_others videos --leads 0 0.02 0.04 0.06

For each clip (portrait = its first frame, drive = its own audio, no transcript: the acoustic
path, as most users run it), the learned motion is made with each read-ahead
(:data:`talkinghead.motion.learned.READ_AHEAD_S` is the shipped choice), rendered full-frame,
tracked with MediaPipe and scored as ``talkinghead eval`` does (mouth-opening r, median A/V
offset). With ``--tracker-lag``, also measured once per clip: how far MediaPipe's VIDEO-mode landmarks (what the model
was trained on and what the eval tracks) trail per-image detection on the real frames
(fractional lag in frames from the peak of the lagged correlation of the mouth-opening curves).
Writes ``read_ahead.json`` and ``read_ahead.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def tracker_lag(frames: list[np.ndarray], fps: float) -> float:
    """Frames by which VIDEO-mode mouth opening trails IMAGE-mode (per-frame) detection (+ = later)."""
    from talkinghead.eval import metrics as M
    from talkinghead.face.landmarks import FaceLandmarker

    curves = []
    for video in (True, False):
        with FaceLandmarker(video=video, max_faces=1) as fl:
            lms = []
            for i, f in enumerate(frames):
                faces = fl.detect(f, int(round(i * 1000 / fps))) if video else fl.detect(f)
                lms.append(faces[0].landmarks[:, :2] if faces else np.full((478, 2), np.nan))
        curves.append(M.mouth_opening(np.stack(lms)))
    v, im = curves
    a, b, c = M.pearson(v[:-1], im[1:]), M.pearson(v, im), M.pearson(v[1:], im[:-1])
    den = a - 2 * b + c
    return float(np.clip(0.5 * (a - c) / den, -1, 1)) if den < 0 else 0.0


def main(argv: list[str] | None = None) -> int:
    from talkinghead.eval.reference import EvalConfig, prepare_reference
    from talkinghead.eval.scoring import score_frames
    from talkinghead.eval.datasets import default_data_root, load_set
    from talkinghead.eval.systems import eval_pipeline
    from talkinghead.face.track import video_frames
    from talkinghead.motion.learned import LearnedMotion, learned_motion
    from talkinghead.motion.rules import MotionConfig
    from talkinghead.pipeline import analyse_speech

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["grid_validation", "grid_others", "videos"])
    ap.add_argument("--leads", nargs="+", type=float, default=[0.0, 0.02, 0.04, 0.06])
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("reports/read_ahead"))
    ap.add_argument("--tracker-lag", action="store_true", help="also measure MediaPipe's VIDEO-mode lag (slower)")
    a = ap.parse_args(argv)
    root = default_data_root()
    if root is None:
        print("error: shared data folder not found (set TALKINGHEAD_DATA)", file=sys.stderr)
        return 2
    config = EvalConfig(identity_frames=0, sheet_frames=0)
    model = LearnedMotion.from_file()
    rows: dict[str, list[dict]] = {}
    for set_name in a.sets:
        for clip in load_set(set_name, root, limit=a.limit):
            if not clip.has_ground_truth:
                continue
            ref = prepare_reference(clip, config)
            lag = tracker_lag(list(video_frames(clip.video, ref.fps)), ref.fps) if a.tracker_lag else float("nan")
            pipe = eval_pipeline(ref, 1.0, 15.0, config, motion="learned")
            an = analyse_speech(ref.speech, None, "acoustic")
            mc = MotionConfig(fps=ref.fps, pose_scale=1.0, blink_rate=15.0, seed=config.seed)
            row = {"clip": clip.name, "tracker_lag": lag}
            for lead in a.leads:
                motion = learned_motion(model, an.features, an.phones, an.active, ref.speech.duration_s, mc,
                                        read_ahead_s=lead)
                s = score_frames(ref, pipe.frames(motion), f"lead {lead}", config).scores
                row[str(lead)] = {"mouth_r": s.mouth_r, "offset": s.offset}
            rows.setdefault(set_name, []).append(row)
            print(set_name, clip.name, f"tracker lag {lag:+.2f}",
                  " ".join(f"{k}: r={v['mouth_r']:.3f} off={v['offset']}" for k, v in row.items()
                           if isinstance(v, dict)), flush=True)
    lines = ["| set | clips | tracker lag (frames) | " + " | ".join(f"r @ {x:g} s" for x in a.leads)
             + " | " + " | ".join(f"median offset @ {x:g} s" for x in a.leads) + " |",
             "|---|---|---|" + "---|" * (2 * len(a.leads))]
    summary = {}
    for set_name, rs in rows.items():
        r = [float(np.mean([x[str(lead)]["mouth_r"] for x in rs])) for lead in a.leads]
        off = [float(np.median([x[str(lead)]["offset"] for x in rs if x[str(lead)]["offset"] is not None]))
               for lead in a.leads]
        lag = float(np.mean([x["tracker_lag"] for x in rs]))
        summary[set_name] = {"clips": len(rs), "tracker_lag": lag, "mouth_r": r, "offset_median": off}
        lag_cell = f"{lag:+.2f}" if np.isfinite(lag) else "–"
        lines.append(f"| {set_name} | {len(rs)} | {lag_cell} | " + " | ".join(f"{v:.3f}" for v in r) + " | "
                     + " | ".join(f"{v:+g}" for v in off) + " |")
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "read_ahead.json").write_text(json.dumps({"leads": a.leads, "summary": summary, "clips": rows}, indent=1))
    (a.out / "read_ahead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
