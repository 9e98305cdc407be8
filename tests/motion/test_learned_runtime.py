"""The learned motion path without torch: onnxruntime inference on real speech, no torch import, clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from talkinghead.motion import learned as L  # noqa: E402
from talkinghead.types import InputError  # noqa: E402


def _shipped() -> L.LearnedMotion:
    if L.default_weights() is None:
        pytest.skip("no learned weights shipped in assets/")
    return L.LearnedMotion.from_file()


def _mouth_gap(offsets: np.ndarray) -> np.ndarray:
    """Inner-lip gap per frame (IOD units) from landmark offsets ``[F, 478, 3]``."""
    from talkinghead.eval.metrics import offset_opening

    return offset_opening(offsets)


def test_import_and_inference_do_not_need_torch() -> None:
    code = (
        "import sys\n"
        "for m in ('torch', 'onnx', 'safetensors'):  # training-only packages: any import of them now fails\n"
        "    sys.modules[m] = None\n"
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


def test_bad_model_files_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        L.LearnedMotion.from_file(tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx file")
    with pytest.raises(InputError, match="bad.onnx: not an ONNX model"):
        L.LearnedMotion.from_file(bad)
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    foreign = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), foreign)
    with pytest.raises(InputError, match="foreign.onnx: not a talkinghead learned-motion model"):
        L.LearnedMotion.from_file(foreign)


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


def test_long_speech_is_predicted_in_windows_that_join_without_a_seam(shared_data: Path) -> None:
    from talkinghead.audio.features import compute_features, speech_activity
    from talkinghead.media.audio import load_speech
    from talkinghead.types import PhoneSegments

    model = _shipped()
    speech = load_speech(shared_data / "audio" / "musetalk_eng.wav")  # 60 s of English
    feats = compute_features(speech)
    active, none, n = speech_activity(feats), PhoneSegments((), "none"), 1500
    whole_b, whole = model.predict(feats, none, active, 25.0, n, window_s=1e9)
    same_b, same = model.predict(feats, none, active, 25.0, n)  # shorter than a window: one run, as before
    assert np.array_equal(same, whole) and np.array_equal(same_b, whole_b)
    wb, windowed = model.predict(feats, none, active, 25.0, n, window_s=12.0)  # 5 windows
    # made one window at a time: five consecutive pieces, each yielded before the next window runs
    pieces = model.predict_pieces(feats, none, active, 25.0, n, window_s=12.0)
    first = next(pieces)
    assert first[0] == 0 and len(first[2]) == 300 - 50  # the window less the frames its cross-fade waits for
    rest = list(pieces)
    starts = [p[0] for p in [first, *rest]]
    assert len(rest) == 4 and starts == list(np.cumsum([0] + [len(p[2]) for p in [first, *rest]][:-1]))
    assert windowed.shape == whole.shape and wb.shape == whole_b.shape and np.isfinite(windowed).all()
    g, gw = _mouth_gap(whole), _mouth_gap(windowed)
    assert np.corrcoef(g, gw)[0, 1] > 0.98
    # no jump where windows meet: the steps around each join are as large as the whole run's there
    steps, steps_w = np.abs(np.diff(g)), np.abs(np.diff(gw))
    for join in (300, 600, 900, 1200):
        near = slice(join - 55, join + 55)
        assert steps_w[near].max() <= steps[near].max() + 0.25 * g.std()


def test_learned_motion_in_pieces_is_the_whole_motion() -> None:
    from talkinghead.audio.features import compute_features, speech_activity
    from talkinghead.media.audio import load_speech
    from talkinghead.motion.rules import MotionConfig
    from talkinghead.types import MotionSequence, PhoneSegment, PhoneSegments

    model = _shipped()
    speech = load_speech(Path(L.__file__).parents[1] / "assets" / "jfk.flac")
    feats = compute_features(speech)
    active = speech_activity(feats)
    phones = PhoneSegments((PhoneSegment("M", 1.00, 1.08), PhoneSegment("B", 5.02, 5.10)), "align")
    whole = L.learned_motion(model, feats, phones, active, speech.duration_s, MotionConfig(seed=2))
    from talkinghead.motion.visemes import LEAD_S

    gen = L.learned_motion_pieces(model, feats, phones, active, speech.duration_s, MotionConfig(seed=2),
                                  window_s=4.0)  # 11 s in three windows
    pieces = list(gen)
    assert len(pieces) == 3
    joined = MotionSequence.concatenate(pieces)
    assert joined.num_frames == whole.num_frames == 275
    assert np.array_equal(joined.head_pose, whole.head_pose) and np.array_equal(joined.blink, whole.blink)
    g, gj = _mouth_gap(whole.landmark_offsets), _mouth_gap(joined.landmark_offsets)
    assert np.corrcoef(g, gj)[0, 1] > 0.97
    for f in (round((1.04 - LEAD_S) * 25), round((5.06 - LEAD_S) * 25)):  # bilabials close in whichever piece
        assert gj[f] <= 0.002 and g[f] <= 0.002
    with pytest.raises(ValueError, match="no motion pieces"):
        MotionSequence.concatenate([])
