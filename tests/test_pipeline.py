from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from talkinghead.cli import DEMO_TRANSCRIPT
from talkinghead.media.audio import load_speech
from talkinghead.media.image import load_image
from talkinghead.pipeline import GenerateConfig, TalkingHeadPipeline, analyse_speech

ASSETS = Path(str(resources.files("talkinghead") / "assets"))


@pytest.fixture(scope="module")
def demo():
    return load_image(ASSETS / "astronaut.png"), load_speech(ASSETS / "jfk.flac")


def test_auto_motion_is_learned_with_phones_and_rules_without(demo) -> None:
    image, speech = demo
    pipe = TalkingHeadPipeline(image, GenerateConfig(size=128))
    aligned = pipe.motion(analyse_speech(speech, DEMO_TRANSCRIPT, "auto"))
    acoustic = pipe.motion(analyse_speech(speech, None, "acoustic"))
    assert aligned.source == "learned"
    assert acoustic.source == "acoustic"  # the rule path's acoustic mode
    for seq in (aligned, acoustic):
        assert seq.num_frames == 275 and seq.landmark_offsets.shape == (275, 478, 3)
        assert np.isfinite(seq.landmark_offsets).all()


def test_motion_can_be_saved_and_loaded(demo, tmp_path) -> None:
    from talkinghead.types import MotionSequence

    image, speech = demo
    pipe = TalkingHeadPipeline(image, GenerateConfig(size=128, motion="rules"))
    seq = pipe.motion(analyse_speech(speech, DEMO_TRANSCRIPT, "align"))
    seq.save(tmp_path / "m.npz")
    back = MotionSequence.load(tmp_path / "m.npz")
    assert back.au_names == seq.au_names and back.source == "rules"
    np.testing.assert_array_equal(back.landmark_offsets, seq.landmark_offsets)
    np.testing.assert_array_equal(back.curve("jawOpen"), seq.curve("jawOpen"))
