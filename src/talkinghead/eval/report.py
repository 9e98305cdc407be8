"""Benchmark reports: report.json (every number), report.md (tables) and plots.

Layout of an output folder::

    report.json          settings, dataset and split, commit, per-clip scores, summaries, and the
                         per-frame mouth-opening and loudness curves
    report.md            summary table per set, per-clip tables, links to the plots
    bars.png             key metrics per system and set
    curves/SET__CLIP.png mouth opening over time, real vs each system (with the loudness)
    sheets/SET__CLIP.png contact sheet of face crops: real | each system, at a few times
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from talkinghead.eval.benchmark import BenchmarkResult, ClipResult
from talkinghead.eval.scoring import RealScores, Scores, score_names


@dataclass(frozen=True)
class MetricInfo:
    """How a metric is shown.

    Attributes:
        key: field name (in :class:`~talkinghead.eval.scoring.Scores`, or ``offset_abs``).
        label: column title.
        unit: unit, for report.json.
        better: ``"higher"``, ``"lower"``, ``"1"`` (closer to 1), ``"0"`` (closer to 0), ``"real"`` (closer to the real video's).
        digits: decimals shown.
    """

    key: str
    label: str
    unit: str
    better: str
    digits: int


#: Columns of the summary tables, in order.
METRICS: tuple[MetricInfo, ...] = (
    MetricInfo("mouth_r", "mouth r", "Pearson r", "higher", 3),
    MetricInfo("mouth_r_speech", "mouth r in speech", "Pearson r, first to last voice activity", "higher", 3),
    MetricInfo("mouth_r_source", "leak r", "partial Pearson r with the dubbed video's own mouth", "0", 3),
    MetricInfo("offset_abs", "abs offset", "frames", "lower", 2),
    MetricInfo("offset_median", "median offset", "frames", "0", 1),
    MetricInfo("lmd", "LMD", "IOD", "lower", 4),
    MetricInfo("lmd_px256", "LMD px@256", "pixels", "lower", 2),
    MetricInfo("jitter_ratio", "jitter/real", "ratio", "1", 2),
    MetricInfo("pose_std", "pose std", "degrees", "real", 2),
    MetricInfo("blink_rate", "blinks/min", "per minute", "real", 1),
    MetricInfo("psnr", "PSNR", "dB", "higher", 2),
    MetricInfo("ssim", "SSIM", "SSIM", "higher", 3),
    MetricInfo("mouth_psnr", "mouth PSNR", "dB, grey mouth crop aligned on eyes and nose", "higher", 2),
    MetricInfo("mouth_ssim", "mouth SSIM", "SSIM, grey mouth crop", "higher", 3),
    MetricInfo("mouth_psnr_open", "open-mouth PSNR", "dB, frames whose real mouth is open", "higher", 2),
    MetricInfo("mouth_ssim_open", "open-mouth SSIM", "SSIM, frames whose real mouth is open", "higher", 3),
    MetricInfo("identity", "identity dist", "dlib embedding distance", "lower", 3),
    MetricInfo("loudness_r", "mouth~loudness r", "Pearson r", "real", 3),
    MetricInfo("closure", "bilabial closure", "share of events", "higher", 2),
    MetricInfo("pause_closed", "closed in pauses", "share of pause frames", "higher", 2),
    MetricInfo("rtf", "RTF", "compute s / audio s", "lower", 3),
)
#: Columns for sets without ground truth (portrait + speech pairs).
NOGT_METRICS: tuple[MetricInfo, ...] = (
    MetricInfo("loudness_r", "mouth~loudness r", "Pearson r", "real", 3),
    MetricInfo("closure", "bilabial closure", "share of events", "higher", 2),
    MetricInfo("pause_closed", "closed in pauses", "share of pause frames", "higher", 2),
    MetricInfo("jitter", "jitter", "IOD / frame^2", "lower", 4),
    MetricInfo("pose_std", "pose std", "degrees", "real", 2),
    MetricInfo("blink_rate", "blinks/min", "per minute", "real", 1),
    MetricInfo("identity", "identity dist", "dlib embedding distance", "lower", 3),
    MetricInfo("face_rate", "face found", "share of frames", "higher", 2),
    MetricInfo("rtf", "RTF", "compute s / audio s", "lower", 3),
)
_ARROW = {"higher": "↑", "lower": "↓", "1": "→1", "0": "→0", "real": "≈real"}
#: Columns shown only in tables where some row has them (leak r: cross-dubbing only).
OPTIONAL_KEYS = frozenset({"mouth_r_source"})
#: Metrics the real video has on its own (the reference row).
REAL_KEYS = ("jitter_ratio", "pose_std", "blink_rate", "identity", "loudness_r", "closure", "pause_closed")
#: Metrics in bars.png.
BAR_KEYS = ("mouth_r", "offset_abs", "lmd_px256", "jitter_ratio", "psnr", "ssim", "identity", "loudness_r", "closure")
REAL_ROW = "real video"


def _clean(x: object) -> object:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python, containers recursively."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, Path):
        return str(x)
    return x


def git_commit(path: Path | None = None) -> tuple[str | None, bool | None]:
    """The commit of the source tree this package runs from, and whether tracked files differ from it.

    Returns:
        ``(sha, dirty)``, or ``(None, None)`` outside a git checkout or without git.
    """
    root = path or Path(__file__).resolve().parents[3]
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return sha or None, bool(status.strip())


def _mean(values: list[float | int | None]) -> float | None:
    v = [float(x) for x in values if x is not None and math.isfinite(float(x))]
    return float(np.mean(v)) if v else None


def _scores_row(s: Scores) -> dict[str, object]:
    row = asdict(s)
    row["offset_abs"] = abs(s.offset) if s.offset is not None else None
    return row


def _real_row(r: RealScores | None) -> dict[str, object]:
    if r is None:
        return {}
    row = asdict(r)
    row["jitter_ratio"] = 1.0
    return row


def summarize(clips: tuple[ClipResult, ...], systems: tuple[str, ...]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Mean of every metric over clips, per set and system, plus the real reference row.

    ``"all"`` pools the sets with ground truth (self-reenactment); sets without it (``cross``)
    stand alone.

    Returns:
        ``{set: {system: {metric: mean or None, "clips": n}}}``; the reference row is under
        :data:`REAL_ROW` (absent for sets without real videos). ``offset`` is the mean signed
        offset, ``offset_abs`` the mean absolute one.
    """
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    sets = list(dict.fromkeys(c.clip.set for c in clips))
    keys = list(score_names(Scores)) + ["offset_abs"]
    # "all" pools clean speech only: the noisy sets repeat the GRID test clips.
    gt_sets = [s for s in sets if any(c.real is not None and not c.clip.noise for c in clips if c.clip.set == s)]
    groups = sets + (["all"] if len(gt_sets) > 1 else [])
    for set_name in groups:
        group = [c for c in clips if (c.clip.set in gt_sets if set_name == "all" else c.clip.set == set_name)]
        table: dict[str, dict[str, float | None]] = {}
        reals = [_real_row(c.real) for c in group if c.real is not None]
        if reals:
            table[REAL_ROW] = {k: _mean([r.get(k) for r in reals]) for k in keys if k in reals[0]}
            table[REAL_ROW]["clips"] = len(reals)
        for system in systems:
            rows = [_scores_row(run.scores) for c in group for run in c.runs if run.system == system]
            if not rows:
                continue
            table[system] = {k: _mean([r[k] for r in rows]) for k in keys}
            offsets = [r["offset"] for r in rows if r["offset"] is not None]
            table[system]["offset_median"] = float(np.median(offsets)) if offsets else None
            table[system]["clips"] = len(rows)
        out[set_name] = table
    return out


def report_dict(result: BenchmarkResult) -> dict[str, object]:
    """Everything of a run as a JSON-ready dict (the content of report.json)."""
    from talkinghead import __version__
    from talkinghead.eval.datasets import (
        GRID_N_TEST,
        GRID_N_VALIDATION,
        GRID_SPLIT_SEED,
        grid_split,
    )

    sha, dirty = git_commit()
    cfg = result.config
    dataset: dict[str, object] = {"root": str(result.data_root), "clips": {}}
    for c in result.clips:
        dataset["clips"].setdefault(c.clip.set, []).append(c.clip.name)  # type: ignore[union-attr]
    if any(s.startswith("grid_") for s in cfg.sets) and (result.data_root / "grid" / "s1").is_dir():
        split = grid_split(result.data_root)
        dataset["grid_split"] = {
            "procedure": f"random.Random({GRID_SPLIT_SEED}).sample(sorted(names), {GRID_N_TEST + GRID_N_VALIDATION}): "
                         f"first {GRID_N_TEST} test, next {GRID_N_VALIDATION} validation, rest train",
            "test": list(split.test), "validation": list(split.validation), "train_count": len(split.train),
        }
    clips = []
    for c in result.clips:
        base = {"set": c.clip.set, "clip": c.clip.name, "video": c.clip.video, "portrait": c.clip.portrait,
                "audio": c.clip.audio, "transcript": c.clip.transcript}
        if c.real is not None:
            clips.append({**base, "system": REAL_ROW, **_real_row(c.real)})
        for run in c.runs:
            clips.append({**base, "system": run.system, **_scores_row(run.scores)})
        for system, err in c.errors.items():
            clips.append({**base, "system": system, "error": err})
    curves = {}
    for c in result.clips:
        cur = {"fps": c.fps, "loudness": np.round(c.loudness, 4).tolist()}
        if c.real_opening is not None:
            cur[REAL_ROW] = np.round(c.real_opening, 4).tolist()
        for run in c.runs:
            cur[run.system] = np.round(run.opening, 4).tolist()
        curves[f"{c.clip.set}/{c.clip.name}"] = cur
    return _clean({
        "meta": {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "commit": sha, "dirty": dirty, "version": __version__,
            "python": platform.python_version(), "machine": platform.machine(),
            "elapsed_s": result.elapsed_s,
            "settings": asdict(cfg),
            "systems": list(result.systems), "skipped_systems": result.skipped, "failed_clips": result.failed,
            "metrics": {m.key: {"label": m.label, "unit": m.unit, "better": m.better} for m in METRICS},
        },
        "dataset": dataset,
        "summary": summarize(result.clips, result.systems),
        "clips": clips,
        "curves": curves,
    })


def _fmt(v: object, digits: int) -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and not math.isfinite(v):
        return "–"
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return f"{float(v):.{digits}f}"


def _table(rows: list[tuple[str, dict[str, object]]], first: str, keys: tuple[MetricInfo, ...]) -> list[str]:
    """A markdown table; the columns of :data:`OPTIONAL_KEYS` are left out where no row has a value."""
    keys = tuple(m for m in keys if m.key not in OPTIONAL_KEYS
                 or any(_fmt(vals.get(m.key), m.digits) != _fmt(None, m.digits) for _, vals in rows))
    head = f"| {first} | " + " | ".join(f"{m.label} {_ARROW[m.better]}" for m in keys) + " |"
    lines = [head, "|" + "---|" * (len(keys) + 1)]
    for name, vals in rows:
        lines.append(f"| {name} | " + " | ".join(_fmt(vals.get(m.key), m.digits) for m in keys) + " |")
    return lines


def report_markdown(report: dict[str, object], plots: bool = True) -> str:
    """report.md from :func:`report_dict`'s output."""
    meta = report["meta"]
    s = meta["settings"]
    lines = ["# talkinghead evaluation: self-reenactment", ""]
    commit = meta["commit"] or "unknown"
    if meta["dirty"]:
        commit += " (with uncommitted changes)"
    lines += [
        f"- created {meta['created']}, talkinghead {meta['version']}, commit `{commit}`, {meta['elapsed_s']:.0f} s",
        f"- sets: {', '.join(s['sets'])}; systems: {', '.join(meta['systems'])}"
        + ("; quick subset" if s["quick"] else "") + (f"; at most {s['limit']} clips per set" if s["limit"] else ""),
        f"- data: `{report['dataset']['root']}`",
    ]
    split = report["dataset"].get("grid_split")
    if split:
        lines.append(f"- GRID s1 split: {len(split['test'])} test, {len(split['validation'])} validation, "
                     f"{split['train_count']} train ({split['procedure']}; names in report.json)")
    for system, why in meta["skipped_systems"].items():
        lines.append(f"- **skipped system {system}**: {why}")
    for clip, why in meta["failed_clips"].items():
        lines.append(f"- **could not evaluate {clip}**: {why}")
    lines += [
        "",
        "Portrait = the clip's first frame, drive = the clip's own audio (and GRID's word alignment as transcript); "
        "generated frames are compared with the real ones. mouth r: Pearson r of inner-lip gap / inter-ocular "
        "distance (IOD), generated vs real; abs offset: lag (frames, ±10) that maximises it, absolute; LMD: mean distance of "
        "mean-centred mouth landmarks in IOD units, and in pixels of a 256² face crop; jitter/real: landmark "
        "acceleration relative to the real clip's; PSNR/SSIM on the face crop (frames after the portrait); identity: "
        "dlib face-embedding distance to the portrait (< 0.6 = same person); mouth~loudness r and bilabial closure "
        "need no ground truth; RTF: generation seconds per audio second. The *real video* row is the real clip "
        "measured on its own: the target for ≈real columns. The *cross* set pairs arbitrary portraits with "
        "arbitrary speech (no real video): only the metrics that need no ground truth.",
        "",
    ]
    summary = report["summary"]
    sets = [k for k in summary if k != "all"]
    for set_name in sets + (["all"] if "all" in summary else []):
        table = summary[set_name]
        gt = REAL_ROW in table
        n = max((int(v.get("clips") or 0) for v in table.values()), default=0)
        title = "all sets with real videos" if set_name == "all" else set_name
        lines += [f"## {title} ({n} clips{'' if gt else ', no ground truth'})", ""]
        rows = []
        for name, vals in table.items():
            if name == REAL_ROW:
                vals = {k: (v if k in REAL_KEYS else None) for k, v in vals.items()}
            rows.append((name, vals))
        lines += _table(rows, "system", METRICS if gt else NOGT_METRICS) + [""]
    if plots:
        lines += ["## Plots", "", "![metrics per system](bars.png)", ""]
    for set_name in sets:
        gt = REAL_ROW in summary[set_name]
        lines += [f"## Per clip: {set_name}", ""]
        rows = []
        for c in report["clips"]:
            if c["set"] != set_name:
                continue
            if "error" in c:
                rows.append((f"{c['clip']} / {c['system']}", {}))
                continue
            vals = c if c["system"] != REAL_ROW else {k: (v if k in REAL_KEYS else None) for k, v in c.items()}
            rows.append((f"{c['clip']} / {c['system']}", vals))
        keys = tuple(m if m.key != "offset_abs" else MetricInfo("offset", "offset", "frames", "lower", 0)
                     for m in (METRICS if gt else NOGT_METRICS) if m.key != "offset_median")
        lines += _table(rows, "clip / system", keys) + [""]
        errs = [c for c in report["clips"] if c["set"] == set_name and "error" in c]
        for c in errs:
            lines.append(f"- {c['clip']} / {c['system']}: {c['error']}")
        if plots:
            names = list(dict.fromkeys(c["clip"] for c in report["clips"] if c["set"] == set_name))
            what = "real | systems" if gt else "systems"
            lines += ["", f"Mouth opening curves and contact sheets ({what}):", ""]
            lines += [f"- {n}: [curves](curves/{set_name}__{n}.png), [frames](sheets/{set_name}__{n}.png)" for n in names]
        lines.append("")
    return "\n".join(lines)


def _write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- plots ------------------------------------------------------------------------------


def plot_curves(c: ClipResult, path: Path) -> None:
    """Mouth opening over time: the real clip, each system, and the audio loudness (scaled)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 3.2))
    t = np.arange(len(c.loudness)) / c.fps
    curves = [c.real_opening] if c.real_opening is not None else [run.opening for run in c.runs]
    tops = [float(np.nanmax(x)) for x in curves if np.isfinite(x).any()]
    top = max(tops) if tops else 0.1
    ax.fill_between(t, 0, c.loudness * top, color="0.85", label="loudness (scaled)", lw=0)
    if c.real_opening is not None:
        ax.plot(np.arange(len(c.real_opening)) / c.fps, c.real_opening, color="k", lw=2.2, label="real")
    for run in c.runs:
        tt = np.arange(len(run.opening)) / c.fps
        s = run.scores
        if c.real is not None:
            note = f"r={s.mouth_r:.2f}, off={s.offset if s.offset is not None else '–'}"
        else:
            note = f"r with loudness={s.loudness_r:.2f}"
        ax.plot(tt, run.opening, lw=1.3, label=f"{run.system} ({note})")
    for w in c.clip.words:
        ax.axvline(w.start_s, color="0.7", lw=0.5)
        ax.text(w.start_s, top * 1.02, w.word, fontsize=7, color="0.4")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mouth opening (gap / IOD)")
    ax.set_title(f"{c.clip.set} / {c.clip.name}", fontsize=10)
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    ax.set_xlim(0, t[-1] if len(t) else 1)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_bars(summary: dict[str, dict[str, dict[str, float | None]]], systems: tuple[str, ...], path: Path) -> None:
    """Grouped bars of the key metrics: one panel per metric, sets on the x axis, a bar per system."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = [k for k in summary if k != "all"]
    infos = {m.key: m for m in METRICS}
    rows = [REAL_ROW, *systems]
    ncol = 3
    nrow = math.ceil(len(BAR_KEYS) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 2.8 * nrow), squeeze=False)
    width = 0.8 / len(rows)
    colors = ["0.25"] + [plt.get_cmap("tab10")(i) for i in range(len(systems))]
    for ax, key in zip(axes.flat, BAR_KEYS):
        m = infos[key]
        has = [any(summary[s].get(r, {}).get(key) is not None for r in systems) for s in sets]
        for j, row in enumerate(rows):
            vals = []
            for s in sets:
                v = summary[s].get(row, {}).get(key)
                if row == REAL_ROW and key not in REAL_KEYS:
                    v = None
                vals.append(np.nan if v is None else v)
            if row == REAL_ROW and all(np.isnan(vals)):
                continue
            x = np.arange(len(sets)) + (j - (len(rows) - 1) / 2) * width
            ax.bar(x, vals, width, color=colors[j], label=row)
            for xi, v, h in zip(x, vals, has):
                if np.isnan(v) and row != REAL_ROW and h:  # no value (e.g. a still mouth has no offset): say so
                    ax.text(xi, 0, "n/a", ha="center", va="bottom", fontsize=6, rotation=90, color=colors[j])
        ax.set_title(f"{m.label} ({_ARROW[m.better]})", fontsize=9)
        ax.set_xticks(np.arange(len(sets)), sets, fontsize=7)
        ax.set_xlim(-0.5, len(sets) - 0.5)
        ax.tick_params(axis="y", labelsize=7)
        if key == "jitter_ratio":
            ax.axhline(1.0, color="k", lw=0.6, ls="--")
    for ax in list(axes.flat)[len(BAR_KEYS):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    for ax in axes.flat:
        h, lab = ax.get_legend_handles_labels()
        if len(h) > len(handles):
            handles, labels = h, lab
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=80)
    plt.close(fig)


def contact_sheet(c: ClipResult, tile: int = 160) -> np.ndarray:
    """Face crops side by side: a row per sampled frame, columns real | each system.

    Returns:
        uint8 ``[H, W, 3]`` RGB image with a label row on top and the frame time on the left.
    """
    import cv2

    cols = ([("real", c.real_sheet)] if c.real_sheet else []) + [(run.system, run.sheet) for run in c.runs]
    idx = sorted(set().union(*(set(crops) for _, crops in cols))) if cols else []
    label_h, label_w = 22, 56
    h = label_h + tile * max(1, len(idx))
    w = label_w + tile * max(1, len(cols))
    sheet = np.full((h, w, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for j, (name, _) in enumerate(cols):
        cv2.putText(sheet, name, (label_w + j * tile + 4, 16), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    for i, k in enumerate(idx):
        y = label_h + i * tile
        cv2.putText(sheet, f"{k / c.fps:.2f}s", (3, y + tile // 2), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        for j, (_, crops) in enumerate(cols):
            if k in crops:
                sheet[y:y + tile, label_w + j * tile:label_w + (j + 1) * tile] = cv2.resize(
                    crops[k], (tile, tile), interpolation=cv2.INTER_AREA)
    return sheet


def write_report(result: BenchmarkResult, out: Path, plots: bool = True) -> dict[str, object]:
    """Write report.json, report.md and (with ``plots``) the plots into ``out`` (created if needed).

    Returns:
        The report dict (content of report.json).
    Raises:
        InputError: ``out`` cannot be created or written.
    """
    from talkinghead.media.image import save_png
    from talkinghead.types import InputError

    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if plots:
            (out / "curves").mkdir(exist_ok=True)
            (out / "sheets").mkdir(exist_ok=True)
    except OSError as e:
        raise InputError(f"{out}: cannot create the report folder ({e.strerror})") from e
    report = report_dict(result)
    try:
        _write_text(out / "report.json", json.dumps(report, indent=1, allow_nan=False, ensure_ascii=False) + "\n")
        _write_text(out / "report.md", report_markdown(report, plots=plots))
    except OSError as e:
        raise InputError(f"{out}: cannot write the report ({e.strerror})") from e
    if plots:
        plot_bars(report["summary"], result.systems, out / "bars.png")
        for c in result.clips:
            stem = f"{c.clip.set}__{c.clip.name}"
            plot_curves(c, out / "curves" / f"{stem}.png")
            save_png(out / "sheets" / f"{stem}.png", contact_sheet(c))
    return report
