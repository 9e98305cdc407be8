"""Decode speech from any container PyAV reads into a :class:`~talkinghead.types.Speech`.

The audio is decoded, mixed to mono and resampled once, here at the edge; every later stage
sees mono float32 samples in [-1, 1] at one known sample rate.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from talkinghead.media.files import one_line
from talkinghead.types import InputError, Speech

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
    about 230 MB) plus the decoded chunks while they are concatenated.

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
    if samples.size == 0:
        raise InputError(f"{p}: audio is empty (no samples could be decoded)")
    np.clip(samples, -1.0, 1.0, out=samples)
    peak = float(np.max(np.abs(samples)))
    if not np.isfinite(peak):
        raise InputError(f"{p}: audio contains non-finite samples (corrupt file)")
    if peak < SILENCE_PEAK and not allow_silent:
        raise InputError(
            f"{p}: audio is silent (peak {peak:.1e} < {SILENCE_PEAK:.0e} over {samples.size / sample_rate:.2f} s)"
        )
    return Speech(samples=samples, sample_rate=sample_rate)


def _decode_mono(path: Path, sample_rate: int) -> np.ndarray:
    """Decode, resample (keeping the channel layout) and average channels. float32 ``[N]``."""
    import av

    with av.open(str(path), mode="r") as container:
        if not container.streams.audio:
            raise InputError(f"{path}: no audio stream in the file")
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        # Planar float at the target rate, source layout kept: the mono mix is a plain channel
        # mean below (swresample's own downmix uses 1/sqrt(2) gains and can exceed 1). A new
        # resampler is started if the decoded format changes mid-stream (joined recordings).
        chunks: list[np.ndarray] = []
        resampler = None
        setup = None
        for frame in container.decode(stream):
            frame_setup = (frame.format.name, frame.layout.name, frame.sample_rate)
            if frame_setup != setup:
                if resampler is not None:
                    chunks.extend(_to_mono(out.to_ndarray()) for out in resampler.resample(None))
                resampler = av.AudioResampler(format="fltp", layout=None, rate=sample_rate)
                setup = frame_setup
            chunks.extend(_to_mono(out.to_ndarray()) for out in resampler.resample(frame))
        if resampler is not None:
            chunks.extend(_to_mono(out.to_ndarray()) for out in resampler.resample(None))
    if not chunks:
        return np.zeros(0, np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def _to_mono(planar: np.ndarray) -> np.ndarray:
    """``[C, n]`` planar samples to float32 ``[n]`` (channel mean)."""
    if planar.shape[0] == 1:
        return planar[0].astype(np.float32, copy=True)
    return planar.mean(axis=0, dtype=np.float32)
