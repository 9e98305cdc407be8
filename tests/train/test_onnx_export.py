"""The ONNX export of the learned motion model (what inference runs) against the torch model it comes from."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from talkinghead.motion.learned import (  # noqa: E402
    ONNX_FORMAT,
    PHONE_SET,
    LearnedConfig,
    LearnedMotion,
    content_features,
    default_lip_index,
    default_weights,
    dynamics_features,
    READ_AHEAD_S,
    frame_index,
    phone_tokens,
)
from talkinghead.train.model import build_ensemble, build_model, export_onnx, load_checkpoint, save_checkpoint, to_runtime  # noqa: E402
from talkinghead.types import AudioFeatures, PhoneSegment, PhoneSegments  # noqa: E402

#: Tolerance onnxruntime vs torch (float32 both; measured differences are about 1e-7 on offsets, 1e-6 on blendshapes).
ATOL = 1e-4


def _torch_predict(model: object, features: AudioFeatures, phones: PhoneSegments, active: np.ndarray, fps: float,
                   num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The torch model on exactly the inputs :meth:`LearnedMotion.predict` builds."""
    t = features.num_frames
    cont = content_features(features.mel, ppg=model.cfg.ppg, log_mel=model.cfg.log_mel)
    dyn = dynamics_features(features.energy, features.f0, features.formants, active)
    tok = phone_tokens(phones, t, features.frame_rate)
    idx = frame_index(num_frames, fps, t, features.frame_rate, READ_AHEAD_S)
    with torch.inference_mode():
        blend, off = model(torch.from_numpy(cont)[None], torch.from_numpy(tok)[None], torch.from_numpy(dyn)[None],
                           torch.from_numpy(idx)[None])
    return blend[0].numpy(), off[0].numpy()


def _randomised(cfg: LearnedConfig, seed: int = 0) -> object:
    """A model of ``cfg`` with every parameter and buffer (norm affines, bases, means) randomised."""
    torch.manual_seed(seed)
    model = build_model(replace(cfg, lip_index=default_lip_index())).eval()
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.add_(0.2 * torch.randn_like(p))
        for _, b in model.named_buffers():
            if b.is_floating_point():
                b.copy_(0.05 * torch.randn_like(b))
    return model


def _random_input(t: int, seed: int) -> tuple[AudioFeatures, PhoneSegments, np.ndarray]:
    rng = np.random.default_rng(seed)
    energy = rng.uniform(-80, -10, t).astype(np.float32)
    f0 = np.where(rng.random(t) > 0.4, rng.uniform(80, 300, t), 0.0).astype(np.float32)
    formants = np.stack([rng.uniform(300, 900, t), rng.uniform(900, 2500, t)], 1).astype(np.float32)
    feats = AudioFeatures(mel=rng.normal(-6, 3, (t, 80)).astype(np.float32), energy=energy, f0=f0, formants=formants)
    bounds = np.sort(rng.uniform(0, t / 100.0, 2 * max(1, t // 15)))
    segs = tuple(PhoneSegment(str(rng.choice(PHONE_SET[1:])), float(a), float(b))
                 for a, b in zip(bounds[::2], bounds[1::2]))
    return feats, PhoneSegments(segs, "alignment"), energy > -45


@pytest.mark.parametrize(("t", "fps", "frames", "seed"), [(300, 25.0, 75, 0), (1234, 30.0, 370, 1), (257, 24.0, 62, 2),
                                                         (40, 25.0, 3, 3), (500, 29.97, 151, 4)])
def test_export_equals_torch_at_any_length(t: int, fps: float, frames: int, seed: int) -> None:
    """Audio and video lengths other than the export's example (dynamic axes), with and without phones."""
    model = _randomised(LearnedConfig(), seed)
    lm = to_runtime(model)
    feats, phones, active = _random_input(t, seed)
    for ph in (phones, PhoneSegments((), "none")):
        bn, on = lm.predict(feats, ph, active, fps, frames)
        bt, ot = _torch_predict(model, feats, ph, active, fps, frames)
        assert bn.dtype == np.float32 and on.dtype == np.float32
        assert bn.shape == (frames, 52) and on.shape == (frames, 478, 3)
        assert float(np.abs(on - ot).max()) < ATOL
        assert float(np.abs(bn - bt).max()) < ATOL
        assert float(np.abs(on).max()) > 0.01  # the comparison is not between two near-zero outputs


def test_read_ahead_shifts_the_motion_in_time() -> None:
    """Reading 0.04 s ahead at 25 fps shows each frame the motion of the next one (away from the ends;
    not bit-exact: the encoders' group norms take their statistics over the whole utterance)."""
    lm = to_runtime(_randomised(LearnedConfig(), 5))
    feats, phones, active = _random_input(1200, 5)
    _, ahead = lm.predict(feats, phones, active, 25.0, 300, read_ahead_s=0.04)
    _, now = lm.predict(feats, phones, active, 25.0, 300, read_ahead_s=0.0)
    shifted = float(np.abs(ahead[60:240] - now[61:241]).mean())
    assert shifted < 0.01 * float(np.abs(ahead[60:240] - now[60:240]).mean())
    assert shifted < 0.01 * float(np.abs(now).mean())


@pytest.mark.parametrize("cfg", [
    LearnedConfig(dim=16, phone_dim=4, enc_layers=1, dec_layers=1, heads=2, attn_window=2, latent_dim=4,
                  n_lip_basis=4, n_face_basis=3),
    LearnedConfig(dim=32, phone_dim=8, enc_layers=4, dec_layers=2, heads=8, attn_window=9, latent_dim=8,
                  n_lip_basis=6, n_face_basis=5),
    LearnedConfig(dim=16, phone_dim=4, enc_layers=1, dec_layers=1, heads=2, attn_window=2, latent_dim=4,
                  n_lip_basis=4, n_face_basis=3, ppg=True),  # log-mel + phone posteriorgram (122 channels)
    LearnedConfig(dim=16, phone_dim=4, enc_layers=1, dec_layers=1, heads=2, attn_window=2, latent_dim=4,
                  n_lip_basis=4, n_face_basis=3, ppg=True, log_mel=False),  # posteriorgram only (42)
])
def test_export_equals_torch_for_other_dimensions(cfg: LearnedConfig) -> None:
    model = _randomised(cfg)
    lm = to_runtime(model)
    assert lm.config == model.cfg
    feats, phones, active = _random_input(420, 7)
    bn, on = lm.predict(feats, phones, active, 25.0, 105)
    bt, ot = _torch_predict(model, feats, phones, active, 25.0, 105)
    assert float(np.abs(on - ot).max()) < ATOL and float(np.abs(bn - bt).max()) < ATOL


def test_checkpoint_round_trip_and_export_metadata(tmp_path: Path) -> None:
    model = _randomised(LearnedConfig(dim=16, phone_dim=4, enc_layers=2, dec_layers=1, heads=2, latent_dim=4,
                                      n_lip_basis=4, n_face_basis=3))
    save_checkpoint(model, tmp_path / "m.safetensors", {"step": "7"})
    loaded, meta = load_checkpoint(tmp_path / "m.safetensors")
    assert meta["step"] == "7"
    export_onnx(loaded, tmp_path / "m.onnx", {"step": meta["step"]})
    lm = LearnedMotion.from_file(tmp_path / "m.onnx")
    assert lm.meta["format"] == ONNX_FORMAT and lm.meta["step"] == "7" and lm.config == model.cfg
    feats, phones, active = _random_input(300, 1)
    bn, on = lm.predict(feats, phones, active, 25.0, 75)
    bt, ot = _torch_predict(model, feats, phones, active, 25.0, 75)
    assert float(np.abs(on - ot).max()) < ATOL and float(np.abs(bn - bt).max()) < ATOL


def test_ensemble_export_is_the_mean_of_its_members(tmp_path: Path) -> None:
    cfg = LearnedConfig(dim=16, phone_dim=4, enc_layers=2, dec_layers=1, heads=2, latent_dim=4, n_lip_basis=4,
                        n_face_basis=3)
    members = [_randomised(cfg, seed) for seed in (0, 1, 2)]
    export_onnx(build_ensemble(members), tmp_path / "e.onnx", {"members": "3"})
    lm = LearnedMotion.from_file(tmp_path / "e.onnx")
    feats, phones, active = _random_input(400, 5)
    be, oe = lm.predict(feats, phones, active, 25.0, 100)
    each = [_torch_predict(m, feats, phones, active, 25.0, 100) for m in members]
    assert float(np.abs(oe - np.mean([o for _, o in each], 0)).max()) < ATOL
    assert float(np.abs(be - np.mean([b for b, _ in each], 0)).max()) < ATOL
    assert float(np.abs(each[0][1] - each[1][1]).max()) > 100 * ATOL  # the members do differ
    with pytest.raises(ValueError, match="configuration"):
        build_ensemble([members[0], _randomised(replace(cfg, dim=8, heads=2))])


def test_shipped_model_runs_on_real_speech() -> None:
    from talkinghead.audio.features import compute_features, speech_activity
    from talkinghead.eval.datasets import default_data_root
    from talkinghead.media.audio import load_speech

    path = default_weights()
    root = default_data_root()
    if path is None or root is None or not (root / "audio" / "musetalk_eng.wav").is_file():
        pytest.skip("no shipped model or shared data not available")
    lm = LearnedMotion.from_file(path)
    assert lm.meta["format"] == ONNX_FORMAT and lm.config.lip_index == default_lip_index()
    speech = load_speech(root / "audio" / "musetalk_eng.wav")
    feats = compute_features(speech)
    active = speech_activity(feats)
    frames = int(round(speech.duration_s * 25.0))
    bn, on = lm.predict(feats, PhoneSegments((), "none"), active, 25.0, frames)
    assert on.shape == (frames, 478, 3) and np.isfinite(on).all() and np.isfinite(bn).all()
    assert 0.0 <= float(bn.min()) and float(bn.max()) <= 1.0
    assert float(np.abs(on).max()) > 0.01


def test_train_export_writes_one_graph_for_several_checkpoints(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from talkinghead.cli import app

    cfg = LearnedConfig(dim=16, phone_dim=4, enc_layers=2, dec_layers=1, heads=2, latent_dim=4, n_lip_basis=4,
                        n_face_basis=3)
    for seed in (0, 1):
        save_checkpoint(_randomised(cfg, seed), tmp_path / f"s{seed}.safetensors", {"step": str(seed)})
    save_checkpoint(_randomised(replace(cfg, dim=8)), tmp_path / "other.safetensors")
    r = CliRunner().invoke(app, ["train", "export", str(tmp_path / "s0.safetensors"), str(tmp_path / "s1.safetensors"),
                                 "-o", str(tmp_path / "e.onnx")])
    assert r.exit_code == 0, r.output
    members = json.loads(LearnedMotion.from_file(tmp_path / "e.onnx").meta["members"])
    assert [m["checkpoint"] for m in members] == ["s0.safetensors", "s1.safetensors"]
    assert [m["step"] for m in members] == ["0", "1"]
    r = CliRunner().invoke(app, ["train", "export", str(tmp_path / "s0.safetensors"),
                                 str(tmp_path / "other.safetensors"), "-o", str(tmp_path / "x.onnx")])
    assert r.exit_code != 0 and "configuration" in r.output and not (tmp_path / "x.onnx").exists()
