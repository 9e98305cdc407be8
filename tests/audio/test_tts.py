"""Text to speech (extra 'tts'): Piper's joe voice and eSpeak NG with its phone timing; --text drives the lips."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("piper")

from talkinghead.audio.tts import TTSConfig, synthesize  # noqa: E402
from talkinghead.types import InputError  # noqa: E402

ASSETS = Path(str(resources.files("talkinghead") / "assets"))
TEXT = "Please bring me my blue map before we begin."


def test_synthesize_speaks_at_the_voice_rate_and_the_asked_pace() -> None:
    normal, phones = synthesize(TEXT, TTSConfig(voice="joe"))
    fast, _ = synthesize(TEXT, TTSConfig(voice="joe", rate=2.0))
    assert phones is None  # joe reports no alignment: the words are aligned later
    assert normal.sample_rate == 22050 and normal.samples.dtype == np.float32 and normal.samples.ndim == 1
    assert 1.5 < normal.duration_s < 6.0
    assert 0.35 < fast.duration_s / normal.duration_s < 0.7
    assert 0.1 < float(np.abs(normal.samples).max()) <= 1.0


def test_espeak_reports_exact_phones_in_many_languages() -> None:
    pytest.importorskip("espeakng_loader")
    speech, phones = synthesize(TEXT, TTSConfig(voice="espeak:en-us"))
    assert speech.sample_rate == 22050 and phones is not None and phones.source == "tts"
    seq = [s.phone for s in phones.segments]
    assert seq[:4] == ["P", "L", "IY", "Z"] and seq.count("M") == 3 and seq.count("B") >= 3
    starts = [s.start_s for s in phones.segments]
    assert starts == sorted(starts) and phones.segments[-1].end_s <= speech.duration_s + 1e-6
    # the first phone starts with the sound (the burst of the "p" of please), not at 0
    onset = np.flatnonzero(np.abs(speech.samples) > 0.05)[0] / speech.sample_rate
    assert abs(phones.segments[0].end_s - onset) < 0.08
    for voice, text in (("espeak:de", "Guten Morgen, wie geht es?"), ("espeak:ja", "こんにちは、げんきですか")):
        s2, p2 = synthesize(text, TTSConfig(voice=voice))
        assert s2.duration_s > 0.8 and p2 is not None and len(p2) > 8
        assert sum(x.phone == "UNK" for x in p2.segments) == 0, [x.phone for x in p2.segments]
    with pytest.raises(InputError, match="unknown eSpeak NG language"):
        synthesize(TEXT, TTSConfig(voice="espeak:klingon"))
    # a voice variant (any case: the engine's files are spelled "f2", "Annie") changes the voice, not the phones
    from talkinghead.audio.features import compute_features

    def median_f0(s) -> float:
        f0 = compute_features(s).f0
        return float(np.median(f0[f0 > 0]))

    for variant in ("f2", "annie", "ANNIE"):
        female, fp = synthesize(TEXT, TTSConfig(voice=f"espeak:en-us+{variant}"))
        assert [s.phone for s in fp.segments if s.phone != "SIL"] == [p for p in seq if p != "SIL"]
        assert median_f0(female) > 1.6 * median_f0(speech)  # about 200-240 Hz against 100
    with pytest.raises(InputError, match="unknown eSpeak NG voice variant"):
        synthesize(TEXT, TTSConfig(voice="espeak:en-us+nobody"))


@pytest.mark.parametrize(("text", "config", "msg"), [("   ", TTSConfig(), "empty"), (TEXT, TTSConfig(voice="bob"), "unknown voice"),
                                                     (TEXT, TTSConfig(voice="espeak:"), "unknown voice"),
                                                     (TEXT, TTSConfig(rate=5.0), "--rate")])
def test_bad_text_or_settings_are_clear_errors(text: str, config: TTSConfig, msg: str) -> None:
    with pytest.raises(InputError, match=msg):
        synthesize(text, config)


def test_generate_from_text_file_aligns_the_words(tmp_path: Path) -> None:
    import av

    from talkinghead.audio.phones import align_transcript
    from talkinghead.media.audio import load_speech
    from talkinghead.motion.visemes import LEAD_S
    from talkinghead.types import MotionSequence

    script = tmp_path / "script.txt"
    script.write_text(TEXT, encoding="utf-8")
    out, motion = tmp_path / "out.mp4", tmp_path / "m.npz"
    r = subprocess.run([sys.executable, "-m", "talkinghead.cli", "generate", str(ASSETS / "astronaut.png"),
                        "--text", f"@{script}", "--voice", "joe", "-o", str(out), "--size", "128",
                        "--motion-out", str(motion), "-q"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    with av.open(str(out)) as c:
        a = c.streams.audio[0].codec_context
        assert (a.sample_rate, a.channels) == (22050, 1)  # the voice's own sound
    m = MotionSequence.load(motion)
    gap = m.landmark_offsets[:, 14, 1] - m.landmark_offsets[:, 13, 1]
    assert gap.max() > 0.05  # the mouth opens
    # every bilabial of the words (please, bring, me, my, blue, map, before, begin) closes the lips
    phones = align_transcript(load_speech(out), TEXT)
    bil = [s for s in phones.segments if s.phone.rstrip("012") in ("P", "B", "M")]
    assert len(bil) >= 8
    for s in bil:
        a, b = int((s.start_s - LEAD_S) * m.fps) - 1, int(np.ceil((s.end_s - LEAD_S) * m.fps)) + 1
        assert gap[max(0, a):b + 1].min() < 0.02, s


def test_espeak_phones_drive_the_lips_directly(tmp_path: Path) -> None:
    """With eSpeak NG the engine's own phone times are the phones (no alignment): lips close on its bilabials."""
    pytest.importorskip("espeakng_loader")
    from talkinghead.audio.tts import TTSConfig
    from talkinghead.motion.visemes import LEAD_S
    from talkinghead.pipeline import GenerateConfig, generate_from_text
    from talkinghead.types import MotionSequence

    out, motion = tmp_path / "out.mp4", tmp_path / "m.npz"
    generate_from_text(ASSETS / "astronaut.png", TEXT, out, TTSConfig(voice="espeak:en-us"),
                       config=GenerateConfig(size=128), motion_out=motion)
    _, phones = synthesize(TEXT, TTSConfig(voice="espeak:en-us"))
    m = MotionSequence.load(motion)
    gap = m.landmark_offsets[:, 14, 1] - m.landmark_offsets[:, 13, 1]
    assert gap.max() > 0.05
    for s in (s for s in phones.segments if s.phone in ("P", "B", "M")):
        a, b = int((s.start_s - LEAD_S) * m.fps) - 1, int(np.ceil((s.end_s - LEAD_S) * m.fps)) + 1
        assert gap[max(0, a):b + 1].min() < 0.02, s


def test_base_package_never_imports_the_gpl_engines() -> None:
    code = ("import sys, talkinghead, talkinghead.cli, talkinghead.pipeline, talkinghead.audio.tts; "
            "assert not any(m.split('.')[0] in ('piper', 'espeakng_loader') for m in sys.modules), 'GPL engine imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
