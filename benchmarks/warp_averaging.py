"""Test-time averaging over vocal-tract warps: does the learned mouth follow unseen voices better?

The learned model was trained on one speaker heard in altered voices. This averages its landmark
offsets over copies of each clip's features warped along frequency (the log-mel and formants, as
``--vtln`` warps them: :func:`talkinghead.audio.vtln.warp_mel`) by the given factors, and scores the
inner-lip gap against the tracked real face without phones (landmark space, as
``python -m talkinghead.train.compare --landmark-space`` does), over the whole clip and from the
first to the last frame of voice activity (:func:`talkinghead.eval.reference.spoken_span`). Needs
the prepared shards of ``train prepare``
(``data_cache/grid``: GRID s1 validation clips; ``data_cache/unseen_*``, ``data_cache/videos``).

    python benchmarks/warp_averaging.py [--model src/talkinghead/assets/learned_motion.onnx]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

VARIANTS = {"none": (1.0,), "0.9, 1, 1.1": (0.9, 1.0, 1.1), "0.85, 1, 1.15": (0.85, 1.0, 1.15),
            "five, 0.85-1.15": (0.85, 0.92, 1.0, 1.08, 1.15)}


def main() -> None:
    from talkinghead.eval.datasets import GRID_S1_VALIDATION
    from talkinghead.eval.reference import spoken_span
    from talkinghead.motion.learned import LearnedMotion
    from talkinghead.train.compare import cached_clips, learned_offsets
    from talkinghead.train.motion import offset_opening, pearson

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="src/talkinghead/assets/learned_motion.onnx")
    ap.add_argument("--cache", type=Path, default=Path("data_cache"))
    args = ap.parse_args()
    model = LearnedMotion.from_file(args.model)
    sets = {"GRID s1 validation": (args.cache / "grid", set(GRID_S1_VALIDATION))}
    sets |= {d.name: (d, None) for d in sorted(args.cache.glob("unseen_*")) + [args.cache / "videos"] if d.is_dir()}
    print("| set | clips | " + " | ".join(f"warps {v}: r / in speech" for v in VARIANTS) + " |")
    print("|---|---:|" + "---|" * len(VARIANTS))
    for name, (folder, names) in sets.items():
        rows: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS}
        for clip in cached_clips(folder, names):
            true = clip.offsets
            for v, factors in VARIANTS.items():
                outs = []
                for f in factors:
                    model.vtln_factor = lambda *_, f=f: f  # this warp, not the model's own (1.0 for the shipped one)
                    outs.append(learned_offsets(model, clip))
                off = np.mean(outs, axis=0)
                n = min(len(off), len(true))
                gp, gt = offset_opening(off[:n]), offset_opening(true[:n])
                span = spoken_span(np.asarray(clip.active, bool), clip.features.frame_rate, clip.fps, n)
                rows[v].append((pearson(gp, gt, min_std=1e-12), pearson(gp[span], gt[span], min_std=1e-12)))
        clips = len(rows["none"])
        print(f"| {name} | {clips} | " + " | ".join(
            f"{np.mean([r for r, _ in rows[v]]):.3f} / {np.mean([s for _, s in rows[v]]):.3f}" for v in VARIANTS) + " |",
            flush=True)


if __name__ == "__main__":
    main()
