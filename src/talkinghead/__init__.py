"""talkinghead: one-shot audio-driven talking-head video on an ordinary CPU, offline, faster than real time."""

from __future__ import annotations

__version__ = "0.1.0"
