"""Smoke test of the benchmark runner and `talkinghead eval` on one short GRID clip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from talkinghead.cli import app
from talkinghead.eval.scoring import Scores, score_names
from talkinghead.eval.systems import loudness_motion
from talkinghead.eval.datasets import GRID_S1_TEST
from talkinghead.eval.report import METRICS, REAL_ROW
from talkinghead.types import Speech


def test_loudness_motion_opens_only_the_jaw() -> None:
    sr = 16000
    x = np.zeros(sr, np.float32)
    x[sr // 2:] = 0.3 * np.sin(np.arange(sr // 2) * 0.1)
    m = loudness_motion(Speech(x, sr), 25.0, 25)
    assert m.au.shape == (25, len(m.au_names)) and m.landmark_offsets.shape == (25, 478, 3)
    jaw = m.curve("jawOpen")
    assert jaw[:10].max() == 0.0 and jaw[15:].min() > 0.9
    others = np.delete(m.au, m.au_names.index("jawOpen"), axis=1)
    assert not others.any() and not m.head_pose.any() and not m.blink.any()


def test_cli_rejects_unknown_system(shared_data: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["eval", "--systems", "still,nope", "--data", str(shared_data), "--out", str(tmp_path)])
    assert r.exit_code == 2
    assert "unknown system(s) nope" in r.output
    assert not (tmp_path / "report.json").exists()


def test_eval_command_writes_reports(shared_data: Path, tmp_path: Path) -> None:
    """One GRID clip (self-reenactment) and one portrait + speech pair (no ground truth)."""
    systems = ["still", "loudness", "rules", "learned"]
    out = tmp_path / "eval"
    r = CliRunner().invoke(app, ["eval", "--sets", "grid_test,cross", "--limit", "1", "--systems", ",".join(systems),
                                 "--data", str(shared_data), "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    report = json.loads((out / "report.json").read_text())
    meta = report["meta"]
    assert meta["systems"] == systems and meta["settings"]["sets"] == ["grid_test", "cross"]
    assert "commit" in meta and meta["settings"]["limit"] == 1
    assert report["dataset"]["grid_split"]["test"] == list(GRID_S1_TEST)
    pair = f"astronaut+{GRID_S1_TEST[3]}"
    assert report["dataset"]["clips"] == {"grid_test": [GRID_S1_TEST[0]], "cross": [pair]}
    rows = {row["system"]: row for row in report["clips"] if row["set"] == "grid_test"}
    assert set(rows) == {REAL_ROW, *systems}
    for system in systems:
        assert set(score_names(Scores)) <= set(rows[system]), system
        assert rows[system]["frames"] == 75 and rows[system]["face_rate"] == 1.0
    assert rows["still"]["mouth_r"] == 0.0 and rows["still"]["offset"] is None
    assert rows["loudness"]["mouth_r"] > 0.2  # a mouth that opens with the sound follows the real one somewhat
    assert rows["loudness"]["loudness_r"] > 0.8
    assert rows[REAL_ROW]["closure"] == 1.0  # the real speaker closes his lips on every bilabial
    curves = report["curves"][f"grid_test/{GRID_S1_TEST[0]}"]
    assert curves["fps"] == 25.0 and len(curves[REAL_ROW]) == 75 and len(curves["loudness"]) == 75
    assert all(len(curves[s]) == 75 for s in systems)
    summary = report["summary"]["grid_test"]
    assert set(summary) == {REAL_ROW, *systems}
    assert summary["loudness"]["clips"] == 1
    assert {m.key for m in METRICS} <= set(summary["loudness"])
    # the pair: no real video, only the metrics that need none
    cross = {row["system"]: row for row in report["clips"] if row["set"] == "cross"}
    assert set(cross) == set(systems)
    assert cross["loudness"]["mouth_r"] is None and cross["loudness"]["psnr"] is None
    assert cross["loudness"]["loudness_r"] > 0.8 and cross["loudness"]["jitter"] > 0
    assert cross["still"]["jitter"] < 1e-3 and cross["loudness"]["closure"] is not None
    assert REAL_ROW not in report["summary"]["cross"] and "all" not in report["summary"]
    md = (out / "report.md").read_text()
    assert "## grid_test (1 clips)" in md and "| loudness |" in md and "## Per clip: grid_test" in md
    assert "## cross (1 clips, no ground truth)" in md
    for stem in (f"grid_test__{GRID_S1_TEST[0]}.png", f"cross__{pair}.png"):
        for p in (f"curves/{stem}", f"sheets/{stem}"):
            assert (out / p).stat().st_size > 1000, p
    assert (out / "bars.png").stat().st_size > 1000


def test_dub_self_reconstruction_beats_one_shot_on_the_mouth_crop(shared_data: Path) -> None:
    """A GRID test clip's own video dubbed with its own speech (the s1 person model's mouths) vs
    one-shot generation from its first frame: the dubbed mouth crop is much closer to the real one."""
    from talkinghead.eval.benchmark import evaluate_clip
    from talkinghead.eval.reference import EvalConfig
    from talkinghead.eval.datasets import load_set

    clip = load_set("grid_test", shared_data, limit=1)[0]
    result = evaluate_clip(clip, EvalConfig(), ["learned", "dub"])
    runs = result.runs if isinstance(result.runs, dict) else {r.system: r for r in result.runs}
    dub, one_shot = runs["dub"].scores, runs["learned"].scores
    assert dub.frames == 75 and dub.face_rate == 1.0
    assert dub.mouth_r > 0.7
    assert dub.mouth_psnr > one_shot.mouth_psnr + 2 and dub.mouth_ssim > one_shot.mouth_ssim + 0.03
