"""Two learned motion models side by side in landmark space, with and without the silence around speech.

    python benchmarks/model_pair.py --base src/talkinghead/assets/learned_motion.onnx --new data_cache/exp_vtln/vtln_ens.onnx

On the cached clips of ``talkinghead train prepare`` (no rendering, no phones, read at the targets'
own timing, as ``python -m talkinghead.train.compare --landmark-space``), per set: the mouth-opening
r of each model over the whole clip and over the spoken span only (first to last voice activity),
the mean predicted and real opening outside that span (IOD), the paired difference new - base
with its t statistic over clips, and the r of the two models' average (half each). Sets: GRID s1
validation, the unseen GRID speakers s4, s31 and the other five (pooled by clips as "unseen"), the
interview clips. Used for the README's VTLN paragraph.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SETS = (("grid_val", "data_cache/grid"), ("s4", "data_cache/unseen_s4"), ("s31", "data_cache/unseen_s31"),
        ("others", "data_cache/unseen_others"), ("videos", "data_cache/videos"))
UNSEEN = ("s4", "s31", "others")


def main() -> int:
    from talkinghead.eval.datasets import GRID_S1_VALIDATION
    from talkinghead.eval.metrics import offset_opening, pearson
    from talkinghead.motion.learned import LearnedMotion
    from talkinghead.train.compare import cached_clips, learned_offsets

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--new", type=Path, required=True)
    a = ap.parse_args()
    models = (LearnedMotion.from_file(a.base), LearnedMotion.from_file(a.new))
    rows: dict[str, list[list[float]]] = {}
    for name, folder in SETS:
        for clip in cached_clips(Path(folder), set(GRID_S1_VALIDATION) if name == "grid_val" else None):
            n = len(clip.offsets)
            t = np.clip((np.arange(n) / clip.fps * 100).astype(int), 0, len(clip.active) - 1)
            on = np.flatnonzero(clip.active)
            span = (t >= on[0]) & (t <= on[-1])
            real = offset_opening(clip.offsets)
            pred = [offset_opening(learned_offsets(m, clip)) for m in models]
            outside = ~span
            rows.setdefault(name, []).append(
                [pearson(p, real, 1e-12) for p in pred] + [pearson(p[span], real[span], 1e-12) for p in pred]
                + [float(p[outside].mean()) if outside.any() else np.nan for p in pred]
                + [float(real[outside].mean()) if outside.any() else np.nan, pearson((pred[0] + pred[1]) / 2, real, 1e-12)])
    rows["unseen"] = [r for k in UNSEEN for r in rows[k]]
    print("| set | clips | r base | r new | r mix | r in speech base | r in speech new | open outside base / new / real | new - base (t) |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|")
    for name, r in rows.items():
        x = np.array(r)
        d = x[:, 1] - x[:, 0]
        tstat = d.mean() / (d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 and d.std() > 0 else float("nan")
        m = np.nanmean(x, 0)
        print(f"| {name} | {len(x)} | {m[0]:.3f} | {m[1]:.3f} | {m[7]:.3f} | {m[2]:.3f} | {m[3]:.3f} | "
              f"{m[4]:.3f} / {m[5]:.3f} / {m[6]:.3f} | {d.mean():+.3f} ({tstat:.1f}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
