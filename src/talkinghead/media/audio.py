"""Decode speech from any container PyAV reads into a :class:`~talkinghead.types.Speech`.

The audio is decoded, mixed to mono and resampled once, here at the edge; every later stage
sees mono float32 samples in [-1, 1] at one known sample rate.
"""

from __future__ import annotations

import os
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from talkinghead.media.files import one_line
from talkinghead.types import InputError, Speech, pcm16_samples

#: Peak absolute amplitude below which audio counts as silent (about -80 dBFS).
SILENCE_PEAK = 1e-4


def load_speech(
    path: str | os.PathLike[str],
    sample_rate: int = 16000,
    allow_silent: bool = False,
) -> Speech:
    """Decode the first audio stream of a file into mono float32 speech at ``sample_rate``.

    Any container and codec FFmpeg (through PyAV) reads works: wav (8/16/24/32-bit, float),
    flac, mp3, m4a/aac, ogg/opus, or the audio track of a video (mp4, mkv, webm, mov...).
    Channels are mixed to mono by averaging them (so a full-scale stereo signal stays within
    [-1, 1]); the signal is resampled once with ``av.AudioResampler`` (libswresample) and
    clipped to [-1, 1]. Memory is one float32 array of the output (an hour at 16 kHz is
    about 230 MB), written as it is decoded.

    Args:
        path: audio or video file.
        sample_rate: output sample rate in Hz (> 0), e.g. 16000 for the audio features.
        allow_silent: accept audio whose peak is below :data:`SILENCE_PEAK` (1e-4).

    Returns:
        :class:`Speech` with ``samples`` float32 ``[N]`` in [-1, 1], N > 0, at ``sample_rate`` Hz.

    Raises:
        InputError: (one line naming the file) the file is missing or a directory, is not
            readable as media or is corrupt, has no audio stream, decodes to no samples, or
            is silent (unless ``allow_silent``).
        ValueError: ``sample_rate`` is not a positive integer.
    """
    import av

    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer (Hz), got {sample_rate!r}")
    sample_rate = int(sample_rate)
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: audio file not found")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, not an audio file")
    try:
        samples = _decode_mono(p, sample_rate)
    except InputError:
        raise
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as e:
        raise InputError(f"{p}: cannot decode audio (unreadable or corrupt file: {one_line(e)})") from e
    np.clip(samples, -1.0, 1.0, out=samples)
    return checked_speech(samples, sample_rate, p, allow_silent)


def finite_peak(samples: np.ndarray, path: Path) -> float:
    """The largest absolute sample of non-empty ``samples``. Raises InputError (naming ``path``) if any is not finite."""
    peak = float(np.max(np.abs(samples)))
    if not np.isfinite(peak):
        raise InputError(f"{path}: audio contains non-finite samples (corrupt file)")
    return peak


def checked_speech(samples: np.ndarray, sample_rate: int, path: Path, allow_silent: bool = False) -> Speech:
    """Decoded speech (float32 ``[N]``, clipped to [-1, 1]) as a :class:`Speech`, after :func:`load_speech`'s checks.

    Raises:
        InputError: (naming ``path``) no samples, non-finite samples, or silent (peak below
            :data:`SILENCE_PEAK`, unless ``allow_silent``).
    """
    if samples.size == 0:
        raise InputError(f"{path}: audio is empty (no samples could be decoded)")
    peak = finite_peak(samples, path)
    if peak < SILENCE_PEAK and not allow_silent:
        raise InputError(
            f"{path}: audio is silent (peak {peak:.1e} < {SILENCE_PEAK:.0e} over {samples.size / sample_rate:.2f} s)"
        )
    return Speech(samples=samples, sample_rate=sample_rate)


#: The longest duration (s) a file's own header is believed for sizing :func:`_decode_mono`'s array.
_MAX_STATED_S = 6 * 3600.0


def _decode_mono(path: Path, sample_rate: int) -> np.ndarray:
    """Decode, resample (keeping the channel layout) and average channels. float32 ``[N]``."""
    import av

    with av.open(str(path), mode="r") as container:
        if not container.streams.audio:
            raise InputError(f"{path}: no audio stream in the file")
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        # Planar float at the target rate, source layout kept: the mono mix is a plain channel
        # mean below (swresample's own downmix uses 1/sqrt(2) gains and can exceed 1).
        seconds = _stated_seconds(container, stream)
        # Written into one array sized from the file's stated duration (grown if it is short, a
        # nonsense duration clamped), not gathered and joined: an hour at 16 kHz is 230 MB, which
        # joining would hold twice. Pages are only taken as samples are written.
        out = np.empty(int(min(max(seconds, 0.0), _MAX_STATED_S) * sample_rate) + sample_rate, np.float32)
        n = 0
        for block in _resampled_blocks(container.decode(stream), None, sample_rate):
            mono = _to_mono(block)
            if n + len(mono) > len(out):
                out.resize(n + max(len(mono), n // 2 + sample_rate), refcheck=False)  # no view of it exists
            out[n:n + len(mono)] = mono
            n += len(mono)
    out.resize(n, refcheck=False)  # shrinks in place
    return out


def _stated_seconds(container: Any, stream: Any) -> float:
    """The duration (s) a file's header states for its audio stream (or the container), 0 if none."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return container.duration / 1e6 if container.duration else 0.0


def _resampled_blocks(frames: Iterator[Any], layout: str | None, rate: int) -> Iterator[np.ndarray]:
    """Decoded frames as planar float32 blocks ``[C, n]`` at ``rate`` in ``layout`` (None: the source's).

    A new resampler is started where the decoded format changes mid-stream (joined recordings);
    each resampler is flushed before the next starts and at the end.
    """
    import av

    resampler = None
    setup = None
    for frame in frames:
        frame_setup = (frame.format.name, frame.layout.name, frame.sample_rate)
        if frame_setup != setup:
            if resampler is not None:
                yield from (out.to_ndarray() for out in resampler.resample(None))
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
            setup = frame_setup
        yield from (out.to_ndarray() for out in resampler.resample(frame))
    if resampler is not None:
        yield from (out.to_ndarray() for out in resampler.resample(None))


def _to_mono(planar: np.ndarray) -> np.ndarray:
    """``[C, n]`` planar samples to float32 ``[n]`` (channel mean)."""
    if planar.shape[0] == 1:
        return planar[0].astype(np.float32, copy=True)
    return planar.mean(axis=0, dtype=np.float32)


class AudioTrack:
    """A file's sound, streamed at its own sample rate and channels: what the output video plays.

    Analysis needs 16 kHz mono (:func:`load_speech`); the viewer should hear the recording as it
    was made. This reader decodes the file's first audio stream lazily, block by block, keeping
    its sample rate; mono stays mono, stereo stays stereo, more channels are downmixed to stereo
    (FFmpeg's standard downmix, through ``av.AudioResampler``). Samples come out as float32
    planar ``[C, n]``; like :func:`load_speech` the track starts at the first decoded sample, so
    the two stay aligned to the sample. Memory: the decoder's current block only, however long
    the file.

    With ``speech_rate``, it streams instead the speech as :func:`load_speech` decodes it (the same
    samples, bit for bit: the channels' mean at that rate, clipped to [-1, 1]), for speech too long
    to hold whole (:mod:`talkinghead.long_speech`).

    Args:
        path: audio or video file with an audio stream.
        speech_rate: None (the file's own sound), or the sample rate (Hz) of mono analysis speech.
    Attributes:
        sample_rate: Hz, the stream's own rate (or ``speech_rate``).
        channels: 1 or 2 (1 with ``speech_rate``).
        stated_s: the duration the file states (s; 0 if it states none): what is read may differ.
    Raises:
        InputError: missing file, unreadable media, or no audio stream.
    """

    def __init__(self, path: str | os.PathLike[str], speech_rate: int | None = None) -> None:
        import av

        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"{self.path}: audio file not found")
        self._container = None
        try:
            self._container = av.open(str(self.path), mode="r")
            if not self._container.streams.audio:
                raise InputError(f"{self.path}: no audio stream in the file")
            stream = self._container.streams.audio[0]
            stream.thread_type = "AUTO"
            self.sample_rate = int(stream.codec_context.sample_rate or stream.rate or 0)
            if self.sample_rate <= 0:
                raise InputError(f"{self.path}: the audio stream has no sample rate")
            self.channels = 1 if (stream.codec_context.channels or 1) == 1 else 2
            self.layout = "mono" if self.channels == 1 else "stereo"
            self.stated_s = _stated_seconds(self._container, stream)
            self._speech = speech_rate is not None
            if self._speech:  # as load_speech: resampled in the source's layout, then the channels' mean
                self.sample_rate, self.channels, self.layout = int(speech_rate), 1, "mono"
            self._blocks = _resampled_blocks(self._container.decode(stream), None if self._speech else self.layout,
                                             self.sample_rate)
        except InputError:
            self.close()
            raise
        except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as e:
            self.close()
            raise InputError(f"{self.path}: cannot decode audio (unreadable or corrupt file: {one_line(e)})") from e
        self._buffer: list[np.ndarray] = []
        self._buffered = 0
        self._ended = False

    def _pull(self) -> None:
        """Decode one more block into the buffer at the track's rate and layout (or note the end)."""
        import av

        try:
            block = next(self._blocks, None)
        except (av.FFmpegError, ValueError) as e:
            raise InputError(f"{self.path}: cannot decode audio (corrupt file: {one_line(e)})") from e
        if block is None:
            self._ended = True
            return
        if self._speech:
            a = np.clip(_to_mono(block), -1.0, 1.0)[None]
        else:
            a = block.astype(np.float32, copy=False).reshape(self.channels, -1)
        self._buffer.append(a)
        self._buffered += a.shape[1]

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` samples, float32 ``[channels, m]``; ``m < n`` only at the end of the track."""
        while self._buffered < n and not self._ended:
            self._pull()
        data = np.concatenate(self._buffer, axis=1) if self._buffer else np.zeros((self.channels, 0), np.float32)
        out, rest = data[:, :n], data[:, n:]
        self._buffer = [rest] if rest.shape[1] else []
        self._buffered = rest.shape[1]
        return out

    def close(self) -> None:
        """Release the decoder. Idempotent."""
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> AudioTrack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ArrayTrack:
    """In-memory samples with the same ``read`` interface as :class:`AudioTrack` (e.g. a :class:`Speech`).

    Args:
        samples: float ``[N]`` (mono) or ``[C, N]`` planar, C in {1, 2}.
        sample_rate: Hz, a positive integer.
    Raises:
        ValueError: other shapes or a bad rate.
    """

    def __init__(self, samples: np.ndarray, sample_rate: int) -> None:
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[0] not in (1, 2):
            raise ValueError(f"audio samples must be [N] or [C, N] with C in 1..2, got shape {np.shape(samples)}")
        if int(sample_rate) != sample_rate or sample_rate <= 0:
            raise ValueError(f"sample rate must be a positive integer (Hz), got {sample_rate!r}")
        self._x = np.ascontiguousarray(x)
        self.sample_rate = int(sample_rate)
        self.channels = x.shape[0]
        self.layout = "mono" if self.channels == 1 else "stereo"
        self._pos = 0

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` samples, float32 ``[channels, m]``; ``m < n`` only at the end."""
        out = self._x[:, self._pos:self._pos + n]
        self._pos += out.shape[1]
        return out

    def close(self) -> None:
        """Nothing to release (same interface as :class:`AudioTrack`)."""


def write_wav(speech: Speech, path: str | os.PathLike[str]) -> Path:
    """Write ``speech`` (float32 in [-1, 1] or int16) as mono 16-bit PCM wav (the format every tool
    reads), by :func:`~talkinghead.types.pcm16_samples` (so :func:`load_speech` reads 16-bit samples
    back exactly); returns the path."""
    p = Path(path)
    pcm = pcm16_samples(np.asarray(speech.samples)).astype("<i2", copy=False)
    with wave.open(str(p), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(speech.sample_rate))
        w.writeframes(pcm.tobytes())
    return p
