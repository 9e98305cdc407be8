"""Media edge of the pipeline: decode audio, images and video from any format; write mp4.

Everything that touches files lives here (PyAV for audio/video, Pillow for images); the
other stages see only :class:`~talkinghead.types.Speech` and uint8 RGB arrays.
"""

from __future__ import annotations

from talkinghead.media.audio import load_speech
from talkinghead.media.image import load_image, save_png
from talkinghead.media.video import VideoInfo, ensure_distinct, probe_video, read_video
from talkinghead.media.writer import VideoWriter

__all__ = [
    "VideoInfo",
    "VideoWriter",
    "ensure_distinct",
    "load_image",
    "load_speech",
    "probe_video",
    "read_video",
    "save_png",
]
