"""Fixtures for the audio tests: a PyAV loader (independent of talkinghead.media) and shared clips."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from talkinghead.types import Speech

def _load(path: Path, sr: int = 16000) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        r = av.AudioResampler(format="flt", layout="mono", rate=sr)
        out = []
        for f in c.decode(audio=0):
            for g in r.resample(f):
                out.append(g.to_ndarray().ravel())
        for g in r.resample(None):
            out.append(g.to_ndarray().ravel())
    return np.concatenate(out).astype(np.float32)


@pytest.fixture(scope="session")
def load_speech() -> Callable[..., Speech]:
    """``load_speech(path, sr=16000) -> Speech`` (mono float32, resampled by PyAV)."""

    def load(path: Path, sr: int = 16000) -> Speech:
        return Speech(_load(path, sr), sr)

    return load


@pytest.fixture(scope="session")
def jfk(shared_data: Path, load_speech: Callable[..., Speech]) -> Speech:
    """JFK, "ask not what your country can do for you" (11 s), at 16 kHz."""
    return load_speech(shared_data / "audio" / "whisper_jfk.flac")
