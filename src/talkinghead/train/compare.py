"""Compare the learned motion path with the rule path by self-reenactment (the eval suite's metrics).

``python -m talkinghead.train.compare --model M.onnx --sets grid_validation grid_test grid_others``
``python -m talkinghead.train.compare --model M.onnx --landmark-space data_cache/grid data_cache/videos`` (no rendering)

Per clip: the portrait is the clip's first frame, the drive its own audio with its transcript
(GRID word alignment; clips without one go through recognition, the pipeline's ``auto``
mode). Both systems share the same pipeline, audio analysis, head pose and blinks (same seed);
only the face motion differs. Frames are rendered full-frame, tracked with MediaPipe and scored
by :func:`talkinghead.eval.scoring.score_frames` (mouth-opening r, offset, LMD, jitter...).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from talkinghead.types import AudioFeatures, PhoneSegments

#: Systems compared: the rule path, the learned path, and the learned path without forced bilabial closure.
SYSTEMS = ("rules", "learned", "learned_raw")
#: Metrics summarised per system (means over clips; ``abs_offset`` = mean |offset|).
SUMMARY = ("mouth_r", "offset", "abs_offset", "lmd", "lmd_px256", "jitter_ratio", "closure", "loudness_r",
           "psnr", "ssim", "rtf")


def compare_clip(clip: object, model: object, config: object) -> dict[str, dict[str, object]]:
    """Scores of each of :data:`SYSTEMS` on one real clip (dict per system, plus motion seconds)."""
    from talkinghead.eval.reference import prepare_reference
    from talkinghead.eval.scoring import score_frames
    from talkinghead.motion.learned import learned_motion
    from talkinghead.motion.rules import MotionConfig, rule_motion
    from talkinghead.pipeline import GenerateConfig, TalkingHeadPipeline, analyse_speech

    ref = prepare_reference(clip, config)
    t = time.perf_counter()
    cfg = GenerateConfig(size=config.crop_size, fps=ref.fps, full_frame=True, pose_scale=1.0, blink_rate=15.0,
                         seed=config.seed, phones="auto")
    pipe = TalkingHeadPipeline(ref.portrait, cfg, source=str(clip.video))
    analysis = analyse_speech(ref.speech, clip.transcript, "auto")
    setup = time.perf_counter() - t
    mc = MotionConfig(fps=ref.fps, pose_scale=1.0, blink_rate=15.0, seed=config.seed)
    out = {}
    for system in SYSTEMS:
        t = time.perf_counter()
        if system == "rules":
            motion = rule_motion(analysis.features, analysis.phones, analysis.active, ref.speech.duration_s, mc)
        else:
            motion = learned_motion(model, analysis.features, analysis.phones, analysis.active,
                                    ref.speech.duration_s, mc, bilabial_closure=system == "learned")
        motion_s = time.perf_counter() - t
        run = score_frames(ref, pipe.frames(motion), system, config, setup_s=setup + motion_s)
        out[system] = {**asdict(run.scores), "motion_s": motion_s, "phones": analysis.phones.source}
    return out


def cached_clips(data: Path, names: Sequence[str] | set[str] | None = None) -> Iterator[CachedClip]:
    """The clips of the ``shard_*.npz`` files under ``data`` (:mod:`talkinghead.train.prepare`), in shard order.

    Args:
        data: a folder of shards.
        names: only these clips (None: all).
    Yields:
        :class:`CachedClip` per clip.
    """
    from talkinghead.train.dataset import shard_features
    from talkinghead.types import PhoneSegment

    want = set(names) if names is not None else None
    for shard in sorted(data.glob("shard_*.npz")):
        with np.load(shard, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            names_in = [str(n) for n in z["names"]]
            if want is not None and not want.intersection(names_in):
                continue
            fi, ai, pi = z["frame_index"], z["audio_index"], z["phone_index"]
            # Each array once per shard (an npz entry is read again on every access).
            arr = {k: z[k] for k in ("offsets", "blendshapes", "mel", "energy", "f0", "formants", "active",
                                     "phones", "phone_start", "phone_end")}
        for c, name in enumerate(names_in):
            if want is not None and name not in want:
                continue
            a0, a1, p0, p1 = ai[c], ai[c + 1], pi[c], pi[c + 1]
            feats, active = shard_features(arr, a0, a1)
            segs = tuple(PhoneSegment(str(p), float(s0), float(s1)) for p, s0, s1 in
                         zip(arr["phones"][p0:p1], arr["phone_start"][p0:p1], arr["phone_end"][p0:p1]))
            yield CachedClip(name, feats, active, PhoneSegments(segs, "alignment" if segs else "none"),
                             arr["offsets"][fi[c]:fi[c + 1]], float(meta["fps"][c]), arr["blendshapes"][fi[c]:fi[c + 1]])


@dataclass(frozen=True)
class CachedClip:
    """One prepared clip: 100 Hz ``features`` and ``active`` (bool ``[T]``), its ``phones`` (source
    ``none`` without a transcript), the tracked real ``offsets`` float32 ``[F, 478, 3]`` (IOD units) at
    ``fps`` and ``blendshapes`` float32 ``[F, 52]``."""

    name: str
    features: AudioFeatures
    active: np.ndarray
    phones: PhoneSegments
    offsets: np.ndarray
    fps: float
    blendshapes: np.ndarray


def learned_offsets(model: object, clip: CachedClip, phones: bool = False) -> np.ndarray:
    """The learned model's landmark offsets for a cached clip: float32 ``[<= F, 478, 3]`` (IOD units).

    Read at the targets' own timing (no read-ahead: both sides are tracked landmarks;
    ``READ_AHEAD_S`` is for rendering), at the clip's frame rate, cut to its real frames;
    ``phones``: with the shard's phones (else none).
    """
    from talkinghead.motion.learned import learned_motion
    from talkinghead.motion.rules import MotionConfig

    n = len(clip.offsets)
    seq = learned_motion(model, clip.features, clip.phones if phones else PhoneSegments((), "none"), clip.active,
                         n / clip.fps, MotionConfig(fps=clip.fps), read_ahead_s=0.0)
    return seq.landmark_offsets[:n]


def landmark_space(data: Path, model: object, names: Sequence[str] | None) -> dict[str, dict[str, float]]:
    """Cheap proxy without rendering: both paths' offsets vs the tracked real offsets of cached clips.

    Uses the shards of :mod:`talkinghead.train.prepare` (features, phones, offsets) for the clips
    in ``names`` (None: all; :func:`cached_clips`); metrics of :func:`talkinghead.train.motion.offset_metrics`,
    means over clips. Systems: ``rules`` and ``learned`` with the shard's phones (none where the clip
    has no transcript), ``rules_no_phones`` and ``learned_no_phones`` without any.
    """
    from talkinghead.motion.rules import MotionConfig, rule_motion
    from talkinghead.train.motion import offset_metrics

    rows: dict[str, list[dict[str, float]]] = {"still": [], "rules": [], "learned": [], "rules_no_phones": [],
                                               "learned_no_phones": []}
    for clip in cached_clips(data, names):
        feats, active, phones, true, fps = clip.features, clip.active, clip.phones, clip.offsets, clip.fps
        dur = len(true) / fps
        mc = MotionConfig(fps=fps)
        none = PhoneSegments((), "none")
        for key, off in (("rules", rule_motion(feats, phones, active, dur, mc).landmark_offsets),
                         ("learned", learned_offsets(model, clip, phones=True)),
                         ("rules_no_phones", rule_motion(feats, none, active, dur, mc).landmark_offsets),
                         ("learned_no_phones", learned_offsets(model, clip))):
            n = min(len(true), len(off))
            rows[key].append(offset_metrics(off[:n], true[:n]))
        rows["still"].append(offset_metrics(np.zeros_like(true), true))
    return {k: {m: float(np.mean([r[m] for r in v])) for m in v[0]} | {"clips": len(v)} for k, v in rows.items() if v}


def summarize(rows: list[dict[str, object]]) -> dict[str, dict[str, float | None]]:
    """Mean of each :data:`SUMMARY` metric per system over clips (NaN/None skipped)."""
    out: dict[str, dict[str, float | None]] = {}
    for system in SYSTEMS:
        if not rows or system not in rows[0]["scores"]:
            continue
        s: dict[str, float | None] = {}
        for k in SUMMARY:
            vals = []
            for r in rows:
                sc = r["scores"][system]
                v = abs(sc["offset"]) if k == "abs_offset" and sc["offset"] is not None else sc.get(k)
                if k == "abs_offset" and sc["offset"] is None:
                    v = None
                if v is not None and not (isinstance(v, float) and math.isnan(v)):
                    vals.append(float(v))
            s[k] = float(np.mean(vals)) if vals else None
        s["clips"] = len(rows)
        out[system] = s
    return out


def markdown(summaries: dict[str, dict[str, dict[str, float | None]]]) -> str:
    """A side-by-side table: one row per (set, system)."""
    lines = ["| set | system | clips | " + " | ".join(SUMMARY) + " |", "|---|---|---|" + "---|" * len(SUMMARY)]
    for set_name, by_sys in summaries.items():
        for system, s in by_sys.items():
            cells = ["" if s.get(k) is None else f"{s[k]:.3f}" for k in SUMMARY]
            lines.append(f"| {set_name} | {system} | {s['clips']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: ``--model FILE --sets ... [--limit N] [--out DIR]``; writes compare.json and compare.md."""
    from talkinghead.eval.reference import EvalConfig
    from talkinghead.eval.datasets import default_data_root, load_set
    from talkinghead.motion.learned import LearnedMotion
    from talkinghead.types import InputError

    ap = argparse.ArgumentParser(prog="python -m talkinghead.train.compare", description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--sets", nargs="+", default=["grid_validation", "grid_test", "grid_others"])
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("reports/learned_vs_rules"))
    ap.add_argument("--landmark-space", type=Path, nargs="+", default=None, metavar="SHARDS",
                    help="only the cheap proxy on cached clips (no rendering): GRID s1 validation and test "
                         "clips of a GRID s1 folder, every clip of any other folder")
    a = ap.parse_args(argv)
    if a.landmark_space is not None:
        from talkinghead.eval.datasets import GRID_S1_TEST, GRID_S1_VALIDATION

        model = LearnedMotion.from_file(a.model)
        for folder in a.landmark_space:
            names: set[str] = set()
            for shard in folder.glob("shard_*.npz"):
                with np.load(shard, allow_pickle=False) as z:
                    names.update(z["names"].tolist())
            if names & set(GRID_S1_TEST):  # a GRID s1 folder: its held-out clips only
                groups = (("grid_validation", GRID_S1_VALIDATION), ("grid_test", GRID_S1_TEST))
            else:
                groups = ((folder.name, None),)
            for label, names in groups:
                res = landmark_space(folder, model, names)
                print(f"{label}: " + "  ".join(f"{k}: r={v['mouth_r']:.3f} lmd={v['lmd']:.4f} jit={v['jitter_ratio']:.2f}"
                                               for k, v in res.items()), flush=True)
        return 0
    root = default_data_root()
    if root is None:
        print("error: shared data folder not found (set TALKINGHEAD_DATA)", file=sys.stderr)
        return 2
    model = LearnedMotion.from_file(a.model)
    config = EvalConfig(identity_frames=0, sheet_frames=0)
    a.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[dict[str, object]]] = {}
    for set_name in a.sets:
        rows = []
        for clip in load_set(set_name, root, limit=a.limit):
            if not clip.has_ground_truth:
                continue
            t = time.perf_counter()
            try:
                scores = compare_clip(clip, model, config)
            except InputError as e:
                print(f"{clip.name}: skipped: {e}", file=sys.stderr)
                continue
            rows.append({"clip": clip.name, "scores": scores})
            print(f"{set_name} {clip.name} ({time.perf_counter() - t:.1f}s): "
                  + "  ".join(f"{s}: r={v['mouth_r']:.3f} lmd={v['lmd']:.4f} jit={v['jitter_ratio']:.2f} "
                              f"off={v['offset']}" for s, v in scores.items()), file=sys.stderr, flush=True)
        results[set_name] = rows
        summaries = {k: summarize(v) for k, v in results.items() if v}
        (a.out / "compare.json").write_text(json.dumps({"model": str(a.model), "clips": results,
                                                        "summary": summaries}, indent=1, default=str))
        (a.out / "compare.md").write_text(markdown(summaries))
    print(markdown({k: summarize(v) for k, v in results.items() if v}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
