"""Does fitting the learned motion to a person help on their own unseen speech? Landmark space, no rendering.

    python benchmarks/person_motion.py [--steps 200] [--out reports/person_motion]

On the cached clips of ``talkinghead train prepare`` (features and tracked real landmarks), per
person: the shipped model is fine-tuned (:func:`talkinghead.train.person.fine_tune`, what
``talkinghead fit`` runs) on some of their footage and both models predict the rest, read at the
targets' own timing without phones (as ``python -m talkinghead.train.compare --landmark-space``):

- GRID s4 (``data_cache/unseen_s4``, 23 clips: fitted on the first 15 by name, tested on 8) and
  s31 (``data_cache/unseen_s31``, 10 clips: 6 / 4): speakers the shipped model never heard;
- GRID s1 (``data_cache/grid``): fitted on 60 training clips (3 min), tested on the 40 test
  clips: the shipped model's own training speaker, where a fit must not make things worse;
- not the interview clips: at 4-14 s each, none holds the footage a fit needs
  (:data:`talkinghead.train.person.MIN_TRAIN_S` of training windows plus a held-out part).

Reports mouth-opening r and lip LMD (IOD) per set, before and after, the paired difference of r
with its t statistic, and the fit's record (held-out r per member, step kept, seconds).
Writes ``person_motion.json`` and ``person_motion.md`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    from talkinghead.eval.datasets import GRID_S1_TEST, GRID_S1_VALIDATION
    from talkinghead.motion.learned import LearnedMotion
    from talkinghead.train.compare import CachedClip, cached_clips, learned_offsets
    from talkinghead.train.motion import offset_metrics
    from talkinghead.train.person import PersonClip, fine_tune

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "person_motion")
    a = ap.parse_args()
    cache = ROOT / "data_cache"
    shipped = LearnedMotion.from_file()

    def person(c: CachedClip) -> PersonClip:
        return PersonClip(c.features, c.active, c.offsets, c.blendshapes, np.ones(len(c.offsets), bool), c.fps)

    def score(model: LearnedMotion, c: CachedClip) -> dict[str, float]:
        off = learned_offsets(model, c)
        return offset_metrics(off, c.offsets[:len(off)])

    sets: list[tuple[str, list[CachedClip], list[CachedClip]]] = []
    for name, folder, n_fit in (("GRID s4", "unseen_s4", 15), ("GRID s31", "unseen_s31", 6)):
        clips = sorted(cached_clips(cache / folder), key=lambda c: c.name)
        sets.append((name, clips[:n_fit], clips[n_fit:]))
    held = set(GRID_S1_TEST) | set(GRID_S1_VALIDATION)
    s1 = sorted((c for c in cached_clips(cache / "grid") if c.name not in held), key=lambda c: c.name)[:60]
    sets.append(("GRID s1 (trained on)", s1, list(cached_clips(cache / "grid", set(GRID_S1_TEST)))))

    report = []
    for name, fit_clips, test_clips in sets:
        tuned = fine_tune([person(c) for c in fit_clips], steps=a.steps, lr=a.lr)
        model = LearnedMotion.from_bytes(tuned.onnx, "fine-tuned")
        before = [score(shipped, c) for c in test_clips]
        after = [score(model, c) for c in test_clips]
        d = np.array([x["mouth_r"] - y["mouth_r"] for x, y in zip(after, before)])
        t = float(d.mean() / (d.std(ddof=1) / np.sqrt(len(d)))) if len(d) > 1 and d.std() > 0 else float("nan")
        row = {"set": name, "fit_s": round(sum(len(c.offsets) / c.fps for c in fit_clips), 1), "test_clips": len(test_clips),
               "r_before": float(np.mean([x["mouth_r"] for x in before])), "r_after": float(np.mean([x["mouth_r"] for x in after])),
               "lmd_before": float(np.mean([x["lmd"] for x in before])), "lmd_after": float(np.mean([x["lmd"] for x in after])),
               "paired_t": t, "fit": tuned.record}
        report.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "fit"}), json.dumps(tuned.record["members"]), flush=True)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "person_motion.json").write_text(json.dumps({"steps": a.steps, "lr": a.lr, "rows": report}, indent=1))
    lines = [f"Person fine-tune of the learned motion, {a.steps} steps per member at lr {a.lr:g}; landmark space, no phones.", "",
             "| set | fitted on (s) | test clips | mouth r before → after | LMD (IOD) before → after | paired t | fit s |",
             "|---|---:|---:|---|---|---:|---:|"]
    for r in report:
        lines.append(f"| {r['set']} | {r['fit_s']} | {r['test_clips']} | {r['r_before']:.3f} → {r['r_after']:.3f} | "
                     f"{r['lmd_before']:.4f} → {r['lmd_after']:.4f} | {r['paired_t']:.1f} | {r['fit']['seconds']} |")
    (a.out / "person_motion.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
