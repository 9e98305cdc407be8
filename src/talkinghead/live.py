"""``talkinghead live``: a portrait speaking speech as it arrives, in real time.

The speech comes from a file or as raw PCM on standard input, no faster than it would be spoken
(:func:`paced`: a file plays at its own pace, as a microphone or a text-to-speech engine would
deliver it; a burst on standard input is held back to it); a reader thread stamps each chunk
with its arrival time and queues it (up to 5 s: memory stays bounded). This thread feeds the chunks to
:meth:`TalkingHeadPipeline.stream <talkinghead.pipeline.TalkingHeadPipeline.stream>` and writes
each frame as it comes: to an mp4 (the sound is the speech received, muxed as it arrives) and,
if asked, as an MJPEG stream on localhost that any browser shows.

Measured per frame: its latency (from the arrival of the chunk that holds the frame's own time
to the frame being ready) and whether it was dropped (a frame more than ``max_delay_s`` late is
not rendered; the previous frame is shown again so the video keeps its timing).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from talkinghead.types import InputError

if TYPE_CHECKING:
    from talkinghead.pipeline import GenerateConfig, TalkingHeadPipeline

#: Seconds of speech per chunk read from a file or standard input (a microphone's usual block).
CHUNK_S = 0.02
#: A frame whose speech arrived longer ago than this (s) is dropped instead of rendered.
MAX_DELAY_S = 1.0


@dataclass(frozen=True)
class LiveStats:
    """What a live run measured.

    Attributes:
        frames: video frames written.
        dropped: frames not rendered because they were later than ``max_delay_s`` (the previous one is repeated).
        latency_median_ms, latency_p95_ms: from a chunk's arrival to the frame showing its time being
            ready (NaN when a file is read as fast as possible: nothing arrives in real time).
        speech_s: seconds of speech received.
        wall_s: seconds from the first chunk's arrival to the last frame.
        lookahead_s: the stream's look-ahead.
        motion_s, render_s, encode_s: seconds spent making the motion, rendering and encoding (in this process).
    """

    frames: int
    dropped: int
    latency_median_ms: float
    latency_p95_ms: float
    speech_s: float
    wall_s: float
    lookahead_s: float
    motion_s: float = 0.0
    render_s: float = 0.0
    encode_s: float = 0.0

    def line(self) -> str:
        """One line for the terminal."""
        lat = ("latency not measured (not real time)" if np.isnan(self.latency_median_ms) else
               f"latency median {self.latency_median_ms:.0f} ms, 95th percentile {self.latency_p95_ms:.0f} ms")
        return f"{self.frames} frames, {self.dropped} dropped; {lat}; {self.speech_s:.1f} s of speech in {self.wall_s:.1f} s"


class _Arrivals:
    """Chunks received so far: their samples (the mp4's sound, read as it comes) and when each arrived."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.channels = 1
        self.layout = "mono"
        self._ends: list[int] = []  # sample index after each chunk still looked up
        self._times: list[float] = []
        self._samples: list[np.ndarray] = []  # not yet read by the writer
        self._unread = 0
        self.total = 0
        self.first: float | None = None

    def add(self, chunk: np.ndarray, at: float) -> None:
        self._samples.append(chunk)
        self._unread += len(chunk)
        self.total += len(chunk)
        self.first = at if self.first is None else self.first
        self._ends.append(self.total)
        self._times.append(at)

    def arrival(self, sample: int) -> float:
        """When the chunk holding ``sample`` arrived (asked in order: older chunks are forgotten)."""
        i = min(int(np.searchsorted(self._ends, sample, side="right")), len(self._times) - 1)
        at = self._times[i]
        if i > 256:
            del self._ends[:i], self._times[:i]
        return at

    # The mp4 writer's audio track interface (talkinghead.media.audio.ArrayTrack, plus ``available``).
    def available(self) -> int:
        """Samples received and not yet read: the writer reads no further until more come."""
        return self._unread

    def read(self, n: int) -> np.ndarray:
        """Up to ``n`` received samples not yet read, float32 ``[1, m]``."""
        out, got = [], 0
        while self._samples and got < n:
            head = self._samples[0]
            take = head[: n - got]
            out.append(take)
            got += len(take)
            if len(take) == len(head):
                self._samples.pop(0)
            else:
                self._samples[0] = head[len(take):]
        self._unread -= got
        return (np.concatenate(out) if out else np.zeros(0, np.float32))[None]

    def close(self) -> None:
        """Nothing to release."""


def file_chunks(path: str | os.PathLike[str]) -> Iterator[np.ndarray]:
    """A speech file as :data:`CHUNK_S` chunks at 16 kHz (mono float32; :func:`speech_chunks`).

    Raises:
        InputError: unreadable or silent file.
    """
    from talkinghead.media.audio import load_speech
    from talkinghead.motion.streaming import STREAM_RATE

    return speech_chunks(load_speech(path, STREAM_RATE).samples)


def speech_chunks(samples: np.ndarray) -> Iterator[np.ndarray]:
    """16 kHz speech as consecutive :data:`CHUNK_S` chunks (views; the last may be shorter)."""
    from talkinghead.motion.streaming import STREAM_RATE

    step = int(round(CHUNK_S * STREAM_RATE))
    return (samples[i:i + step] for i in range(0, len(samples), step))


def paced(chunks: Iterator[np.ndarray], rate: int) -> Iterator[np.ndarray]:
    """The chunks no faster than real time: each released when the speech so far would have been spoken.

    A file is played at its own pace; standard input that comes in a burst (a pipe from a file,
    a backlog at start) is held back to its pace; input that comes slower is passed on as it comes.
    """
    start, done = None, 0
    for chunk in chunks:
        done += len(chunk)
        if start is None:
            start = time.perf_counter() - len(chunk) / rate  # the first chunk ends arriving now
        time.sleep(max(0.0, start + done / rate - time.perf_counter()))
        yield chunk


def pcm_chunks(stream: BinaryIO, rate: int) -> Iterator[np.ndarray]:
    """Raw signed 16-bit little-endian mono PCM at ``rate`` Hz from ``stream``, as 16 kHz float chunks.

    Other rates are resampled as they come (``av.AudioResampler``, libswresample).
    """
    from talkinghead.motion.streaming import STREAM_RATE

    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=STREAM_RATE) if rate != STREAM_RATE else None
    size = 2 * max(1, int(round(CHUNK_S * rate)))
    pending = b""
    while True:
        data = stream.read(size - len(pending))
        if data:
            pending += data
            if len(pending) < size:
                continue
        pcm = np.frombuffer(pending[: len(pending) // 2 * 2], "<i2")
        pending = b""
        if len(pcm):
            if resampler is None:
                yield pcm.astype(np.float32) / 32768.0
            else:
                frame = av.AudioFrame.from_ndarray(pcm[None], format="s16", layout="mono")
                frame.sample_rate = rate
                for out in resampler.resample(frame):
                    yield out.to_ndarray().reshape(-1).astype(np.float32)
        if not data:
            break
    if resampler is not None:
        for out in resampler.resample(None):
            yield out.to_ndarray().reshape(-1).astype(np.float32)


class MjpegServer:
    """The newest frame as an MJPEG stream on ``http://127.0.0.1:PORT/`` (any browser shows it).

    Frames are JPEG-encoded only while someone is watching. Standard-library HTTP server on a
    daemon thread; :meth:`close` stops it.

    Raises:
        InputError: the port cannot be opened.
    """

    def __init__(self, port: int) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self._frame: bytes | None = None
        self._cond = threading.Condition()
        self._watchers = 0
        self._closed = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server interface)
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                with server._cond:
                    server._watchers += 1
                try:
                    while True:
                        with server._cond:
                            server._cond.wait(timeout=1.0)
                            if server._closed:
                                return
                            jpeg = server._frame
                        if jpeg is None:
                            continue
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                                         + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    return
                finally:
                    with server._cond:
                        server._watchers -= 1

            def log_message(self, *args: object) -> None:  # quiet
                pass

        try:
            self._http = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        except OSError as e:
            raise InputError(f"--mjpeg {port}: cannot open the port ({e.strerror or e})") from e
        self._http.daemon_threads = True
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, name="talkinghead-mjpeg", daemon=True)
        self._thread.start()

    def show(self, frame: np.ndarray) -> None:
        """Publish an RGB frame (encoded only if someone is watching)."""
        if not self._watchers:
            return
        import cv2

        ok, buf = cv2.imencode(".jpg", frame[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
        if ok:
            with self._cond:
                self._frame = buf.tobytes()
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._http.shutdown()
        self._http.server_close()


def live(portrait: str | os.PathLike[str], audio: str | os.PathLike[str] | None, output: str | os.PathLike[str],
         config=None, rate: int = 16000, realtime: bool = True, lookahead_s: float | None = None,
         mjpeg_port: int | None = None, max_delay_s: float = MAX_DELAY_S,
         motion_out: str | os.PathLike[str] | None = None, progress: bool = False,
         text: str | None = None, tts=None, person=None) -> LiveStats:
    """Animate ``portrait`` speaking speech as it arrives, writing frames as they come.

    Args:
        portrait: image with a face.
        audio: a speech file (played in real time unless ``realtime`` is False) or ``"-"``: raw
            signed 16-bit little-endian mono PCM at ``rate`` Hz on standard input.
        output: the mp4 to write (frames and the speech received); written atomically at the end.
        config: a :class:`~talkinghead.pipeline.GenerateConfig` (size, fps, pose, blinks, seed).
        rate: sample rate of the PCM on standard input (Hz).
        realtime: pace the speech as if it were spoken now, a file or a burst on standard input
            (False: as fast as it can be made; latency is then not measured).
        lookahead_s: the stream's look-ahead (:data:`~talkinghead.motion.streaming.LOOKAHEAD_S`).
        mjpeg_port: also serve the frames as MJPEG on ``http://127.0.0.1:PORT/`` (0: any free port).
        max_delay_s: frames later than this are dropped (counted; the previous frame is repeated).
        motion_out: also save the streamed motion (``.npz``).
        progress: print the latency as it goes (stderr).
        text, tts: words to speak instead of ``audio`` (offline text to speech, a
            :class:`~talkinghead.audio.tts.TTSConfig`; extra ``tts``): synthesised first, then
            played in real time like a file.
        person: a :class:`~talkinghead.types.PersonModel` (``talkinghead fit``): their mouths, head-motion
            spread and, where fitted, their own motion model drive ``portrait``.
    Returns:
        The run's :class:`LiveStats`.
    Raises:
        InputError: bad input (both or neither of ``audio`` and ``text``), no face, no speech, an unwritable output.
    """
    from talkinghead.media.image import load_image
    from talkinghead.media.video import ensure_distinct
    from talkinghead.motion.streaming import LOOKAHEAD_S, MAX_LOOKAHEAD_S
    from talkinghead.media.files import check_output, check_writable
    from talkinghead.pipeline import GenerateConfig, TalkingHeadPipeline

    config = config or GenerateConfig()
    config.validate()
    if (audio is None) == (text is None):
        raise InputError("give speech (-a FILE or -a - for standard input) or --text, one of them")
    lookahead_s = LOOKAHEAD_S if lookahead_s is None else float(lookahead_s)
    from_stdin = str(audio) == "-"
    output = check_output(output, portrait, None if from_stdin else audio)
    if motion_out is not None:
        motion_out = Path(motion_out)
        if motion_out.suffix.lower() != ".npz":
            raise InputError(f"{motion_out}: the live motion is saved as .npz")
        ensure_distinct(motion_out, portrait, output, *(() if from_stdin else (audio,)))
        check_writable(motion_out)
    if not 0 <= lookahead_s <= MAX_LOOKAHEAD_S:
        raise InputError(f"--lookahead must be 0 to {MAX_LOOKAHEAD_S:g} s, got {lookahead_s:g}")
    if audio is not None and not (from_stdin or Path(audio).is_file()):
        raise InputError(f"{audio}: no such file")
    if from_stdin and not 8000 <= rate <= 192000:
        raise InputError(f"--rate must be a sample rate in Hz (8000-192000), got {rate}")
    pipe = TalkingHeadPipeline(load_image(portrait), config, source=str(portrait), person=person)
    with contextlib.ExitStack() as spoken:
        if text is not None:  # synthesised first (about 0.6 s a sentence), then played like a file
            import tempfile

            from talkinghead.audio.tts import TTSConfig, synthesize
            from talkinghead.media.audio import write_wav

            audio = write_wav(synthesize(text, tts or TTSConfig())[0],
                              Path(spoken.enter_context(tempfile.TemporaryDirectory(prefix="talkinghead-live-"))) / "s.wav")
        return _run(pipe, audio, output, config, rate, realtime, lookahead_s, mjpeg_port, max_delay_s, motion_out,
                    progress)


def _run(pipe: TalkingHeadPipeline, audio: str | os.PathLike[str], output: Path, config: GenerateConfig, rate: int,
         realtime: bool, lookahead_s: float, mjpeg_port: int | None, max_delay_s: float, motion_out: Path | None,
         progress: bool) -> LiveStats:
    """:func:`live` once its inputs are checked and the portrait is set up."""
    from talkinghead.media.prefetch import prefetched
    from talkinghead.media.writer import VideoWriter
    from talkinghead.motion.streaming import STREAM_RATE, motion_sequence

    from_stdin = str(audio) == "-"
    chunks = pcm_chunks(sys.stdin.buffer, rate) if from_stdin else file_chunks(audio)
    if realtime:
        chunks = paced(chunks, STREAM_RATE)
    arrivals = _Arrivals(STREAM_RATE)
    latencies: list[float] = []
    dropped = 0
    frames: list = [] if motion_out is not None else None  # type: ignore[assignment]

    def received() -> Iterator[np.ndarray]:
        # Read on a thread that stamps each chunk as it is released (up to 5 s ahead of this
        # thread); asked for once the stream is set up, so the speech's clock starts now.
        for chunk, at in prefetched(((c, time.perf_counter()) for c in chunks), depth=int(5 / CHUNK_S),
                                    name="talkinghead-audio-in"):
            arrivals.add(chunk, at)
            yield chunk

    def is_late(t: float) -> bool:
        return realtime and time.perf_counter() - arrivals.arrival(int(t * STREAM_RATE)) > max_delay_s

    with contextlib.ExitStack() as stack:
        server = MjpegServer(mjpeg_port) if mjpeg_port is not None else None
        if server is not None:
            stack.callback(server.close)
            print(f"live: watch at http://127.0.0.1:{server.port}/", file=sys.stderr)
        # Frames are made and written on this thread: the encoder may use every core (threads=0).
        writer = stack.enter_context(VideoWriter(output, fps=config.fps, size=pipe.renderer.output_size, speech=arrivals,
                                                 threads=0))
        last = None
        for t, frame in pipe.stream(received(), lookahead_s, motion=frames, late=is_late):
            ready = time.perf_counter()
            if frame is None:
                dropped += 1
                frame = last if last is not None else pipe.renderer.render(
                    np.zeros((478, 3), np.float32), np.zeros(6, np.float32), 0.0)
            else:
                latencies.append(ready - arrivals.arrival(int(t * STREAM_RATE)))
            t0 = time.perf_counter()
            writer.write(frame)
            pipe.times.add("encode", time.perf_counter() - t0)
            if server is not None:
                server.show(frame)
            last = frame
            if progress and writer.frames_written % 25 == 0 and latencies and sys.stderr.isatty():
                print(f"\rlive: {t:6.1f} s, latency {1000 * latencies[-1]:4.0f} ms, dropped {dropped}",
                      end="", file=sys.stderr, flush=True)
        if writer.frames_written == 0:
            raise InputError(f"{audio}: no speech received")
        wall = time.perf_counter() - (arrivals.first or time.perf_counter())
    if progress and sys.stderr.isatty():
        print(file=sys.stderr)
    if motion_out is not None:
        try:
            motion_sequence(frames, config.fps).save(motion_out)
        except OSError as e:
            raise InputError(f"{motion_out}: cannot write the motion file ({e.strerror or e})") from e
    # Latency only means something when the speech arrives at its own pace.
    lat = np.array(latencies) * 1000.0 if latencies and realtime else np.full(1, np.nan)
    return LiveStats(frames=writer.frames_written, dropped=dropped, latency_median_ms=float(np.median(lat)),
                     latency_p95_ms=float(np.percentile(lat, 95)), speech_s=arrivals.total / STREAM_RATE,
                     wall_s=wall, lookahead_s=lookahead_s, motion_s=pipe.times.seconds.get("motion", 0.0),
                     render_s=pipe.times.seconds.get("render", 0.0), encode_s=pipe.times.seconds.get("encode", 0.0))


def write_stats(stats: LiveStats, path: str | os.PathLike[str]) -> None:
    """Save the run's stats as JSON (atomically; a latency not measured is ``null``).

    Raises:
        InputError: the file cannot be written.
    """
    from talkinghead.media.files import atomic_path

    try:
        with atomic_path(path) as tmp:
            values = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in asdict(stats).items()}
            tmp.write_text(json.dumps(values, indent=2) + "\n")
    except OSError as e:
        raise InputError(f"{path}: cannot write the stats ({e.strerror or e})") from e
