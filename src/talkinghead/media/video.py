"""Read videos as RGB frames and write mp4 (H.264 + AAC) as a stream, atomically.

Writing is streaming: frames go to libx264 as they arrive and the speech is encoded to AAC
just far enough to keep up with the video, so memory stays flat however long the audio is.
The file appears at its path only when it has been written completely (temporary file in
the same directory, then ``os.replace``).
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np

from talkinghead.media.audio import ArrayTrack, AudioTrack
from talkinghead.media.files import one_line, temp_sibling
from talkinghead.types import InputError, Speech

if TYPE_CHECKING:
    import av
    from av.container import InputContainer
    from av.video.reformatter import VideoReformatter
    from av.video.stream import VideoStream

#: Sample rates the AAC encoder accepts (Hz); other rates are resampled to 48 kHz.
AAC_SAMPLE_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
#: libx264 presets, fastest first.
X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)
#: AAC frame size in samples (one encoder frame).
_AAC_FRAME = 1024
# FFmpeg enum values (libavutil/pixfmt.h) for BT.709 and limited ("tv", MPEG) range.
_AVCOL_BT709 = 1
_AVCOL_RANGE_MPEG = 1


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


class VideoWriter:
    """Write an mp4 (H.264 yuv420p + AAC) frame by frame, with the speech's sound as its audio track.

    Use as a context manager::

        with VideoWriter("out.mp4", fps=25.0, size=(512, 512), speech=speech) as writer:
            for frame in frames:          # uint8 [512, 512, 3] RGB
                writer.write(frame)

    Video: libx264, constant quality ``crf``, ``preset``, yuv420p tagged BT.709 limited range
    (RGB is converted with the BT.709 matrix), frame ``i`` shown at ``i / fps`` seconds,
    libx264 threads on (``threads=auto``). Audio: AAC-LC with the source's channels (mono
    128 kb/s, stereo 160 kb/s) at its sample rate if AAC supports it, else resampled to 48 kHz;
    the first sample is at t = 0, aligned with the first frame. Audio is read from the track
    and encoded up to each frame's end time as the frames are written (memory does not grow
    with duration); on close the rest of the track is written, so the audio track is always
    the whole speech. ``movflags=+faststart`` puts
    the index first so browsers can start playing before the download ends.

    The file is written to a hidden temporary file in the output directory and renamed onto
    ``path`` only when :meth:`close` succeeds. If the ``with`` block raises, or closing fails,
    the temporary file is deleted and nothing is left at ``path`` (an existing file there is
    left untouched).

    Args:
        path: output ``.mp4`` path (always written in the mp4 container format).
        fps: frames per second (> 0; fractional rates like 29.97 or 22.13 are kept exactly
            as a fraction with denominator <= 100000).
        size: ``(width, height)`` in pixels, both even and > 0 (yuv420p needs even sizes).
        speech: the sound: a :class:`~talkinghead.media.audio.AudioTrack` (a file's own audio,
            streamed), an :class:`~talkinghead.media.audio.ArrayTrack`, a mono
            :class:`~talkinghead.types.Speech`, or ``None`` for a silent (video-only) file. A
            track that is still arriving (live) has ``available()``, the samples it holds now:
            it is read no further until more come, and to its end on close.
        crf: libx264 constant rate factor, 0 (lossless) to 51 (worst); 18-23 is visually good.
        preset: libx264 speed preset, one of :data:`X264_PRESETS`.

    Raises:
        ValueError: odd or non-positive size, fps <= 0, crf out of range, unknown preset,
            speech samples that are not 1-D or a non-positive speech sample rate.
        InputError: the output path is a directory, its directory does not exist or is not
            writable (at open); the file cannot be written (at close: disk full...).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float,
        size: tuple[int, int],
        speech: Speech | AudioTrack | ArrayTrack | None = None,
        crf: int = 20,
        preset: str = "veryfast",
    ) -> None:
        import av

        self._container = None
        self._tmp: Path | None = None
        self._closed = False
        width, height = int(size[0]), int(size[1])
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise ValueError(f"video size must be positive and even (yuv420p), got {width}x{height}")
        if not (isinstance(fps, numbers.Real) and math.isfinite(float(fps)) and float(fps) > 0):
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        if not 0 <= crf <= 51:
            raise ValueError(f"crf must be in [0, 51], got {crf!r}")
        if preset not in X264_PRESETS:
            raise ValueError(f"unknown libx264 preset {preset!r}; use one of {', '.join(X264_PRESETS)}")
        track = speech
        if isinstance(speech, Speech):
            if np.ndim(speech.samples) != 1:
                raise ValueError(f"speech samples must be 1-D (mono), got shape {np.shape(speech.samples)}")
            track = ArrayTrack(speech.samples, speech.sample_rate)

        self.path = Path(path)
        self.width, self.height = width, height
        self._rate = fps if isinstance(fps, Fraction) else Fraction(float(fps)).limit_denominator(100000)
        self.fps = float(self._rate)
        self._frames = 0

        parent = self.path.parent
        if self.path.is_dir():
            raise InputError(f"{self.path}: output path is a directory")
        if not parent.is_dir():
            raise InputError(f"{self.path}: output directory {parent} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise InputError(f"{self.path}: output directory {parent} is not writable")

        self._tmp = temp_sibling(self.path)
        try:
            self._container = av.open(
                str(self._tmp), mode="w", format="mp4", container_options={"movflags": "+faststart"}
            )
        except (av.FFmpegError, OSError) as e:
            self._tmp.unlink(missing_ok=True)
            raise InputError(f"{self.path}: cannot create the output file ({one_line(e)})") from e
        try:
            self._setup_streams(crf, preset, track)
        except BaseException:
            self.abort()
            raise

    def _setup_streams(self, crf: int, preset: str, track: AudioTrack | ArrayTrack | None) -> None:
        import av
        from av.video.reformatter import VideoReformatter

        assert self._container is not None
        vs = self._container.add_stream("libx264", rate=self._rate)
        vs.width, vs.height, vs.pix_fmt = self.width, self.height, "yuv420p"
        cc = vs.codec_context
        cc.time_base = 1 / self._rate
        cc.thread_count = 0  # libx264 picks (about 1.5 x cores, frame threads)
        cc.colorspace = _AVCOL_BT709
        cc.color_primaries = _AVCOL_BT709
        cc.color_trc = _AVCOL_BT709
        cc.color_range = _AVCOL_RANGE_MPEG
        cc.options = {"crf": str(int(crf)), "preset": preset}
        self._vstream = vs
        self._vtb = 1 / self._rate
        # One reformatter (cached swscale context), single-threaded: letting swscale start
        # its own threads on every call costs more than the conversion itself (~1-2 ms/frame).
        self._reformatter = VideoReformatter()

        self._astream = None
        self._track = track
        self._track_ended = False
        self._audio_in = 0  # input samples handed to the encoder (or resampler)
        self._audio_out = 0  # samples (at the AAC rate) handed to the encoder
        self._resampler = None
        if track is None:
            return
        self._speech_rate = int(track.sample_rate)
        self._aac_rate = self._speech_rate if self._speech_rate in AAC_SAMPLE_RATES else 48000
        a = self._container.add_stream("aac", rate=self._aac_rate)
        a.codec_context.layout = track.layout
        a.codec_context.format = "fltp"
        a.codec_context.bit_rate = 128000 if track.channels == 1 else 160000
        a.codec_context.time_base = Fraction(1, self._aac_rate)
        self._astream = a
        if self._aac_rate != self._speech_rate:
            self._resampler = av.AudioResampler(
                format="fltp", layout=track.layout, rate=self._aac_rate, frame_size=_AAC_FRAME
            )

    # -- writing -----------------------------------------------------------------------

    @property
    def frames_written(self) -> int:
        """Number of video frames written so far."""
        return self._frames

    def write(self, frame: np.ndarray) -> None:
        """Append one video frame, shown at ``frames_written / fps`` seconds.

        Args:
            frame: uint8 ``[height, width, 3]`` RGB (the ``size`` given at open).

        Raises:
            ValueError: wrong shape or dtype, or the writer is closed.
        """
        import av

        if self._closed:
            raise ValueError(f"{self.path}: VideoWriter is closed")
        a = np.asarray(frame)
        if a.dtype != np.uint8 or a.shape != (self.height, self.width, 3):
            raise ValueError(f"frame must be uint8 [{self.height}, {self.width}, 3] RGB, got {a.dtype} {list(a.shape)}")
        rgb = av.VideoFrame.from_ndarray(np.ascontiguousarray(a), format="rgb24")
        yuv = self._reformatter.reformat(
            rgb, format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG", threads=1
        )
        yuv.pts = self._frames
        yuv.time_base = self._vtb
        self._mux(self._vstream.encode(yuv))
        self._frames += 1
        if self._astream is not None:
            # Keep the audio up to the end of this frame, in whole AAC frames.
            t_end = self._frames / self._rate
            self._encode_audio(math.ceil(t_end * self._speech_rate), final=False)

    def _encode_audio(self, upto: int, final: bool) -> None:
        """Encode track samples ``[_audio_in, upto)`` (to the track's end at most); whole 1024-sample blocks unless ``final``."""
        import av

        assert self._track is not None and self._astream is not None
        available = getattr(self._track, "available", None)
        if available is not None and not final:  # a track still arriving: only as far as it has come
            upto = min(upto, self._audio_in + available())
        while self._audio_in < upto and not self._track_ended:
            n = min(_AAC_FRAME, upto - self._audio_in)
            if n < _AAC_FRAME and not final:
                break
            block = np.clip(self._track.read(n), -1.0, 1.0)
            if block.shape[1] < n:
                self._track_ended = True
            if block.shape[1] == 0:
                break
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="fltp", layout=self._track.layout)
            af.sample_rate = self._speech_rate
            af.pts = self._audio_in
            af.time_base = Fraction(1, self._speech_rate)
            self._audio_in += block.shape[1]
            if self._resampler is None:
                self._encode_audio_frame(af)
            else:
                for out in self._resampler.resample(af):
                    self._encode_audio_frame(out)
        if final and self._resampler is not None:
            for out in self._resampler.resample(None):
                self._encode_audio_frame(out)

    def _encode_audio_frame(self, af: av.AudioFrame) -> None:
        af.pts = self._audio_out
        af.time_base = Fraction(1, self._aac_rate)
        self._audio_out += af.samples
        assert self._astream is not None
        self._mux(self._astream.encode(af))

    def _mux(self, packets: list) -> None:
        assert self._container is not None
        if packets:
            self._container.mux(packets)

    # -- closing -----------------------------------------------------------------------

    def close(self) -> None:
        """Flush the encoders, finish the file and move it onto ``path``. Idempotent.

        Raises:
            ValueError: no frame was written (nothing is left on disk).
            InputError: the file could not be finished or renamed (disk full, permissions);
                the temporary file is deleted.
        """
        import av

        if self._closed:
            return
        try:
            if self._frames == 0:
                raise ValueError(f"{self.path}: no video frames were written")
            if self._astream is not None:
                self._encode_audio(sys.maxsize, final=True)
                self._mux(self._astream.encode(None))
            self._mux(self._vstream.encode(None))
            assert self._container is not None and self._tmp is not None
            self._container.close()
            self._container = None
            os.replace(self._tmp, self.path)
            self._tmp = None
        except (av.FFmpegError, OSError) as e:
            self.abort()
            raise InputError(f"{self.path}: cannot write the video ({one_line(e)})") from e
        except BaseException:
            self.abort()
            raise
        finally:
            self._closed = True

    def abort(self) -> None:
        """Stop writing and delete the temporary file; nothing appears at ``path``. Idempotent."""
        self._closed = True
        container, self._container = self._container, None
        if container is not None:
            with contextlib.suppress(Exception):  # the file is discarded; its trailer does not matter
                container.close()
        tmp, self._tmp = self._tmp, None
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    def __del__(self) -> None:
        # A writer dropped without close() leaves no temporary file behind.
        if getattr(self, "_tmp", None) is not None:
            self.abort()


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


def _iter_frames(path: Path, container: InputContainer, fps: float | None) -> Iterator[np.ndarray]:
    import av
    from av.video.reformatter import VideoReformatter

    reformatter = VideoReformatter()
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if fps is None:
            for frame in container.decode(stream):
                yield _frame_rgb(frame, reformatter)
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
                yield _frame_rgb(prev, reformatter)
                k += 1
            prev, prev_t = frame, t
        if prev is not None:
            dur = float(prev.duration * prev.time_base) if prev.duration and prev.time_base else 0.0
            end = prev_t + (dur if dur > 0 else 1.0 / src_fps)
            while k / fps < end - eps:
                yield _frame_rgb(prev, reformatter)
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
