"""Train the learned motion on GRID s1 plus half of the interview speakers; score the other half.

    python benchmarks/interview_folds.py --fold A [--repeat 40] [--steps 4000] [--seed 0] [--reuse]

Issue 7 suggests the talking clips as training data, split by speaker. The ten interview clips
(``data_cache/videos``, ten different people) are split by sorted name into two folds of five
(A: 0th, 2nd, ... ; B: the rest). The fold's clips are cut into 3 s windows every 1.5 s (no
phones), each repeated ``--repeat`` times (about 12-14% of the training clips), and written as
one shard beside links to GRID s1's shards and altered copies (``data_cache/grid``) in
``data_cache/exp_iv/foldF``; ``talkinghead train motion`` trains there with the shipped recipe,
and the result is compared in landmark space without phones with the shipped recipe's
checkpoint at the same seed (``data_cache/exp/motion_sS.onnx``) on the other fold's interview
clips, the unseen GRID speakers and GRID s1 test (per-clip r, paired difference and t).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "data_cache"


def write_windows(out: Path, names: set[str], repeat: int) -> int:
    """One shard of the named interview clips cut into 3 s windows every 1.5 s, each ``repeat`` times."""
    rows = []
    meta0 = None
    for s in sorted((CACHE / "videos").glob("shard_*.npz")):
        with np.load(s) as z:
            meta = json.loads(str(z["meta"]))
            meta0 = meta0 or meta
            fi, ai = z["frame_index"], z["audio_index"]
            for c, name in enumerate(z["names"]):
                if str(name) not in names:
                    continue
                fps, nf_all, na_all = meta["fps"][c], fi[c + 1] - fi[c], ai[c + 1] - ai[c]
                k, t0 = 0, 0.0
                while True:
                    f0, nf, a0 = int(round(t0 * fps)), int(round(3.0 * fps)), int(round(t0 * 100))
                    if f0 + nf > nf_all or a0 + 300 > na_all:
                        break
                    video = {key: z[key][fi[c] + f0:fi[c] + f0 + nf] for key in ("offsets", "blendshapes", "landmarks", "pose")}
                    audio = {key: z[key][ai[c] + a0:ai[c] + a0 + 300] for key in ("mel", "energy", "f0", "formants", "active")}
                    rows += [(f"iv_{name}_w{k}_r{r}", fps, video, audio) for r in range(repeat)]
                    k, t0 = k + 1, t0 + 1.5

    def cat(part: int, key: str) -> np.ndarray:
        return np.concatenate([r[part][key] for r in rows])

    fidx = np.cumsum([0] + [len(r[2]["offsets"]) for r in rows])
    aidx = np.cumsum([0] + [len(r[3]["mel"]) for r in rows])
    meta = {"version": meta0["version"], "errors": {}, "fps": [r[1] for r in rows], "blendshape_names": meta0["blendshape_names"]}
    np.savez(out / "shard_90000.npz", meta=json.dumps(meta), names=np.array([r[0] for r in rows]), frame_index=fidx,
             audio_index=aidx, phone_index=np.zeros(len(rows) + 1, np.int64),
             **{k: cat(2, k) for k in ("offsets", "blendshapes", "landmarks", "pose")},
             **{k: cat(3, k) for k in ("mel", "energy", "f0", "formants", "active")},
             neutral=np.zeros((len(rows), 478, 3), np.float32), phones=np.array([], dtype="<U4"),
             phone_start=np.zeros(0, np.float32), phone_end=np.zeros(0, np.float32))
    return len(rows)


def main() -> int:
    from talkinghead.eval.datasets import GRID_S1_TEST
    from talkinghead.eval.metrics import offset_opening, pearson
    from talkinghead.motion.learned import LearnedMotion
    from talkinghead.train.compare import cached_clips, learned_offsets

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fold", choices=("A", "B"), required=True)
    ap.add_argument("--repeat", type=int, default=40)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reuse", action="store_true", help="score an existing checkpoint of this fold and seed, do not train")
    a = ap.parse_args()
    names = sorted(str(c.name) for c in cached_clips(CACHE / "videos"))
    train = {n for i, n in enumerate(names) if (i % 2 == 0) == (a.fold == "A")}
    folder = CACHE / "exp_iv" / f"fold{a.fold}"
    folder.mkdir(parents=True, exist_ok=True)
    for f in (CACHE / "grid").glob("*.npz"):
        if not (folder / f.name).exists():
            (folder / f.name).symlink_to(f.resolve())
    print(f"fold {a.fold}: training on {sorted(train)}; {write_windows(folder, train, a.repeat)} windows", flush=True)
    out = CACHE / "exp_iv" / f"fold{a.fold}_s{a.seed}.safetensors"
    if not (a.reuse and out.with_suffix(".onnx").is_file()):
        subprocess.run([sys.executable, "-m", "talkinghead", "train", "motion", "--data", str(folder), "--out", str(out),
                        "--steps", str(a.steps), "--eval-every", "250", "--threads", "2", "--seed", str(a.seed)], check=True)
    models = [LearnedMotion.from_file(CACHE / "exp" / f"motion_s{a.seed}.onnx"), LearnedMotion.from_file(out.with_suffix(".onnx"))]

    def r(m: LearnedMotion, c: object) -> float:
        return pearson(offset_opening(learned_offsets(m, c)), offset_opening(c.offsets), 1e-12)

    print("| set | clips | r shipped recipe | r with interviews | paired (t) |\n|---|---:|---:|---:|---|")
    for label, sub, want in (("interviews, other fold", "videos", set(names) - train), ("GRID s4", "unseen_s4", None),
                             ("GRID s31", "unseen_s31", None), ("other GRID speakers", "unseen_others", None),
                             ("GRID s1 test", "grid", set(GRID_S1_TEST))):
        x = np.array([[r(m, c) for m in models] for c in cached_clips(CACHE / sub, want)])
        d = x[:, 1] - x[:, 0]
        t = d.mean() / (d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 and d.std() > 0 else float("nan")
        print(f"| {label} | {len(x)} | {x[:, 0].mean():.3f} | {x[:, 1].mean():.3f} | {d.mean():+.3f} ({t:.1f}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
