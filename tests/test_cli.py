from __future__ import annotations

import os
import subprocess
import sys

import pytest

from talkinghead.pipeline import GenerateConfig
from talkinghead.types import InputError

CLI = [sys.executable, "-m", "talkinghead.cli"]


@pytest.mark.parametrize("bad", [dict(size=10), dict(fps=0), dict(pose_scale=-1), dict(blink_rate=100), dict(phones="magic"), dict(face_index=-1)])
def test_config_rejects_out_of_range_settings(bad: dict) -> None:
    with pytest.raises(InputError):
        GenerateConfig(**bad).validate()


def test_help_explains_every_generate_option() -> None:
    env = dict(os.environ, COLUMNS="200")
    r = subprocess.run([*CLI, "generate", "--help"], capture_output=True, text=True, check=True, env=env)
    for opt in ("--transcript", "--size", "--fps", "--pose-scale", "--still", "--blink-rate", "--full-frame", "--face", "--phones", "--motion-out"):
        assert opt in r.stdout


def test_bad_setting_is_a_one_line_error(tmp_path) -> None:
    r = subprocess.run([*CLI, "generate", "a.png", "b.wav", "-o", str(tmp_path / "o.mp4"), "--size", "10"],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["error: --size must be between 64 and 2048 pixels, got 10"]
