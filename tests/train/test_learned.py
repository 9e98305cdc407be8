"""Learned audio-to-motion: shapes, checkpoint round trip, a tiny training run, shard format (synthetic data).

The ONNX export (what inference runs) against the torch model: tests/train/test_onnx_export.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from talkinghead.motion.learned import (  # noqa: E402
    BLENDSHAPE_NAMES,
    LearnedConfig,
    LearnedMotion,
    default_lip_index,
    dynamics_features,
    frame_index,
    learned_motion,
    phone_tokens,
)
from talkinghead.train.model import build_model, load_checkpoint, to_runtime  # noqa: E402
from talkinghead.types import AudioFeatures, InputError, PhoneSegment, PhoneSegments  # noqa: E402

TINY = LearnedConfig(dim=16, phone_dim=4, enc_layers=1, dec_layers=1, heads=2, attn_window=2, latent_dim=4,
                     n_lip_basis=4, n_face_basis=3)


def _features(t: int = 120, seed: int = 0) -> tuple[AudioFeatures, np.ndarray]:
    rng = np.random.default_rng(seed)
    energy = (-60 + 40 * (np.sin(np.arange(t) / 7.0) > 0)).astype(np.float32)
    f0 = np.where(energy > -30, 120.0, 0.0).astype(np.float32)
    feats = AudioFeatures(mel=rng.normal(-5, 2, (t, 80)).astype(np.float32), energy=energy, f0=f0,
                          formants=np.zeros((t, 2), np.float32))
    return feats, energy > -30


def _phones() -> PhoneSegments:
    return PhoneSegments((PhoneSegment("SIL", 0.0, 0.2), PhoneSegment("M", 0.2, 0.3), PhoneSegment("AA", 0.3, 0.9),
                          PhoneSegment("SIL", 0.9, 1.2)), source="alignment")


def test_input_features_shapes_and_tokens() -> None:
    feats, active = _features()
    dyn = dynamics_features(feats.energy, feats.f0, feats.formants, active)
    assert dyn.shape == (120, 8) and np.isfinite(dyn).all()
    tok = phone_tokens(_phones(), 120)
    assert tok[25] != tok[50] and tok[5] == tok[100]  # M vs AA; SIL at both ends
    assert (phone_tokens(PhoneSegments((), "none"), 120) == 0).all()
    idx = frame_index(30, 25.0, 120)
    assert idx.shape == (30, 4) and idx.min() >= 0 and idx.max() <= 119


def test_lip_index_splits_mouth_from_the_rest() -> None:
    lip = set(default_lip_index())
    assert {13, 14, 78, 308, 152}.issubset(lip)  # inner lips, corners, chin
    assert not {33, 263, 10}.intersection(lip)   # eye corners, forehead


def test_predict_shapes_and_motion_sequence() -> None:
    cfg = replace(TINY, lip_index=default_lip_index())
    torch.manual_seed(0)
    model = build_model(cfg)
    lm = to_runtime(model.eval(), {"note": "test"})
    assert lm.meta["note"] == "test" and LearnedConfig.from_json(lm.meta["config"]) == cfg
    feats, active = _features()
    a = lm.predict(feats, _phones(), active, 25.0, 30)
    assert a[0].shape == (30, 52) and a[1].shape == (30, 478, 3)
    seq = learned_motion(lm, feats, PhoneSegments((), "none"), active, 1.2)
    assert seq.num_frames == 30 and seq.au_names == BLENDSHAPE_NAMES and seq.source == "learned"
    assert seq.landmark_offsets.shape == (30, 478, 3) and seq.head_pose.shape == (30, 6)


def test_vtln_model_warps_every_voice_onto_its_reference() -> None:
    """A model carrying a formant reference runs on the warped features; one without runs on them as given."""
    from talkinghead.audio.vtln import formant_scale, warp_factor, warp_features

    cfg = replace(TINY, lip_index=default_lip_index())
    torch.manual_seed(0)
    plain = build_model(cfg).eval()
    feats, active = _features()
    rng = np.random.default_rng(1)
    feats = replace(feats, formants=np.stack([rng.uniform(400, 600, 120), rng.uniform(1500, 2200, 120)], 1)
                    .astype(np.float32) * active[:, None])
    reference = 0.9 * formant_scale(feats, active)
    normed = build_model(replace(cfg, vtln_reference_hz=reference)).eval()
    normed.load_state_dict(plain.state_dict())
    a, b = to_runtime(plain), to_runtime(normed)
    factor = warp_factor(feats, active, reference)
    assert abs(factor - 0.9) < 1e-5
    want = a.predict(warp_features(feats, factor), _phones(), active, 25.0, 30)
    got = b.predict(feats, _phones(), active, 25.0, 30)
    assert np.allclose(got[1], want[1], atol=1e-5) and np.allclose(got[0], want[0], atol=1e-5)
    assert not np.allclose(a.predict(feats, _phones(), active, 25.0, 30)[0], got[0], atol=1e-5)  # the warp matters


def test_bad_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_checkpoint(tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(InputError):
        load_checkpoint(bad)


def _synthetic_dataset(n: int = 12, f: int = 20, seed: int = 0) -> object:
    """Clips whose mouth opening follows a loudness square wave (learnable from dynamics)."""
    from talkinghead.train.dataset import Dataset

    rng = np.random.default_rng(seed)
    t = f * 4
    content = rng.normal(0, 1, (n, t, 80)).astype(np.float32)
    energy = np.zeros((n, t), np.float32)
    offsets = np.zeros((n, f, 478, 3), np.float32)
    for i in range(n):
        on = (np.sin(np.arange(t) / (3.0 + i % 3)) > 0).astype(np.float32)
        energy[i] = -60 + 40 * on
        for j in (14, 17, 87, 178, 317, 402):
            offsets[i, :, j, 1] = 0.1 * on[::4]
    dyn = np.stack([dynamics_features(energy[i], np.zeros(t), np.zeros((t, 2)), energy[i] > -30) for i in range(n)])
    return Dataset(names=[f"c{i}" for i in range(n)], content=content, dynamics=dyn,
                   tokens=np.zeros((n, t), np.int64), index=np.stack([frame_index(f, 25.0, t)] * n),
                   blend=np.full((n, f, 52), 0.1, np.float32), offsets=offsets, mask=np.ones((n, f), bool))


def test_training_reduces_loss_and_writes_a_loadable_checkpoint(tmp_path: Path) -> None:
    from talkinghead.train.motion import TrainConfig, train

    out = tmp_path / "model.safetensors"
    cfg = TrainConfig(steps=2, batch=8, lr=5e-3, eval_every=1, threads=1, seed=0)
    s = train(tmp_path, out, cfg, model_cfg=TINY, dataset=_synthetic_dataset())
    assert s["steps"] == 2 and s["last_loss"] < s["first_loss"]
    assert out.is_file() and out.with_suffix(".last.safetensors").is_file()
    assert (tmp_path / "model.log.jsonl").is_file() and out.with_suffix(".onnx").is_file()
    lm = LearnedMotion.from_file(out.with_suffix(".onnx"))
    feats, active = _features()
    _, off = lm.predict(feats, PhoneSegments((), "none"), active, 25.0, 30)
    assert off.shape == (30, 478, 3) and np.isfinite(off).all()


def test_training_is_deterministic(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from talkinghead.train.motion import TrainConfig, train

    cfg = TrainConfig(steps=2, batch=8, eval_every=10, threads=1, seed=1)
    ds = _synthetic_dataset()
    train(tmp_path, tmp_path / "a.safetensors", cfg, model_cfg=TINY, dataset=ds)
    train(tmp_path, tmp_path / "b.safetensors", cfg, model_cfg=TINY, dataset=ds)
    a, b = load_file(str(tmp_path / "a.last.safetensors")), load_file(str(tmp_path / "b.last.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_phone_loss_trains_a_head_beside_the_model_and_leaves_its_checkpoint_unchanged(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from talkinghead.motion.learned import PHONE_SET
    from talkinghead.train.motion import TrainConfig, loss_terms, make_batch, train

    ds = _synthetic_dataset()
    t = ds.tokens.shape[1]
    ds.tokens[:] = np.where(np.arange(t) % 40 < 20, PHONE_SET.index("AA"), PHONE_SET.index("M"))[None]
    cfg = TrainConfig(steps=2, batch=8, eval_every=10, threads=1, seed=0, w_phone=0.5)
    s = train(tmp_path, tmp_path / "p.safetensors", cfg, model_cfg=TINY, dataset=ds)
    assert np.isfinite(s["last_loss"])
    plain = load_file(str(tmp_path / "p.last.safetensors"))
    base = build_model(replace(TINY, lip_index=default_lip_index()))
    assert set(plain) == set(base.state_dict())  # the head is not part of the model
    # The phone term is scored only on clips without phone input, and it is a cross-entropy over the phone set.
    from talkinghead.train.motion import coefficient_targets, gap_projection

    model = build_model(replace(TINY, lip_index=default_lip_index()))
    head = torch.nn.Linear(TINY.dim, len(PHONE_SET))
    targets, proj = coefficient_targets(ds, model), gap_projection(model)
    idx = np.arange(4)
    _, parts, _ = loss_terms(model, make_batch(ds, idx, "cpu", targets, np.ones(4, bool)), cfg, proj, None, False,
                             phone_head=head)
    assert 0.5 * np.log(len(PHONE_SET)) < parts["phone"] < 3 * np.log(len(PHONE_SET))
    _, parts, _ = loss_terms(model, make_batch(ds, idx, "cpu", targets, np.zeros(4, bool)), cfg, proj, None, False,
                             phone_head=head)
    assert parts["phone"] == 0.0


def test_offset_metrics_perfect_prediction() -> None:
    from talkinghead.train.motion import offset_metrics

    rng = np.random.default_rng(0)
    true = rng.normal(0, 0.01, (20, 478, 3)).astype(np.float32)
    m = offset_metrics(true, true)
    assert m["mouth_r"] == pytest.approx(1.0) and m["lmd"] == pytest.approx(0.0)
    assert m["jitter_ratio"] == pytest.approx(1.0)


def test_shipped_weights_load_and_predict() -> None:
    from talkinghead.motion.learned import default_weights, learned_available

    if default_weights() is None:
        pytest.skip("no learned weights shipped in assets/")
    assert learned_available()
    lm = LearnedMotion.from_file()
    assert LearnedMotion.from_file() is lm  # cached
    feats, active = _features(t=300)
    seq = learned_motion(lm, feats, _phones(), active, 3.0)
    assert seq.num_frames == 75 and np.isfinite(seq.landmark_offsets).all()
    assert 0.0 < float(np.abs(seq.landmark_offsets).max()) < 0.5  # IOD units: moves, but plausibly


def test_stream_applies_the_vtln_warp_as_offline(shared_data: Path) -> None:
    """A VTLN model streamed over JFK follows its own offline motion, and not the unwarped model's."""
    from talkinghead.analysis import analyse_speech
    from talkinghead.audio.vtln import formant_scale
    from talkinghead.media.audio import load_speech
    from talkinghead.motion.rules import MotionConfig
    from talkinghead.motion.streaming import STREAM_RATE, StreamingMotion

    speech = load_speech(shared_data / "audio" / "whisper_jfk.flac", STREAM_RATE)
    a = analyse_speech(speech, None, "acoustic")
    cfg = replace(TINY, lip_index=default_lip_index())
    torch.manual_seed(0)
    plain = build_model(cfg).eval()
    normed = build_model(replace(cfg, vtln_reference_hz=0.85 * formant_scale(a.features, a.active))).eval()
    normed.load_state_dict(plain.state_dict())
    curves = {}
    for name, model in (("plain", to_runtime(plain)), ("vtln", to_runtime(normed))):
        st = StreamingMotion(model, MotionConfig(fps=25.0))
        frames = []
        for i in range(0, len(speech.samples), 320):
            frames += st.push(speech.samples[i:i + 320])
        frames += st.finish()
        curves[name] = np.stack([f.au for f in frames]).sum(1)
    offline = learned_motion(to_runtime(normed), a.features, a.phones, a.active, speech.duration_s, MotionConfig(fps=25.0))
    want = offline.au.sum(1)
    n = min(len(want), len(curves["vtln"]))
    r_vtln = np.corrcoef(curves["vtln"][:n], want[:n])[0, 1]
    r_plain = np.corrcoef(curves["plain"][:n], want[:n])[0, 1]
    assert r_vtln > 0.5 and r_vtln > r_plain + 0.3, (r_vtln, r_plain)  # an untrained net: 0.71 vs 0.11
