"""Synthetic media makers for the media tests (all written with PyAV / Pillow into tmp_path)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

# extension -> (codec, encoder sample rate)
AUDIO_CODECS = {
    "wav": ("pcm_s16le", 44100),
    "flac": ("flac", 44100),
    "mp3": ("libmp3lame", 44100),
    "ogg": ("libopus", 48000),  # Opus only runs at 48 kHz (and a few lower rates)
    "m4a": ("aac", 44100),
}


def write_audio(path: Path, signal: np.ndarray, sample_rate: int, codec: str) -> Path:
    """Write float32 ``[C, N]`` (C = 1 or 2) in [-1, 1] with PyAV; the codec's own sample format."""
    import av

    channels = signal.shape[0]
    layout = "stereo" if channels == 2 else "mono"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=sample_rate)
        stream.codec_context.layout = layout
        if codec in ("aac", "libmp3lame", "libopus"):
            stream.codec_context.bit_rate = 128000
        fmt = stream.codec_context.format.name
        resampler = av.AudioResampler(format=fmt, layout=layout, rate=sample_rate)
        block = 1024
        for start in range(0, signal.shape[1], block):
            chunk = np.ascontiguousarray(signal[:, start : start + block], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = sample_rate
            frame.pts = start
            frame.time_base = Fraction(1, sample_rate)
            for out in resampler.resample(frame):
                container.mux(stream.encode(out))
        for out in resampler.resample(None):
            container.mux(stream.encode(out))
        container.mux(stream.encode(None))
    return path


def tone(seconds: float, sample_rate: int, freq: float = 440.0, amp: float = 0.5, channels: int = 2) -> np.ndarray:
    """Sine ``[channels, N]`` float32, identical in every channel."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    x = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(x[None, :], channels, axis=0)


@pytest.fixture
def audio_file_writer() -> Callable[[Path, np.ndarray, int, str], Path]:
    """:func:`write_audio` as a fixture (``writer(path, signal [C, N], sample_rate, codec)``)."""
    return write_audio


@pytest.fixture
def tone_maker() -> Callable[..., np.ndarray]:
    """:func:`tone` as a fixture (``tone(seconds, sample_rate, freq=440, amp=0.5, channels=2)``)."""
    return tone


@pytest.fixture
def make_tone(tmp_path: Path) -> Callable[..., Path]:
    """``make_tone(ext, seconds=1.0, amp=0.5)``: a 440 Hz stereo file at 44.1 kHz (48 kHz for ogg/opus)."""

    def make(ext: str, seconds: float = 1.0, amp: float = 0.5, freq: float = 440.0) -> Path:
        codec, rate = AUDIO_CODECS[ext]
        return write_audio(tmp_path / f"tone_{ext}_{amp}.{ext}", tone(seconds, rate, freq, amp), rate, codec)

    return make


@pytest.fixture
def random_bytes_file(tmp_path: Path) -> Callable[[str], Path]:
    """``random_bytes_file(name)``: 4 KiB of random bytes under a media-looking name."""

    def make(name: str) -> Path:
        p = tmp_path / name
        p.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
        return p

    return make
