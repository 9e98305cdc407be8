"""Read videos as RGB frames and probe them (writing mp4 is :mod:`talkinghead.media.writer`)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from talkinghead.media.files import one_line
from talkinghead.media.writer import VideoWriter
from talkinghead.types import InputError

__all__ = ["VideoInfo", "VideoWriter", "ensure_distinct", "probe_video", "read_decoded", "read_video"]

if TYPE_CHECKING:
    import av
    from av.container import InputContainer
    from av.video.reformatter import VideoReformatter
    from av.video.stream import VideoStream


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` finds in a video file.

    Attributes:
        fps: average frame rate of the first video stream (frames per second, may be
            fractional, e.g. 22.131 or 29.97; variable-frame-rate files report their mean).
        num_frames: number of video frames (from the container index, else by counting packets).
        width: displayed width in pixels (after any rotation stored in the file).
        height: displayed height in pixels.
        duration_s: duration of the video stream in seconds.
        has_audio: whether the file also has an audio stream.
    """

    fps: float
    num_frames: int
    width: int
    height: int
    duration_s: float
    has_audio: bool


def ensure_distinct(output: str | os.PathLike[str], *inputs: str | os.PathLike[str] | None) -> None:
    """Refuse an output path that is one of the inputs (never overwrite an input).

    Paths are compared after resolving symlinks and ``..``; existing files are also compared by
    inode (hard links). ``None`` inputs are ignored.

    Raises:
        InputError: ``output`` resolves to the same file as one of ``inputs``.
    """
    out = Path(output)
    out_resolved = out.resolve()
    for inp in inputs:
        if inp is None:
            continue
        ip = Path(inp)
        same = out_resolved == ip.resolve()
        if not same and out.exists() and ip.exists():
            try:
                same = os.path.samefile(out, ip)
            except OSError:
                same = False
        if same:
            raise InputError(f"{out}: output is the same file as input {ip}; refusing to overwrite an input")


# -- reading ---------------------------------------------------------------------------


def read_video(path: str | os.PathLike[str], fps: float | None = None) -> Iterator[np.ndarray]:
    """Decode the first video stream frame by frame (streaming; one frame in memory at a time).

    Rotation stored in the file (phone videos) is applied, so frames come out as displayed.

    Args:
        path: any video file FFmpeg reads (mp4, mov, mkv, webm, avi...).
        fps: ``None`` yields every frame the file stores (a variable-frame-rate file yields
            irregularly spaced frames). A rate (> 0) yields frames on a constant grid
            ``k / fps`` seconds from the start of the file: each is the frame on screen at that
            time (repeated or dropped as needed), up to the end of the last frame. Use it to
            line frames up with the audio (e.g. ``fps=25`` for a 22.13 fps or VFR source).

    Yields:
        uint8 ``[H, W, 3]`` RGB frames.

    Raises:
        InputError: (one line naming the file) missing, not a video or corrupt, no video
            stream (raised at the call); a frame that cannot be decoded (raised while iterating).
        ValueError: ``fps`` <= 0.
    """
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number or None, got {fps!r}")
    p = Path(path)
    container = _open_video(p)
    return _iter_frames(p, container, fps)


def read_decoded(path: str | os.PathLike[str], fps: float | None = None) -> Iterator[av.VideoFrame]:
    """:func:`read_video`'s frames as FFmpeg decoded them (``av.VideoFrame``, the file's own pixel
    format, no rotation applied), on the same grid. Where the grid repeats a frame the same object
    comes again: copy a frame before changing it. Errors as :func:`read_video`."""
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number or None, got {fps!r}")
    p = Path(path)
    return _iter_frames(p, _open_video(p), fps, convert=lambda frame, reformatter: frame)


def _iter_frames(path: Path, container: InputContainer, fps: float | None,
                 convert: Callable[[av.VideoFrame, VideoReformatter], Any] | None = None) -> Iterator[Any]:
    import av
    from av.video.reformatter import VideoReformatter

    reformatter = VideoReformatter()
    convert = convert or _frame_rgb
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if fps is None:
            for frame in container.decode(stream):
                yield convert(frame, reformatter)
            return
        # Constant-rate grid: output frame k (at k / fps s) is the latest decoded frame whose
        # time is <= k / fps; each emission converts afresh so no yielded array is shared.
        src_fps = _stream_fps(stream) or fps
        origin = container.start_time / 1e6 if container.start_time is not None else 0.0
        eps = 1e-6
        k = 0
        prev = None  # latest decoded av.VideoFrame
        prev_t = 0.0
        for index, frame in enumerate(container.decode(stream)):
            t = (frame.time if frame.time is not None else index / src_fps) - origin
            while prev is not None and k / fps < t - eps:
                yield convert(prev, reformatter)
                k += 1
            prev, prev_t = frame, t
        if prev is not None:
            dur = float(prev.duration * prev.time_base) if prev.duration and prev.time_base else 0.0
            end = prev_t + (dur if dur > 0 else 1.0 / src_fps)
            while k / fps < end - eps:
                yield convert(prev, reformatter)
                k += 1
    except av.FFmpegError as e:
        raise InputError(f"{path}: cannot decode video ({one_line(e)})") from e
    finally:
        container.close()


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Read a video's frame rate, frame count, size, duration and whether it has audio.

    Decodes only the first frame (to check the stream is decodable and read its rotation).

    Returns:
        :class:`VideoInfo` (fps from the stream's average rate, so 22.13 fps or
        variable-frame-rate files report their true mean rate, not a nominal 30).

    Raises:
        InputError: (one line naming the file) missing, not a video or corrupt, no video
            stream, or no decodable frame.
    """
    import av

    p = Path(path)
    container = _open_video(p)
    try:
        stream = container.streams.video[0]
        has_audio = bool(container.streams.audio)
        try:
            first = next(iter(container.decode(stream)), None)
        except av.FFmpegError as e:
            raise InputError(f"{p}: cannot decode video ({one_line(e)})") from e
        if first is None:
            raise InputError(f"{p}: video stream has no decodable frames")
        width, height = first.width, first.height
        if round(first.rotation / 90.0) % 2:
            width, height = height, width
        num_frames = int(stream.frames or 0)
        duration_s = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
        if duration_s <= 0 and container.duration:
            duration_s = container.duration / 1e6
        fps = _stream_fps(stream)
    finally:
        container.close()
    if num_frames <= 0:
        num_frames = _count_packets(p)
    if fps is None:
        fps = num_frames / duration_s if duration_s > 0 else 0.0
    if duration_s <= 0 and fps > 0:
        duration_s = num_frames / fps
    return VideoInfo(
        fps=float(fps),
        num_frames=num_frames,
        width=int(width),
        height=int(height),
        duration_s=float(duration_s),
        has_audio=has_audio,
    )


def _open_video(p: Path) -> InputContainer:
    import av

    if not p.exists():
        raise InputError(f"{p}: video file not found")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, not a video file")
    try:
        container = av.open(str(p), mode="r")
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as e:
        raise InputError(f"{p}: cannot read video (unreadable or corrupt file: {one_line(e)})") from e
    if not container.streams.video:
        container.close()
        raise InputError(f"{p}: no video stream in the file")
    return container


def _count_packets(p: Path) -> int:
    """Number of video packets (frames) by demuxing without decoding."""
    import av

    try:
        with av.open(str(p), mode="r") as container:
            stream = container.streams.video[0]
            return sum(1 for pkt in container.demux(stream) if pkt.size)
    except av.FFmpegError as e:
        raise InputError(f"{p}: cannot read video ({one_line(e)})") from e


def _stream_fps(stream: VideoStream) -> float | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return float(rate)
    return None


def _frame_rgb(frame: av.VideoFrame, reformatter: VideoReformatter) -> np.ndarray:
    """Decoded ``av.VideoFrame`` to uint8 ``[H, W, 3]`` RGB (the file's own YUV matrix and
    range), display rotation applied. ``reformatter``: a reused ``VideoReformatter``."""
    rgb = reformatter.reformat(frame, format="rgb24", threads=1).to_ndarray()
    k = round(frame.rotation / 90.0) % 4
    if k:
        rgb = np.ascontiguousarray(np.rot90(rgb, k))
    return rgb
