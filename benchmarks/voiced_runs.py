"""Do real speakers open their mouths in every voiced stretch? The reference for languages.py's "voiced runs opened".

    python benchmarks/voiced_runs.py [--data data_cache/grid data_cache/unseen_s4 ...] [--out reports/voiced_runs]

Issue 7 asks that the mouth open in every run of voiced speech (at least 0.2 s of pitch). This
measures how often real faces do, on the tracked clips cached by ``talkinghead train prepare``
(GRID s1's test clips, the unseen GRID speakers, the interview clips): per voiced run, whether the
real inner-lip gap (IOD units: the tracked landmarks' offsets from the speaker's closed-mouth
neutral) goes above the eval's closure
threshold (:data:`talkinghead.eval.metrics.CLOSED_OPENING`), and the same for the shipped learned
model without phones (landmark space, the targets' timing). Writes ``voiced_runs.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_DATA = ("data_cache/grid", "data_cache/unseen_s4", "data_cache/unseen_s31", "data_cache/unseen_others",
                "data_cache/videos")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="+", default=list(DEFAULT_DATA))
    ap.add_argument("--out", default="reports/voiced_runs")
    args = ap.parse_args()
    from languages import voiced_runs

    from talkinghead.eval.datasets import GRID_S1_TEST
    from talkinghead.eval.metrics import CLOSED_OPENING, offset_opening
    from talkinghead.motion.learned import LearnedMotion
    from talkinghead.train.compare import cached_clips, learned_offsets

    model = LearnedMotion.from_file()
    rows = []
    for d in args.data:
        data = Path(d)
        names = list(GRID_S1_TEST) if data.name == "grid" else None  # s1: its held-out test clips only
        real, pred = [], []
        for clip in cached_clips(data, names):
            true, made = offset_opening(clip.offsets), offset_opening(learned_offsets(model, clip))
            for a, b in voiced_runs(clip.features.f0, clip.features.frame_rate, clip.fps):
                if a < min(len(true), len(made)):
                    real.append(float(np.nanmax(true[a:b])))
                    pred.append(float(np.nanmax(made[a:b])))
        r, p = np.array(real), np.array(pred)
        rows.append({"data": d, "voiced_runs": len(r), "real_opened": float(np.mean(r > CLOSED_OPENING)),
                     "learned_opened": float(np.mean(p > CLOSED_OPENING)),
                     "real_median_max_gap": float(np.median(r)), "learned_median_max_gap": float(np.median(p))})
        print(json.dumps(rows[-1]), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "voiced_runs.json").write_text(json.dumps(rows, indent=2))
    lines = [f"Voiced runs (>= 0.2 s of pitch) in which the mouth opens above {CLOSED_OPENING} IOD",
             "", "| clips | voiced runs | real face | learned, no phones | median widest gap real / learned |",
             "|---|---:|---:|---:|---|"]
    lines += [f"| {r['data']} | {r['voiced_runs']} | {r['real_opened']:.2f} | {r['learned_opened']:.2f} | "
              f"{r['real_median_max_gap']:.3f} / {r['learned_median_max_gap']:.3f} |" for r in rows]
    (out / "voiced_runs.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
