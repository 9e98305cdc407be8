"""Training loop of the learned audio-to-motion model (:mod:`talkinghead.motion.learned`, torch: :mod:`.model`).

``talkinghead train motion --data data_cache/grid --out model.safetensors`` trains on the shards of
:mod:`talkinghead.train.prepare` (read by :mod:`talkinghead.train.dataset`).
The GRID split of :mod:`talkinghead.eval.datasets` is respected: GRID s1 test and
validation clips are never trained on; validation clips are used for model selection
(the checkpoint with the best mean validation mouth-opening correlation is kept: with phones,
without, and without on the validation clips' altered copies from ``train augment``, which
stand for voices and rooms the model has not heard).

Losses (on the face-normalised offsets, in units of 0.1 IOD; computed exactly in the fixed
orthonormal bases' coefficient space, see ``loss_terms``): landmark MSE with the lip branch
weighted above the rest; inner-lip gap MSE; velocity and acceleration MSE against jitter;
blendshape MSE for the explicit head. For part of every batch the fusion gets the
implicit latent of another clip (HM-Talker's random pairing).

With ``--vtln`` every clip's features, the altered copies' too, are first warped onto the
training clips' median formant scale (:mod:`talkinghead.audio.vtln`); the reference goes into
the model's configuration, so inference applies the same warp to any voice.

Seeded and deterministic on CPU (``torch.use_deterministic_algorithms``): the same data,
seed, step count and thread count give the same weights.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from talkinghead.eval.metrics import GAP_PAIRS, MOUTH, offset_opening, pearson
from talkinghead.motion.learned import PHONE_SET, LearnedConfig, default_lip_index
from talkinghead.train.dataset import Dataset, load_shards, split_names
from talkinghead.types import InputError


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (stored in the checkpoint metadata).

    Attributes:
        steps: optimisation steps.
        batch: clips per step.
        lr: peak learning rate (AdamW, cosine decay after 100 warm-up steps).
        weight_decay: AdamW weight decay.
        seed: random seed (initialisation, batches, dropout of phones, pairing).
        phone_dropout: share of clips trained without phones (UNK), so the model works without alignment
            (most users give no transcript, so half the batch trains that way).
        pair_prob: share of each batch whose implicit latent comes from another clip.
        w_face: weight of non-lip landmarks relative to lip landmarks.
        w_gap, w_vel, w_acc, w_blend: weights of the lip-gap, velocity, acceleration, blendshape losses.
        eval_every: steps between validations.
        max_minutes: stop early after this wall time (0 = no limit; breaks exact reproducibility).
        threads: torch CPU threads.
        w_phone: weight of an auxiliary loss (0: none): the content encoder's features of the clips
            trained without phones classify each frame's aligned phone (cross-entropy through a linear
            head used only in training), so that it reads the phones from the audio itself (the
            content encoder of DAMC, trained to predict phone posteriors from the log-mel).
        vtln: warp every clip's features onto the training clips' median formant scale (vocal
            tract length normalisation, :mod:`talkinghead.audio.vtln`); the model carries the
            reference and applies the same warp at run time; ``vtln_strength`` how far (0-1, in log
            frequency) toward the reference.
        ppg: the content encoder also reads a phone posteriorgram from pocketsphinx's many-speaker
            acoustic model (:mod:`talkinghead.audio.ppg`), in training and at run time; ``log_mel``
            False: instead of the log-mel (``ppg`` needed).
    """

    steps: int = 3000
    batch: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    phone_dropout: float = 0.5
    pair_prob: float = 0.25
    w_face: float = 0.3
    w_gap: float = 2.0
    w_vel: float = 1.0
    w_acc: float = 0.5
    w_blend: float = 1.0
    eval_every: int = 200
    max_minutes: float = 0.0
    threads: int = 2
    vtln: bool = False
    vtln_strength: float = 1.0
    w_phone: float = 0.0
    ppg: bool = False
    log_mel: bool = True


def pca_basis(x: np.ndarray, k: int, max_rows: int = 20000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and top-``k`` principal directions ``[k, D]`` (rows, orthonormal) of ``x [N, D]``."""
    rng = np.random.default_rng(seed)
    if len(x) > max_rows:
        x = x[rng.choice(len(x), max_rows, replace=False)]
    mean = x.mean(0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    basis = np.zeros((k, x.shape[1]), np.float32)
    basis[: min(k, len(vt))] = vt[:k]
    return mean.astype(np.float32), basis


def offset_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Landmark-space metrics of one clip's offsets (``[F, 478, 3]`` IOD units; the neutral cancels).

    mouth_r: Pearson r of the inner-lip gap curves; lmd: mean distance of the 40 lip-contour
    points (x, y) after removing each frame's mouth centroid (IOD); jitter_ratio: mean lip
    acceleration magnitude, predicted over real.
    """
    gp, gt = offset_opening(pred), offset_opening(true)
    m = list(MOUTH)
    p, t = pred[:, m, :2], true[:, m, :2]
    p = p - p.mean(1, keepdims=True)
    t = t - t.mean(1, keepdims=True)

    def acc(x: np.ndarray) -> float:
        return float(np.linalg.norm(x[2:] - 2 * x[1:-1] + x[:-2], axis=-1).mean()) if len(x) > 2 else 0.0

    return {"mouth_r": pearson(gp, gt, min_std=1e-12), "lmd": float(np.linalg.norm(p - t, axis=-1).mean()),
            "jitter_ratio": acc(pred[:, m, :2]) / max(acc(true[:, m, :2]), 1e-9)}


def loss_terms(model: object, batch: dict, cfg: TrainConfig, proj: dict, gen: object, train: bool,
               phone_head: object | None = None) -> tuple:
    """Total loss, its parts, and the predicted lip/non-lip coefficients.

    ``phone_head`` (training with ``cfg.w_phone`` > 0): the linear head of the auxiliary phone loss.

    The landmark bases are orthonormal and fixed, so the landmark, velocity and acceleration
    losses on the offsets equal (up to a constant: the targets' residual outside the bases)
    the same losses on the basis coefficients, which are much cheaper; the lip gap is a
    linear function of the lip coefficients (``proj["gap"]``).
    """
    import torch

    content_out: list | None = [] if phone_head is not None else None
    h = model.encode(batch["content"], batch["tokens"], batch["dynamics"], batch["index"], content_out)
    blend, latent = model.heads(h)
    if train and cfg.pair_prob > 0 and latent.shape[0] > 1:
        b = latent.shape[0]
        swap = torch.rand(b, generator=gen) < cfg.pair_prob
        perm = torch.randperm(b, generator=gen)
        latent = torch.where(swap[:, None, None], latent[perm], latent)
    cl, cf = model.coefficients(blend, latent)
    pred = torch.cat([cl, cfg.w_face ** 0.5 * cf], dim=-1) * 10.0  # units of 0.1 IOD
    true = torch.cat([batch["lip_c"], cfg.w_face ** 0.5 * batch["face_c"]], dim=-1) * 10.0
    m2 = batch["mask"].float()
    nf = m2.sum().clamp(min=1.0)
    l_lm = (((pred - true) ** 2).sum(-1) * m2).sum() / nf
    gap_p = (cl * 10.0) @ proj["gap"] + proj["gap0"]
    l_gap = (((gap_p - batch["gap"] * 10.0) ** 2) * m2).sum() / nf
    mv = m2[:, 1:] * m2[:, :-1]
    vel_p, vel_t = pred[:, 1:] - pred[:, :-1], true[:, 1:] - true[:, :-1]
    l_vel = (((vel_p - vel_t) ** 2).sum(-1) * mv).sum() / mv.sum().clamp(min=1)
    ma = mv[:, 1:] * mv[:, :-1]
    acc_p, acc_t = vel_p[:, 1:] - vel_p[:, :-1], vel_t[:, 1:] - vel_t[:, :-1]
    l_acc = (((acc_p - acc_t) ** 2).sum(-1) * ma).sum() / ma.sum().clamp(min=1)
    l_bl = (((blend - batch["blend"]) ** 2).mean(-1) * m2).sum() / nf
    total = l_lm + cfg.w_gap * l_gap + cfg.w_vel * l_vel + cfg.w_acc * l_acc + cfg.w_blend * l_bl
    parts = {"landmark": l_lm, "gap": l_gap, "vel": l_vel, "acc": l_acc, "blend": l_bl}
    if phone_head is not None:
        # Each frame's aligned phone (at its third 10 ms audio frame), scored on the clips without phone input.
        target = torch.gather(batch["true_tokens"], 1, batch["index"][:, :, 2])
        use = (batch["mask"] & batch["phone_drop"][:, None] & (target > 0)).reshape(-1)
        logits = phone_head(content_out[0]).reshape(-1, phone_head.out_features)
        l_ph = torch.nn.functional.cross_entropy(logits[use], target.reshape(-1)[use]) if bool(use.any()) \
            else logits.sum() * 0.0
        total = total + cfg.w_phone * l_ph
        parts["phone"] = l_ph
    return total, {k: float(v.detach()) for k, v in parts.items()}, (cl, cf)


def make_batch(ds: Dataset, idx: np.ndarray, device: str, targets: dict[str, np.ndarray],
           phone_drop: np.ndarray | None = None) -> dict:
    import torch

    tok = ds.tokens[idx].copy()
    true_tok = tok.copy()
    drop = np.zeros(len(idx), bool) if phone_drop is None else np.asarray(phone_drop, bool)
    tok[drop] = 0
    return {"true_tokens": torch.from_numpy(true_tok).to(device), "phone_drop": torch.from_numpy(drop).to(device),
            "content": torch.from_numpy(ds.content[idx]).to(device),
            "dynamics": torch.from_numpy(ds.dynamics[idx]).to(device),
            "tokens": torch.from_numpy(tok).to(device), "index": torch.from_numpy(ds.index[idx]).to(device),
            "blend": torch.from_numpy(ds.blend[idx]).to(device),
            "mask": torch.from_numpy(ds.mask[idx]).to(device),
            **{k: torch.from_numpy(v[idx]).to(device) for k, v in targets.items()}}


def coefficient_targets(ds: Dataset, model: object) -> dict[str, np.ndarray]:
    """Per-frame targets in basis space: lip ``[N, F, k_lip]``, non-lip ``[N, F, k_face]``, lip gap ``[N, F]`` (IOD)."""
    lip = model.lip_index.cpu().numpy()
    face = model.face_index.cpu().numpy()
    n, f = ds.offsets.shape[:2]
    out = {}
    for key, ix, mean, basis in (("lip_c", lip, model.lip_mean, model.lip_basis),
                                 ("face_c", face, model.face_mean, model.face_basis)):
        x = ds.offsets[:, :, ix].reshape(n, f, -1)
        out[key] = ((x - mean.cpu().numpy()) @ basis.cpu().numpy().T).astype(np.float32)
    out["gap"] = offset_opening(ds.offsets)
    out["gap"] = out["gap"].astype(np.float32)
    return out


def gap_projection(model: object) -> dict[str, object]:
    """The lip gap (x10) as a linear function of lip coefficients (x10): ``gap = c @ gap + gap0``."""
    import torch

    lip = model.lip_index.cpu().numpy().tolist()
    g = torch.zeros(len(lip), 3)
    for up, lo in GAP_PAIRS:
        g[lip.index(lo), 1] += 1.0 / len(GAP_PAIRS)
        g[lip.index(up), 1] -= 1.0 / len(GAP_PAIRS)
    g = g.reshape(-1).to(model.lip_basis.device)
    return {"gap": model.lip_basis @ g, "gap0": 10.0 * float(model.lip_mean @ g)}


def validate(model: object, ds: Dataset, cfg: TrainConfig, proj: dict, targets: dict[str, np.ndarray],
             device: str, without_phones: bool = False) -> dict[str, float]:
    """Validation loss and landmark metrics (means over clips), with or without phone input."""
    import torch

    model.eval()
    rows, losses = [], []
    with torch.no_grad():
        for s in range(0, len(ds.names), 64):
            idx = np.arange(s, min(len(ds.names), s + 64))
            drop = np.ones(len(idx), bool) if without_phones else None
            b = make_batch(ds, idx, device, targets, drop)
            total, _, (cl, cf) = loss_terms(model, b, cfg, proj, None, train=False)
            losses.append(float(total) * len(idx))
            off = np.zeros((len(idx), cl.shape[1], 478, 3), np.float32)
            off[:, :, model.lip_index.cpu().numpy()] = (cl @ model.lip_basis + model.lip_mean).cpu().numpy().reshape(
                len(idx), cl.shape[1], -1, 3)
            off[:, :, model.face_index.cpu().numpy()] = (cf @ model.face_basis + model.face_mean).cpu().numpy().reshape(
                len(idx), cl.shape[1], -1, 3)
            for j, i in enumerate(idx):
                f = int(ds.mask[i].sum())
                rows.append(offset_metrics(off[j, :f], ds.offsets[i, :f]))
    model.train()
    out = {"loss": sum(losses) / max(1, len(ds.names))}
    for k in rows[0] if rows else ():
        out[k] = float(np.mean([r[k] for r in rows]))
    return out


def train(data: Path, out: Path, cfg: TrainConfig = TrainConfig(), model_cfg: LearnedConfig | None = None,
          device: str = "cpu", log_path: Path | None = None, dataset: Dataset | None = None) -> dict[str, object]:
    """Train and write the best checkpoint (by validation mouth-opening r, mean of with and without phones) to ``out``.

    Args:
        data: folder of shards (ignored when ``dataset`` is given).
        out: ``.safetensors`` path of the kept checkpoint; ``OUT.last.safetensors`` holds the final
            weights and ``OUT.onnx`` the kept network exported for inference (what ships).
        cfg: training settings.
        model_cfg: model dimensions (default :class:`LearnedConfig` with :func:`default_lip_index`).
        device: torch device (``cpu``, ``cuda``...).
        log_path: JSON-lines log (default ``OUT.log.jsonl``).
        dataset: already loaded data (tests).
    Returns:
        Summary: parameters, steps, seconds, best validation metrics, first/last training loss.
    """
    import torch

    from talkinghead.train.model import build_model, export_onnx, load_checkpoint, save_checkpoint

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    ds = dataset if dataset is not None else load_shards(data, vtln=cfg.vtln, vtln_strength=cfg.vtln_strength, ppg=cfg.ppg, log_mel=cfg.log_mel)
    tr_i, va_i, vaug_i = split_names(ds.names)
    if not va_i:  # not GRID: hold out every 20th clip, by clip (with its altered copies)
        bases = sorted({ds.names[i].split("#")[0] for i in tr_i})
        held = set(bases[::20])
        va_i = [i for i in tr_i if ds.names[i] in held]
        tr_i = [i for i in tr_i if ds.names[i].split("#")[0] not in held]
    if not tr_i:
        raise InputError(f"{data}: no training clips after the split")
    train_ds, val_ds = ds.subset(tr_i), ds.subset(va_i)
    vaug_ds = ds.subset(vaug_i) if vaug_i else None
    mc = model_cfg or LearnedConfig(lip_index=default_lip_index())
    if not mc.lip_index:
        mc = replace(mc, lip_index=default_lip_index())
    mc = replace(mc, vtln_reference_hz=ds.vtln_reference_hz, vtln_strength=cfg.vtln_strength, ppg=cfg.ppg, log_mel=cfg.log_mel)
    model = build_model(mc)
    # Landmark bases from the training offsets (MoDiTalker's lip / non-lip split).
    frames = train_ds.offsets[train_ds.mask]
    lip = list(mc.lip_index)
    face = [i for i in range(478) if i not in set(lip)]
    lm, lb = pca_basis(frames[:, lip].reshape(len(frames), -1), mc.n_lip_basis, seed=cfg.seed)
    fm, fb = pca_basis(frames[:, face].reshape(len(frames), -1), mc.n_face_basis, seed=cfg.seed)
    with torch.no_grad():
        model.lip_mean.copy_(torch.from_numpy(lm))
        model.lip_basis.copy_(torch.from_numpy(lb))
        model.face_mean.copy_(torch.from_numpy(fm))
        model.face_basis.copy_(torch.from_numpy(fb))
    tr_t, va_t = coefficient_targets(train_ds, model), coefficient_targets(val_ds, model)
    vaug_t = coefficient_targets(vaug_ds, model) if vaug_ds is not None else None
    model.to(device)
    proj = gap_projection(model)
    params = list(model.parameters())
    phone_head = None
    if cfg.w_phone > 0:  # trained beside the model, not part of it (nor of its checkpoint or ONNX graph)
        phone_head = torch.nn.Linear(mc.dim, len(PHONE_SET)).to(device)
        params += list(phone_head.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)

    def lr_at(step: int) -> float:
        warm = min(1.0, (step + 1) / 100.0)
        return cfg.lr * warm * 0.5 * (1.0 + np.cos(np.pi * min(1.0, step / max(1, cfg.steps))))

    log_path = log_path or out.with_suffix(".log.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("w")
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    extra = {"train": json.dumps(asdict(cfg)), "data": str(data), "n_train": str(len(tr_i)), "n_val": str(len(va_i))}
    print(f"train: {len(tr_i)} clips, validation: {len(va_i)} clips, {n_params} parameters", file=sys.stderr)
    t0 = time.perf_counter()
    best: dict[str, object] = {"score": -2.0}
    first_loss = last_loss = float("nan")
    order = rng.permutation(len(tr_i))
    pos = 0
    step = 0
    for step in range(cfg.steps):
        if pos + cfg.batch > len(order):
            order, pos = rng.permutation(len(tr_i)), 0
        idx = order[pos:pos + min(cfg.batch, len(order))]
        pos += cfg.batch
        drop = rng.random(len(idx)) < cfg.phone_dropout
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        total, parts, _ = loss_terms(model, make_batch(train_ds, idx, device, tr_t, drop), cfg, proj, gen, train=True,
                                     phone_head=phone_head)
        opt.zero_grad()
        total.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        last_loss = float(total.detach())
        if step == 0:
            first_loss = last_loss
        rec = {"step": step, "loss": last_loss, **parts, "lr": lr_at(step), "s": round(time.perf_counter() - t0, 1)}
        if step % 50 == 0:
            print(json.dumps(rec), file=sys.stderr)
        log.write(json.dumps(rec) + "\n")
        done = step == cfg.steps - 1 or (cfg.max_minutes > 0 and time.perf_counter() - t0 > 60 * cfg.max_minutes)
        if (step + 1) % cfg.eval_every == 0 or done:
            v = validate(model, val_ds, cfg, proj, va_t, device)
            vn = validate(model, val_ds, cfg, proj, va_t, device, without_phones=True)
            va = validate(model, vaug_ds, cfg, proj, vaug_t, device, without_phones=True) if vaug_ds else None
            rec = {"step": step, "val": v, "val_no_phones": vn, "val_altered_no_phones": va,
                   "s": round(time.perf_counter() - t0, 1)}
            print(json.dumps(rec), file=sys.stderr)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            # Kept: the best mean validation mouth-opening r with phones, without, and without on the
            # altered copies (other voices, noise, rooms: how it carries over to unheard speakers).
            parts = [v["mouth_r"], vn["mouth_r"]] + ([va["mouth_r"]] if va else [])
            score = float(np.mean(parts))
            if score > best.get("score", -2.0):
                best = {**v, "no_phones": vn, "altered_no_phones": va, "score": score, "step": step}
                save_checkpoint(model.cpu(), out, {**extra, "step": str(step), "val": json.dumps(v),
                                                   "val_no_phones": json.dumps(vn),
                                                   "val_altered_no_phones": json.dumps(va)})
                model.to(device)
        if done:
            break
    save_checkpoint(model.cpu(), out.with_suffix(".last.safetensors"), {**extra, "step": str(step)})
    log.close()
    if "step" not in best:  # no validation score at all (NaN): keep the final weights
        save_checkpoint(model.cpu(), out, {**extra, "step": str(step)})
    # The kept checkpoint as the ONNX graph the product runs (OUT with the suffix .onnx).
    kept, kept_meta = load_checkpoint(out)
    export_onnx(kept, out.with_suffix(".onnx"), kept_meta)
    return {"parameters": n_params, "steps": step + 1, "seconds": round(time.perf_counter() - t0, 1),
            "best_val": best, "first_loss": first_loss, "last_loss": last_loss}
