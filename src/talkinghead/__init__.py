"""talkinghead: one-shot audio-driven talking-head video on an ordinary CPU, offline, faster than real time.

Public API (imported lazily, so ``import talkinghead`` stays light)::

    from talkinghead import generate, GenerateConfig
    generate("portrait.jpg", "speech.wav", "out.mp4", transcript="...", config=GenerateConfig(size=512))

- :func:`generate`, :class:`GenerateConfig`, :class:`TalkingHeadPipeline`, :func:`analyse_speech`
  (``talkinghead.pipeline``)
- :func:`dub`, :class:`Dubber` (``talkinghead.dubbing``): a video re-animated to new speech
- :func:`fit_person`, :func:`load_person`, :func:`save_person` (``talkinghead.person.model``)
- :meth:`TalkingHeadPipeline.stream` (frames as speech arrives) and :func:`live` (``talkinghead.live``:
  real-time streaming to an mp4 and MJPEG)
- :func:`load_image`, :func:`load_speech` (``talkinghead.media``)
- the data contracts in ``talkinghead.types`` (:class:`Speech`, :class:`MotionSequence`, ...)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "generate": "talkinghead.pipeline",
    "GenerateConfig": "talkinghead.pipeline",
    "TalkingHeadPipeline": "talkinghead.pipeline",
    "analyse_speech": "talkinghead.pipeline",
    "dub": "talkinghead.dubbing",
    "Dubber": "talkinghead.dubbing",
    "fit_person": "talkinghead.person.model",
    "load_person": "talkinghead.person.model",
    "save_person": "talkinghead.person.model",
    "live": "talkinghead.live",
    "load_image": "talkinghead.media.image",
    "load_speech": "talkinghead.media.audio",
    "InputError": "talkinghead.types",
    "MotionSequence": "talkinghead.types",
    "PersonModel": "talkinghead.types",
    "Speech": "talkinghead.types",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'talkinghead' has no attribute {name!r}")
