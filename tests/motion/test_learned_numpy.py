"""The learned motion path without torch: numpy inference on real speech, chunking, no torch import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("safetensors")

from talkinghead.motion import learned as L  # noqa: E402
from talkinghead.types import AudioFeatures, InputError, PhoneSegment, PhoneSegments  # noqa: E402


def _shipped() -> L.LearnedMotion:
    if L.default_weights() is None:
        pytest.skip("no learned weights shipped in assets/")
    return L.LearnedMotion.from_file()


def _mouth_gap(offsets: np.ndarray) -> np.ndarray:
    """Inner-lip gap per frame (IOD units) from landmark offsets ``[F, 478, 3]``."""
    from talkinghead.eval.metrics import GAP_PAIRS

    return np.mean([offsets[:, lo, 1] - offsets[:, up, 1] for up, lo in GAP_PAIRS], axis=0)


def test_import_and_inference_do_not_need_torch() -> None:
    code = (
        "import sys\n"
        "sys.modules['torch'] = None  # any 'import torch' now fails\n"
        "import numpy as np\n"
        "from talkinghead.motion.learned import LearnedMotion, default_weights, learned_available, learned_motion\n"
        "from talkinghead.types import AudioFeatures, PhoneSegments\n"
        "t = 200\n"
        "e = (-60 + 40 * (np.sin(np.arange(t) / 7.0) > 0)).astype(np.float32)\n"
        "f = AudioFeatures(mel=np.zeros((t, 80), np.float32), energy=e, f0=np.zeros(t, np.float32),\n"
        "                  formants=np.zeros((t, 2), np.float32))\n"
        "if default_weights() is not None:\n"
        "    assert learned_available()\n"
        "    seq = learned_motion(LearnedMotion.from_file(), f, PhoneSegments((), 'none'), e > -30, 2.0)\n"
        "    assert seq.landmark_offsets.shape == (50, 478, 3)\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr
    r = subprocess.run([sys.executable, "-c", "import sys, talkinghead.motion.learned; print('torch' in sys.modules)"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr


def test_chunked_audio_stage_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of the 100 Hz stage and of the landmark expansion do not change the result (long inputs)."""
    lm = _shipped()
    rng = np.random.default_rng(0)
    t = 700
    e = rng.uniform(-70, -10, t).astype(np.float32)
    feats = AudioFeatures(mel=rng.normal(-6, 3, (t, 80)).astype(np.float32), energy=e,
                          f0=np.where(e > -40, 150.0, 0.0).astype(np.float32), formants=np.zeros((t, 2), np.float32))
    phones = PhoneSegments((PhoneSegment("M", 1.0, 1.2), PhoneSegment("AA", 1.2, 2.0)), "alignment")
    b1, o1 = lm.predict(feats, phones, e > -40, 25.0, 175)
    monkeypatch.setattr(L, "_CHUNK_100HZ", 37)
    monkeypatch.setattr(L, "_CHUNK_FRAMES", 11)
    b2, o2 = lm.predict(feats, phones, e > -40, 25.0, 175)
    np.testing.assert_allclose(o2, o1, atol=1e-6)
    np.testing.assert_allclose(b2, b1, atol=1e-6)


def test_bad_weights_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        L.LearnedMotion.from_file(tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(InputError):
        L.read_checkpoint(bad)


@pytest.mark.slow
def test_learned_mouth_follows_the_rule_path_on_a_grid_clip() -> None:
    from talkinghead.audio.features import compute_features, speech_activity
    from talkinghead.audio.phones import align_transcript
    from talkinghead.eval.datasets import default_data_root, read_align
    from talkinghead.media.audio import load_speech
    from talkinghead.motion.rules import rule_motion

    root = default_data_root()
    name = "bbaf2n"
    if root is None or not (root / "grid" / "s1" / "video" / f"{name}.mp4").is_file():
        pytest.skip("GRID s1 not available")
    lm = _shipped()
    speech = load_speech(root / "grid" / "s1" / "video" / f"{name}.mp4")
    words = read_align(root / "grid" / "s1" / "align" / f"{name}.align")
    phones = align_transcript(speech, " ".join(w.word for w in words))
    feats = compute_features(speech)
    active = speech_activity(feats)
    learned = L.learned_motion(lm, feats, phones, active, speech.duration_s)
    rules = rule_motion(feats, phones, active, speech.duration_s)
    assert learned.source == "learned" and learned.num_frames == rules.num_frames
    assert learned.au_names == L.BLENDSHAPE_NAMES and learned.au.shape == (learned.num_frames, 52)
    assert learned.landmark_offsets.dtype == np.float32 and np.isfinite(learned.landmark_offsets).all()
    gap_l, gap_r = _mouth_gap(learned.landmark_offsets), _mouth_gap(rules.landmark_offsets)
    r = float(np.corrcoef(gap_l, gap_r)[0, 1])
    print(f"mouth-opening correlation learned vs rules on {name}: {r:.3f}")
    assert r > 0.5
    assert gap_l.max() > 0.02  # the mouth opens (IOD units)
