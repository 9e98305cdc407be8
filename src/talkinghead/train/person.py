"""The learned motion model adapted to one person from their own footage (``talkinghead fit``).

HM-Talker and DAMC reach their highest fidelity by learning one person from a few minutes of
their video; the shipped model learned one GRID speaker and reads other voices and faces less
well. ``fit`` therefore fine-tunes each member of the shipped ensemble (their PyTorch weights,
``assets/learned_motion_members.safetensors``, written by ``talkinghead train export`` beside the
graph) on the person's own speech and tracked landmarks, with the training losses of
:mod:`talkinghead.train.motion`, and exports the adapted ensemble as the same kind of ONNX graph.

Guard against a few minutes of footage teaching noise: part of the footage is held out (see
:func:`windows`), and each network keeps the weights (the shipped ones included, step 0) with
the best held-out mouth-opening r without phones, so no network of the fit reads the person's
held-out speech worse than the shipped one did (their average is not checked separately).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkinghead.types import AudioFeatures, InputError, PersonModel

#: Member weights of the shipped graph (for fine-tuning); same folder and stem as the ONNX file.
MEMBERS_FORMAT = "talkinghead-learned-motion-members/1"
WINDOW_S, HOP_S = 3.0, 1.0
#: Least footage (seconds, after the hold-out) worth adapting the motion to.
MIN_TRAIN_S = 12.0
#: Most training windows kept (evenly spread over the footage): 10 minutes of it, about 260 MB.
MAX_WINDOWS = 600


@dataclass(frozen=True)
class PersonClip:
    """One video of the person, ready to learn from.

    Attributes:
        features: 100 Hz audio features of its speech; ``active`` bool ``[T]`` voice activity.
        offsets: float32 ``[F, 478, 3]`` tracked face-normalised mesh minus the video's neutral
            (IOD units, as ``train prepare`` stores); blendshapes float32 ``[F, 52]``.
        found: bool ``[F]`` frames where a face was tracked (the rest interpolated).
        fps: video frames per second.
    """

    features: AudioFeatures
    active: np.ndarray
    offsets: np.ndarray
    blendshapes: np.ndarray
    found: np.ndarray
    fps: float


def person_clip(landmarks: np.ndarray, blendshapes: np.ndarray, fps: float, speech: object) -> PersonClip:
    """A :class:`PersonClip` from a tracked video and its speech.

    Args:
        landmarks: float32 ``[F, 478, 3]`` MediaPipe landmarks in pixels, NaN rows where no face.
        blendshapes: float32 ``[F, 52]`` (any values where no face).
        fps: frame rate (> 0).
        speech: the video's :class:`~talkinghead.types.Speech`.
    Raises:
        InputError: a face in fewer than two frames.
    """
    from talkinghead.audio.features import compute_features, speech_activity
    from talkinghead.train.prepare import interpolate_missing, mesh_offsets

    found = np.isfinite(landmarks[:, 0, 0])
    if found.sum() < 2:
        raise InputError("a face in fewer than two frames: nothing to learn the motion from")
    offsets = mesh_offsets(interpolate_missing(np.nan_to_num(landmarks), found))[0]
    feats = compute_features(speech)
    return PersonClip(feats, speech_activity(feats), offsets,
                      interpolate_missing(np.asarray(blendshapes, np.float32), found), found, float(fps))


def windows(clips: Sequence[PersonClip], vtln_reference_hz: float = 0.0,
            vtln_strength: float = 1.0, max_windows: int = MAX_WINDOWS, ppg: bool = False,
            log_mel: bool = True) -> tuple[object, object]:
    """Training and held-out :class:`~talkinghead.train.dataset.Dataset` of windows of up to :data:`WINDOW_S`.

    Held out: when every video is short (under two windows, like GRID's 3 s sentences) and there
    are five or more, every fifth video; otherwise the last fifth (at least :data:`WINDOW_S`) of
    each video. Each part is cut into windows starting every :data:`HOP_S` (training) or
    back to back (held out); a part's last window may be shorter, down to 80% of
    :data:`WINDOW_S`, and a part shorter than that (at least 1 s) is one window. Windows with a
    face in under 80% of their frames are skipped. A window's audio starts at its first video
    frame's time. Features are made as the model's configuration says (``vtln_*``, ``ppg``, ``log_mel``). At most
    ``max_windows`` training and as many held-out windows are kept, evenly spread (memory).

    Raises:
        InputError: under :data:`MIN_TRAIN_S` of footage in training windows, or no held-out window.
    """
    from talkinghead.motion.learned import phone_tokens
    from talkinghead.train.dataset import encoder_inputs, pack

    train: list[tuple] = []
    held: list[tuple] = []
    durations = [min(len(c.offsets) / c.fps, len(c.active) / 100.0) for c in clips]
    by_clip = len(clips) >= 5 and max(durations, default=0.0) < 2 * WINDOW_S
    covered = 0.0  # seconds of footage inside training windows
    for c, (clip, dur) in enumerate(zip(clips, durations)):
        if by_clip:
            parts = [(0.0, dur, held if c % 5 == 4 else train)]
        else:
            split = max(0.0, dur - max(WINDOW_S, 0.2 * dur))
            parts = [(0.0, split, train), (split, dur, held)]
        for p0, p1, out in parts:
            if p1 - p0 < 1.0:
                continue
            hop = WINDOW_S if out is held else HOP_S
            starts = np.arange(p0, max(p0, p1 - 0.8 * WINDOW_S) + 1e-6, hop)
            end = p0
            for t0 in starts:
                f0 = int(round(t0 * clip.fps))
                f1 = min(len(clip.offsets), int(round(min(t0 + WINDOW_S, p1) * clip.fps)))
                a0 = int(round(f0 / clip.fps * 100))
                a1 = min(len(clip.active), a0 + int(round((f1 - f0) / clip.fps * 100)))
                if f1 - f0 < 2 or a1 - a0 < 2 or clip.found[f0:f1].mean() < 0.8:
                    continue
                out.append((f"{c}:{t0:.1f}", clip.fps,
                            *encoder_inputs(clip.features.slice(a0, a1), clip.active[a0:a1], vtln_reference_hz,
                                            vtln_strength, ppg, log_mel),
                            phone_tokens((), a1 - a0), clip.blendshapes[f0:f1], clip.offsets[f0:f1]))
                if out is train:
                    covered += f1 / clip.fps - max(end, f0 / clip.fps)
                    end = f1 / clip.fps
    if not train or covered < MIN_TRAIN_S - 1e-6 or not held:
        raise InputError(f"too little footage with a face to adapt the motion to ({covered:.0f} s in training "
                         f"windows, {len(held)} held-out windows; need about {MIN_TRAIN_S / 0.8:.0f} s of talking)")

    def spread(w: list[tuple]) -> list[tuple]:
        return w if len(w) <= max_windows else [w[i] for i in np.linspace(0, len(w) - 1, max_windows).astype(int)]

    return pack(spread(train), vtln_reference_hz), pack(spread(held), vtln_reference_hz)


def members_path() -> Path:
    """The shipped members' weights (``assets/learned_motion_members.safetensors``, beside the graph)."""
    from importlib import resources

    return Path(str(resources.files("talkinghead") / "assets" / "learned_motion_members.safetensors"))


def save_members(models: Sequence[object], path: str | os.PathLike[str], meta: dict[str, str] | None = None) -> None:
    """Write the torch members of an ensemble (keys ``"{i}.{name}"``) with their config, atomically."""
    from safetensors.torch import save_file

    from talkinghead.media.files import atomic_path

    state = {f"{i}.{k}": v.detach().contiguous().clone() for i, m in enumerate(models) for k, v in m.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={**(meta or {}), "format": MEMBERS_FORMAT, "count": str(len(models)),
                                            "config": models[0].cfg.to_json()})


def load_members(path: str | os.PathLike[str] | None = None) -> list[object]:
    """The torch members written by :func:`save_members` (default: the shipped ones), in eval mode.

    Raises:
        InputError: missing or not a members file.
    """
    from safetensors import safe_open

    from talkinghead.motion.learned import LearnedConfig
    from talkinghead.train.model import build_model

    p = Path(path) if path is not None else members_path()
    if not p.is_file():
        raise InputError(f"{p}: the learned motion model's member weights are not installed")
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != MEMBERS_FORMAT:
                raise InputError(f"{p}: not a learned-motion members file")
            state = {k: f.get_tensor(k) for k in f.keys()}
        config = LearnedConfig.from_json(meta["config"])
        models = []
        for i in range(int(meta["count"])):
            m = build_model(config)
            m.load_state_dict({k.split(".", 1)[1]: v for k, v in state.items() if k.split(".", 1)[0] == str(i)})
            models.append(m.eval())
    except InputError:
        raise
    except Exception as e:  # safetensors' errors, bad JSON, a missing key, tensors of the wrong shape
        raise InputError(f"{p}: unreadable learned-motion members file ({type(e).__name__}: {e})") from e
    return models


@dataclass(frozen=True)
class FineTuned:
    """Result of :func:`fine_tune`: the adapted graph (ONNX bytes, what ``LearnedMotion.from_bytes`` loads)
    and its record (per member: held-out mouth r without phones before and after, the step kept)."""

    onnx: bytes
    record: dict[str, object]


def fine_tune(clips: Sequence[PersonClip], members: str | os.PathLike[str] | None = None, steps: int = 200,
              lr: float = 3e-4, batch: int = 16, eval_every: int = 25, seed: int = 0, threads: int = 2,
              progress: Callable[[int, int], None] | None = None) -> FineTuned:
    """Fine-tune each member of the learned motion model on one person's footage.

    Args:
        clips: the person's videos (:func:`person_clip`).
        members: the members' weights (None: the shipped ones).
        steps: optimisation steps per member (AdamW, cosine decay from ``lr``; the landmark bases stay).
        batch: windows per step; eval_every: steps between held-out checks.
        seed: random seed (deterministic on a CPU for the same threads).
        progress: called with (steps done, steps in all): first with 0 when the steps start.
    Returns:
        :class:`FineTuned`.
    Raises:
        InputError: too little footage (:func:`windows`), or member weights not installed.
    """
    import torch

    from talkinghead.train.model import build_ensemble, export_onnx
    from talkinghead.train.motion import TrainConfig, coefficient_targets, gap_projection, loss_terms, make_batch, validate

    t_start = time.perf_counter()
    threads_before = torch.get_num_threads()
    models = load_members(members)
    cfg0 = models[0].cfg
    train_ds, held_ds = windows(clips, cfg0.vtln_reference_hz, cfg0.vtln_strength,
                               ppg=cfg0.ppg, log_mel=cfg0.log_mel)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    cfg = TrainConfig(steps=steps, batch=batch, lr=lr, seed=seed, phone_dropout=1.0)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    record: dict[str, object] = {"train_windows": len(train_ds.names), "held_out_windows": len(held_ds.names),
                                 "steps": steps, "lr": lr, "members": []}
    total_steps, done = steps * len(models), 0
    if progress is not None:
        progress(0, total_steps)  # the windows are made: the steps start now
    for model in models:
        proj = gap_projection(model)
        tr_t, va_t = coefficient_targets(train_ds, model), coefficient_targets(held_ds, model)
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=cfg.weight_decay)
        start = validate(model, held_ds, cfg, proj, va_t, "cpu", without_phones=True)["mouth_r"]
        best = (start, 0, {k: v.detach().clone() for k, v in model.state_dict().items()})
        model.train()
        n = len(train_ds.names)
        for step in range(steps):
            idx = rng.choice(n, size=min(batch, n), replace=False)
            for g in opt.param_groups:
                g["lr"] = lr * 0.5 * (1.0 + np.cos(np.pi * step / steps))
            total, _, _ = loss_terms(model, make_batch(train_ds, idx, "cpu", tr_t, np.ones(len(idx), bool)), cfg, proj,
                                     gen, train=True)
            opt.zero_grad()
            total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            done += 1
            if progress is not None:
                progress(done, total_steps)
            if (step + 1) % eval_every == 0 or step == steps - 1:
                r = validate(model, held_ds, cfg, proj, va_t, "cpu", without_phones=True)["mouth_r"]
                if r > best[0]:
                    best = (r, step + 1, {k: v.detach().clone() for k, v in model.state_dict().items()})
        model.load_state_dict(best[2])
        model.eval()
        record["members"].append({"held_out_r_before": round(float(start), 4), "held_out_r_after": round(float(best[0]), 4),
                                  "step_kept": best[1]})
    torch.set_num_threads(threads_before)
    record["seconds"] = round(time.perf_counter() - t_start, 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "person_motion.onnx"
        export_onnx(build_ensemble(models), path, {"person_fine_tune": json.dumps(record)})
        data = path.read_bytes()
    return FineTuned(data, record)


def adapt(person: PersonModel, videos: Sequence[str | os.PathLike[str]], tracks: Sequence[tuple[np.ndarray, np.ndarray, float]],
          progress: bool = False) -> tuple[PersonModel, dict[str, object] | None, list[str]]:
    """``person`` with its motion model fine-tuned on the videos' speech and tracks (``fit_person(tracks=...)``).

    Returns:
        ``(person, record, notes)``: the person with ``motion_onnx`` set and the fine-tune's record
        (:class:`FineTuned`), or unchanged with record None when PyTorch is not installed or the
        footage is too short; ``notes`` say what was skipped and why (one line each).
    """
    import importlib.util
    from dataclasses import replace

    from talkinghead.media.audio import load_speech

    missing = [m for m in ("torch", "onnx") if importlib.util.find_spec(m) is None]
    if missing:
        return person, None, [f"motion not fine-tuned: it needs {' and '.join(missing)} "
                              "(pip install 'talkinghead[train]')"]
    notes, clips = [], []
    for video, (landmarks, blend, fps) in zip(videos, tracks, strict=True):
        try:
            clips.append(person_clip(landmarks, blend, fps, load_speech(video)))
        except InputError as e:
            notes.append(f"{video}: not used for the motion ({e})")
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=1, unit="step", desc="fitting motion", dynamic_ncols=True)

    def step(done: int, total: int) -> None:
        if bar is None:
            return
        if done == 0:  # the rate and the ETA count from the first step, not from loading the footage
            bar.reset(total=total)
        else:
            bar.update(done - bar.n)

    try:
        tuned = fine_tune(clips, progress=step)
    except InputError as e:
        return person, None, notes + [f"motion not fine-tuned: {e}"]
    finally:
        if bar is not None:
            bar.close()
    return replace(person, motion_onnx=np.frombuffer(tuned.onnx, np.uint8)), tuned.record, notes


def fit_with_motion(videos: Sequence[str | os.PathLike[str]], progress: bool = False,
                    motion: bool = True) -> tuple[PersonModel, dict[str, object] | None, list[str]]:
    """``talkinghead fit``: :func:`~talkinghead.person.model.fit_person` and, with ``motion``, :func:`adapt`.

    Returns:
        ``(person, record, notes)`` as :func:`adapt` (record None and no notes without ``motion``).
    Raises:
        InputError: as ``fit_person``.
    """
    from talkinghead.person.model import fit_person

    tracks: list[tuple[np.ndarray, np.ndarray, float]] = []
    person = fit_person(videos, progress=progress, tracks=tracks if motion else None)
    if not motion:
        return person, None, []
    return adapt(person, videos, tracks, progress=progress)
