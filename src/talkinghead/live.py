"""``talkinghead live``: a portrait speaking speech as it arrives, in real time.

The speech comes from a file played at its own pace (as a microphone or a text-to-speech
engine would deliver it) or as raw PCM on standard input; a reader thread stamps each chunk
with its arrival time and queues it. This thread feeds the chunks to
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
import queue
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from talkinghead.types import InputError

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
    """Chunks received so far: their samples (for the mp4's sound) and when each ended arriving."""

    def __init__(self) -> None:
        self.ends: list[int] = []  # sample index after each chunk
        self.times: list[float] = []  # perf_counter when it arrived
        self._samples: list[np.ndarray] = []
        self.total = 0

    def add(self, chunk: np.ndarray, at: float) -> None:
        self._samples.append(chunk)
        self.total += len(chunk)
        self.ends.append(self.total)
        self.times.append(at)

    def arrival(self, sample: int) -> float:
        """When the chunk holding ``sample`` arrived."""
        i = int(np.searchsorted(self.ends, sample, side="right"))
        return self.times[min(i, len(self.times) - 1)]

    # The mp4 writer's audio track interface (see talkinghead.media.audio.ArrayTrack).
    sample_rate = 16000
    channels = 1
    layout = "mono"

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
        return (np.concatenate(out) if out else np.zeros(0, np.float32))[None]

    def close(self) -> None:
        """Nothing to release."""


def file_chunks(path: str | os.PathLike[str], realtime: bool = True) -> Iterator[np.ndarray]:
    """A speech file as :data:`CHUNK_S` chunks at 16 kHz, each released when it would have ended arriving.

    Raises:
        InputError: unreadable or silent file.
    """
    from talkinghead.media.audio import load_speech
    from talkinghead.motion.streaming import STREAM_RATE

    x = load_speech(path, STREAM_RATE).samples
    step = int(round(CHUNK_S * STREAM_RATE))
    start = time.perf_counter()
    for i in range(0, len(x), step):
        if realtime:
            due = start + (i + step) / STREAM_RATE
            time.sleep(max(0.0, due - time.perf_counter()))
        yield x[i:i + step]


def pcm_chunks(stream: BinaryIO, rate: int) -> Iterator[np.ndarray]:
    """Raw signed 16-bit little-endian mono PCM at ``rate`` Hz from ``stream``, as 16 kHz float chunks.

    Other rates are resampled as they come (``av.AudioResampler``, libswresample).
    """
    from talkinghead.motion.streaming import STREAM_RATE

    resampler = None
    if rate != STREAM_RATE:
        import av

        resampler = av.AudioResampler(format="flt", layout="mono", rate=STREAM_RATE)
    size = 2 * max(1, int(round(CHUNK_S * rate)))
    pending = b""
    while True:
        data = stream.read(size - len(pending)) if hasattr(stream, "read") else b""
        if not data:
            break
        pending += data
        if len(pending) < size:
            continue
        x = np.frombuffer(pending, "<i2").astype(np.float32) / 32768.0
        pending = b""
        if resampler is None:
            yield x
            continue
        import av

        frame = av.AudioFrame.from_ndarray(np.round(x * 32767).astype(np.int16)[None], format="s16", layout="mono")
        frame.sample_rate = rate
        for out in resampler.resample(frame):
            yield out.to_ndarray().reshape(-1).astype(np.float32)
    if resampler is not None:
        for out in resampler.resample(None):
            yield out.to_ndarray().reshape(-1).astype(np.float32)


def _reader(chunks: Iterator[np.ndarray], q: queue.Queue, stop: threading.Event) -> None:
    """Thread: put ``(chunk, arrival time)`` on ``q``, then ``None``; an error as ``(exception, None)``."""
    try:
        for chunk in chunks:
            if stop.is_set():
                return
            q.put((chunk, time.perf_counter()))
        q.put(None)
    except BaseException as e:  # handed to the consumer, which raises it
        q.put((e, None))


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


def live(portrait: str | os.PathLike[str], audio: str | os.PathLike[str], output: str | os.PathLike[str],
         config=None, rate: int = 16000, realtime: bool = True, lookahead_s: float | None = None,
         mjpeg_port: int | None = None, max_delay_s: float = MAX_DELAY_S,
         motion_out: str | os.PathLike[str] | None = None, progress: bool = False) -> LiveStats:
    """Animate ``portrait`` speaking speech as it arrives, writing frames as they come.

    Args:
        portrait: image with a face.
        audio: a speech file (played in real time unless ``realtime`` is False) or ``"-"``: raw
            signed 16-bit little-endian mono PCM at ``rate`` Hz on standard input.
        output: the mp4 to write (frames and the speech received); written atomically at the end.
        config: a :class:`~talkinghead.pipeline.GenerateConfig` (size, fps, pose, blinks, seed).
        rate: sample rate of the PCM on standard input (Hz).
        realtime: pace a file as if it were spoken now (False: as fast as it can be made).
        lookahead_s: the stream's look-ahead (:data:`~talkinghead.motion.streaming.LOOKAHEAD_S`).
        mjpeg_port: also serve the frames as MJPEG on ``http://127.0.0.1:PORT/`` (0: any free port).
        max_delay_s: frames later than this are dropped (counted; the previous frame is repeated).
        motion_out: also save the streamed motion (``.npz``).
        progress: print the latency as it goes (stderr).
    Returns:
        The run's :class:`LiveStats`.
    Raises:
        InputError: bad input, no face, no speech, an unwritable output.
    """
    from talkinghead.media.image import load_image
    from talkinghead.media.video import VideoWriter, ensure_distinct
    from talkinghead.motion.streaming import STREAM_RATE, LOOKAHEAD_S, motion_sequence
    from talkinghead.pipeline import GenerateConfig, TalkingHeadPipeline, check_output

    config = config or GenerateConfig()
    config.validate()
    lookahead_s = LOOKAHEAD_S if lookahead_s is None else float(lookahead_s)
    from_stdin = str(audio) == "-"
    output = check_output(output, portrait, None if from_stdin else audio)
    if motion_out is not None:
        motion_out = Path(motion_out)
        if motion_out.suffix.lower() != ".npz":
            raise InputError(f"{motion_out}: the live motion is saved as .npz")
        ensure_distinct(motion_out, portrait, output, *(() if from_stdin else (audio,)))
    if not (from_stdin or Path(audio).is_file()):
        raise InputError(f"{audio}: no such file")
    if from_stdin and not 8000 <= rate <= 192000:
        raise InputError(f"--rate must be a sample rate in Hz (8000-192000), got {rate}")
    pipe = TalkingHeadPipeline(load_image(portrait), config, source=str(portrait))
    chunks = pcm_chunks(sys.stdin.buffer, rate) if from_stdin else file_chunks(audio, realtime)
    arrivals = _Arrivals()
    arrivals.sample_rate = STREAM_RATE
    q: queue.Queue = queue.Queue()
    stop = threading.Event()
    latencies: list[float] = []
    dropped = 0
    frames: list = [] if motion_out is not None else None  # type: ignore[assignment]

    def received() -> Iterator[np.ndarray]:
        reader.start()  # asked for once the stream is set up: the speech's clock starts now
        while True:
            item = q.get()
            if item is None:
                return
            chunk, at = item
            if at is None:
                raise chunk
            arrivals.add(chunk, at)
            yield chunk

    def is_late(t: float) -> bool:
        return realtime and time.perf_counter() - arrivals.arrival(int(t * STREAM_RATE)) > max_delay_s

    reader = threading.Thread(target=_reader, args=(chunks, q, stop), name="talkinghead-audio-in", daemon=True)
    with contextlib.ExitStack() as stack:
        server = MjpegServer(mjpeg_port) if mjpeg_port is not None else None
        if server is not None:
            stack.callback(server.close)
            print(f"live: watch at http://127.0.0.1:{server.port}/", file=sys.stderr)
        writer = stack.enter_context(VideoWriter(output, fps=config.fps, size=pipe.renderer.output_size, speech=arrivals))
        stack.callback(stop.set)
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
        wall = time.perf_counter() - (arrivals.times[0] if arrivals.times else time.perf_counter())
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
