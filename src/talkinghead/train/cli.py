"""Command line of ``talkinghead train``: training data, the learned motion model, the mouth bank, ONNX export.

Registered on the main command line (:mod:`talkinghead.cli`); nothing heavy is imported until a
command runs (PyTorch only for ``motion`` and ``export``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def _fail(message: str) -> None:
    from talkinghead.cli import _fail as fail  # the command line's one error exit

    fail(message)


train_app = typer.Typer(help="Build training data from talking videos and train the learned motion model (needs the 'train' extra: PyTorch).",
                        no_args_is_help=True)
@train_app.command("prepare")
def train_prepare(
    videos: Path = typer.Argument(..., help="Folder of talking-face videos (or one with a video/ subfolder; GRID align/ beside it gives transcripts)."),
    out: Path = typer.Argument(..., help="Output folder for the shards (resumable: existing shards are kept)."),
    workers: int = typer.Option(2, "--workers", help="Worker processes (MediaPipe takes about 10 ms per frame each)."),
    clips_per_shard: int = typer.Option(16, "--clips-per-shard", help="Clips per .npz shard."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N videos."),
) -> None:
    """Track landmarks, blendshapes and pose per frame, audio features and phones per clip; write shards."""

    from talkinghead.train.prepare import prepare
    from talkinghead.types import InputError

    try:
        s = prepare(videos, out, clips_per_shard, workers, limit)
    except InputError as e:
        _fail(str(e))
    typer.echo(json.dumps({k: v for k, v in s.items() if k != "errors"}) + f" errors: {len(s['errors'])}")


@train_app.command("augment")
def train_augment(
    videos: Path = typer.Argument(..., help="The folder the shards were prepared from (the clips' videos)."),
    data: Path = typer.Argument(..., help="Folder of shards from 'talkinghead train prepare'; aug_*.npz files are written beside them."),
    variants: int = typer.Option(5, "--variants", help="Altered copies of each training clip's speech."),
    seed: int = typer.Option(0, "--seed", help="Random seed (the copies are the same for a seed)."),
    workers: int = typer.Option(2, "--workers", help="Worker processes."),
) -> None:
    """Altered copies of the training speech (other voices, babble and noise, rooms, band limits) for 'train motion'."""
    from dataclasses import replace

    from talkinghead.train.augment import AugmentConfig, augment
    from talkinghead.types import InputError

    try:
        augment(videos, data, replace(AugmentConfig(), variants=variants, seed=seed), workers)
    except InputError as e:
        _fail(str(e))


@train_app.command("teacher")
def train_teacher(
    data: Path = typer.Argument(..., help="Folder of shards from 'talkinghead train prepare'; shard_tts_*.npz files are written beside them."),
    clips: int = typer.Option(1216, "--clips", help="Synthetic clips (about 0.05 s of work each)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (words, accents, voice variants, rates)."),
    model: Optional[Path] = typer.Option(None, "--model", help="The teacher's ONNX graph (default: the shipped model)."),
) -> None:
    """Synthetic training clips: eSpeak NG voices and accents saying random words, labelled by the learned model given their exact phones."""
    from talkinghead.train.teacher import make_teacher_data
    from talkinghead.types import InputError

    try:
        s = make_teacher_data(data, clips, seed, str(model) if model else None)
    except InputError as e:
        _fail(str(e))
    typer.echo(json.dumps(s))


@train_app.command("mouth-bank")
def train_mouth_bank(
    videos: Path = typer.Argument(..., help="The folder the shards were prepared from (GRID s1's videos)."),
    data: Path = typer.Argument(..., help="Folder of shards from 'talkinghead train prepare' (their tracked landmarks are used)."),
    out: Path = typer.Option(..., "-o", "--out", help="The atlas PNG to write; its geometry goes beside it as .json."),
    stride: int = typer.Option(3, "--stride", help="Use every N-th frame."),
    per_bin: int = typer.Option(240, "--per-bin", help="Most frames whose median makes one interior."),
) -> None:
    """Mean real mouth interiors by opening (training clips only), the renderer's mouth bank."""

    from talkinghead.train.mouth_bank import build_bank
    from talkinghead.types import InputError

    if stride < 1 or per_bin < 5:
        _fail("--stride must be >= 1 and --per-bin >= 5")
    try:
        s = build_bank(videos, data, out, stride=stride, per_bin=per_bin)
    except InputError as e:
        _fail(str(e))
    typer.echo(json.dumps(s))


@train_app.command("export")
def train_export(
    checkpoints: list[Path] = typer.Argument(..., help="Checkpoints written by 'talkinghead train motion' (.safetensors); several are exported as one graph that averages them."),
    out: Path = typer.Option(..., "-o", "--out", help="The ONNX file to write (what the product runs)."),
) -> None:
    """Export training checkpoints to the ONNX graph that inference runs (onnxruntime): one model, or the mean of several (an ensemble of seeds)."""
    from talkinghead.types import InputError

    try:
        from talkinghead.train.model import build_ensemble, export_onnx, load_checkpoint
    except ImportError as e:
        _fail(f"exporting needs PyTorch and onnx: pip install 'talkinghead[train]' ({e})")
    try:
        loaded = [load_checkpoint(c) for c in checkpoints]
    except InputError as e:
        _fail(str(e))
    model, meta = loaded[0]
    if len(loaded) > 1:
        try:
            model = build_ensemble([m for m, _ in loaded], [str(c) for c in checkpoints])
        except ValueError as e:
            _fail(str(e))
        # Each member's training record (its config is the graph's own; the checkpoint format is not the graph's).
        meta = {"members": json.dumps([{**{k: v for k, v in m.items() if k not in ("format", "config")},
                                        "checkpoint": c.name} for c, (_, m) in zip(checkpoints, loaded)])}
    from talkinghead.train.person import save_members

    members = out.with_name(out.stem + "_members.safetensors")
    try:
        export_onnx(model, out, meta)
        save_members([m for m, _ in loaded], members, meta)
    except OSError as e:
        _fail(f"{out}: cannot write the model ({e.strerror or e})")
    typer.echo(f"wrote {out} and {members.name} (the members' PyTorch weights, for 'talkinghead fit')")


@train_app.command("motion")
def train_motion(
    data: Path = typer.Option(..., "--data", help="Folder of shards from 'talkinghead train prepare'."),
    out: Path = typer.Option(..., "--out", help="Checkpoint to write (.safetensors, config inside); the kept network also goes to OUT with suffix .onnx."),
    device: str = typer.Option("cpu", "--device", help="Torch device, e.g. cpu or cuda."),
    steps: int = typer.Option(3000, "--steps", help="Optimisation steps."),
    batch: int = typer.Option(32, "--batch", help="Clips per step."),
    lr: float = typer.Option(2e-3, "--lr", help="Peak learning rate."),
    seed: int = typer.Option(0, "--seed", help="Random seed (training is deterministic for a seed)."),
    eval_every: int = typer.Option(200, "--eval-every", help="Steps between validations (the best one is kept)."),
    max_minutes: float = typer.Option(0.0, "--max-minutes", help="Stop after this many minutes (0 = no limit)."),
    threads: int = typer.Option(2, "--threads", help="CPU threads."),
    dim: int = typer.Option(64, "--dim", help="Channel width of the model's encoders and decoder."),
    vtln: bool = typer.Option(False, "--vtln", help="Vocal tract length normalisation: warp every clip's spectrum onto the training speech's formant scale (the model applies the same warp to any voice)."),
    vtln_strength: float = typer.Option(1.0, "--vtln-strength", min=0.0, max=1.0, help="With --vtln: how far toward the training speech's formant scale (1 all the way, 0.5 half, in log frequency)."),
    ppg: bool = typer.Option(False, "--ppg", help="The content encoder also reads a phone posteriorgram from pocketsphinx's many-speaker acoustic model (in training and at run time)."),
    mel: bool = typer.Option(True, "--mel/--no-mel", help="The content encoder reads the log-mel (--no-mel: only the posteriorgram of --ppg)."),
    w_phone: float = typer.Option(0.0, "--phone-loss", min=0.0, help="Weight of an auxiliary loss: the content encoder, on clips trained without phones, classifies each frame's aligned phone (0: none)."),
) -> None:
    """Train the learned audio-to-motion model on prepared shards (GRID split: never on validation/test clips)."""
    from dataclasses import replace

    from talkinghead.types import InputError

    try:
        from talkinghead.motion.learned import LearnedConfig
        from talkinghead.train.motion import TrainConfig, train
    except ImportError as e:
        _fail(f"training needs PyTorch: pip install 'talkinghead[train]' ({e})")
    if not (mel or ppg):
        _fail("--no-mel needs --ppg: the content encoder must read something")
    if dim < 4 or dim % 4:
        _fail(f"--dim must be a positive multiple of 4 (the attention heads), got {dim}")
    cfg = replace(TrainConfig(), steps=steps, batch=batch, lr=lr, seed=seed, eval_every=eval_every,
                  max_minutes=max_minutes, threads=threads, vtln=vtln, vtln_strength=vtln_strength,
                  w_phone=w_phone, ppg=ppg, log_mel=mel)
    try:
        s = train(data, out, cfg, model_cfg=LearnedConfig(dim=dim), device=device)
    except InputError as e:
        _fail(str(e))
    typer.echo(json.dumps(s))

