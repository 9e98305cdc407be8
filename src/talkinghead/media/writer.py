"""Write mp4 (H.264 + AAC) as a stream, atomically.

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
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np

from talkinghead.media.audio import ArrayTrack, AudioTrack
from talkinghead.media.files import one_line, temp_sibling
from talkinghead.media.yuv import BT709, ColorTags, from_rgb
from talkinghead.types import InputError, Speech

if TYPE_CHECKING:
    import av


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
#: libx264 settings the writer puts on top of its preset by default: the diamond motion search and
#: no inter partitions below 8x8 (``python benchmarks/encoder_settings.py``, crf 20 veryfast, one
#: encoder thread: CPU a frame, conversion and encoding, 18% less on a 512x512 render, 21-30% less on
#: three real clips; PSNR of the decoded RGB 0.03-0.19 dB lower; bytes -4% to +1%).
FAST_X264_PARAMS = "me=dia:partitions=none"
#: FFmpeg's AAC encoder's quantiser search: "fast" costs a third of the default "twoloop" search on
#: speech (60 s at 128 kb/s: 0.18 vs 0.46 s CPU, SNR 35.7 vs 36.0 dB, 9% more bytes; same script).
AAC_CODER = "fast"



def encoder_threads() -> int:
    """libx264 threads for a writer whose frames are made on another thread: the cores this process
    may run on, less one (at least 1).

    Slice threads on every core (PyAV's default thread type with ``thread_count`` 0) oversubscribe a
    2-core machine where the frames' maker keeps one core busy: on 200 frames of 1280x720 they cost
    8.1 ms of CPU a frame against 7.3 single-threaded (and 2-3% more bytes at the same crf: each slice
    is coded on its own). On more cores the encoder still gets all but one.
    """
    from talkinghead.aside import usable_cores

    return max(1, usable_cores() - 1)


class VideoWriter:
    """Write an mp4 (H.264 yuv420p + AAC) frame by frame, with the speech's sound as its audio track.

    Use as a context manager::

        with VideoWriter("out.mp4", fps=25.0, size=(512, 512), speech=speech) as writer:
            for frame in frames:          # uint8 [512, 512, 3] RGB
                writer.write(frame)

    Video: libx264, constant quality ``crf``, ``preset`` with ``x264_params`` over it, yuv420p tagged with ``color`` (default
    BT.709 limited range; RGB is converted with its matrix), frame ``i`` shown at ``i / fps`` seconds,
    libx264 on the cores the frames' maker leaves (``threads``). Audio: AAC-LC (:data:`AAC_CODER`) with the source's channels (mono
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
        x264_params: libx264 settings over the preset's (``key=value`` joined by ``:``; default
            :data:`FAST_X264_PARAMS`; ``""`` for the preset alone).
        color: the colour tags written, and the matrix RGB frames are converted with
            (:class:`~talkinghead.media.yuv.ColorTags`; a dubbed video keeps its source's).
        threads: libx264 threads (0: one slice thread per core, PyAV's default); None:
            :func:`encoder_threads`, the cores less the one that makes the frames (for frames made on
            another thread; a caller that makes and writes frames on one thread wants 0).

    Raises:
        ValueError: odd or non-positive size, fps <= 0, crf out of range, unknown preset, colour tags
            other than limited range with a BT.601 / BT.709 / unspecified matrix,
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
        color: ColorTags = BT709,
        threads: int | None = None,
        x264_params: str = FAST_X264_PARAMS,
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
        if not color.writable:
            raise ValueError(f"colour tags {color} cannot be written: limited range and a BT.601 or BT.709 matrix only")
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
            self._setup_streams(crf, preset, x264_params, track, color,
                                encoder_threads() if threads is None else int(threads))
        except BaseException:
            self.abort()
            raise

    def _setup_streams(self, crf: int, preset: str, x264_params: str, track: AudioTrack | ArrayTrack | None,
                       color: ColorTags, threads: int) -> None:
        import av
        from av.video.reformatter import VideoReformatter

        assert self._container is not None
        vs = self._container.add_stream("libx264", rate=self._rate)
        vs.width, vs.height, vs.pix_fmt = self.width, self.height, "yuv420p"
        cc = vs.codec_context
        cc.time_base = 1 / self._rate
        cc.thread_count = max(0, threads)
        cc.colorspace, cc.color_range = color.colorspace, color.color_range
        cc.color_primaries, cc.color_trc = color.primaries, color.trc
        self._color = color
        cc.options = {"crf": str(int(crf)), "preset": preset, **({"x264-params": x264_params} if x264_params else {})}
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
        a.codec_context.options = {"aac_coder": AAC_CODER}
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

    def write(self, frame: np.ndarray | av.VideoFrame) -> None:
        """Append one video frame, shown at ``frames_written / fps`` seconds.

        Args:
            frame: uint8 ``[height, width, 3]`` RGB (the ``size`` given at open; converted with
                ``color``'s matrix), or a yuv420p ``av.VideoFrame`` of that size, encoded as it is
                (its pixels in ``color``'s terms; :mod:`talkinghead.media.yuv`; it is changed: its
                timestamp is set).

        Raises:
            ValueError: wrong shape, dtype or pixel format, or the writer is closed.
        """
        import av

        if self._closed:
            raise ValueError(f"{self.path}: VideoWriter is closed")
        if isinstance(frame, av.VideoFrame):
            if frame.format.name != "yuv420p" or (frame.height, frame.width) != (self.height, self.width):
                raise ValueError(f"frame must be yuv420p {self.width}x{self.height}, got {frame.format.name} "
                                 f"{frame.width}x{frame.height}")
            yuv = frame
            yuv.pict_type = 0  # a decoded key frame must not force one here
        else:
            a = np.asarray(frame)
            if a.dtype != np.uint8 or a.shape != (self.height, self.width, 3):
                raise ValueError(f"frame must be uint8 [{self.height}, {self.width}, 3] RGB, got {a.dtype} {list(a.shape)}")
            yuv = from_rgb(a, self._color, self._reformatter)
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
