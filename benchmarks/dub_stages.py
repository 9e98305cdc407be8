"""Where a dubbed 720p frame's time goes, stage by stage, in one process (milliseconds a frame).

    python benchmarks/dub_stages.py [--frames 200] [--out reports/dub_stages]

On the 1280x720 video that ``benchmarks/dub_speed.py`` makes (run that first): decoding (to YUV;
the YUV to RGB conversion apart), tracking (MediaPipe video mode, the dub's tracker), the warp
mesh's Delaunay triangulation, the whole first pass (tracking every frame and every other frame), re-animating a frame through RGB (whole frame) and passed through
(the face's box only, :mod:`talkinghead.media.yuv`; both with the decoding on its own thread), the RGB to YUV conversion of a whole frame,
and H.264 encoding (the writer's settings, wall and CPU). Writes ``stages.json`` and ``stages.md``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections import deque
from collections.abc import Callable, Iterable
from itertools import islice
from pathlib import Path

WORK = Path("reports/dub_speed/work")


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def per_frame(fn: Callable[[], object], n: int) -> tuple[float, float, object]:
    """Wall and CPU milliseconds per frame of ``fn()`` (which does ``n`` frames), and its value."""
    c, t = cpu_s(), time.perf_counter()
    out = fn()
    return (time.perf_counter() - t) / n * 1e3, (cpu_s() - c) / n * 1e3, out


def drain(frames: Iterable[object]) -> None:
    """Use up ``frames`` keeping none (as the writer does: each frame is let go once encoded)."""
    deque(frames, maxlen=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--out", default="reports/dub_stages")
    args = ap.parse_args()
    import av
    from av.video.reformatter import VideoReformatter

    from talkinghead.dubbing import Dubber
    from talkinghead.face.track import TRACK_SHORT_SIDE, Tracker
    from talkinghead.media.audio import load_speech
    from talkinghead.media.video import read_decoded
    from talkinghead.media.writer import VideoWriter
    from talkinghead.media.yuv import copy_frame, to_rgb
    from talkinghead.pipeline import GenerateConfig, analyse_speech
    from talkinghead.render.warp import build_warp_mesh, delaunay
    from talkinghead.types import Speech

    video = WORK / "talk_720p.mp4"
    if not video.exists():
        raise SystemExit(f"{video} is missing: run python benchmarks/dub_speed.py first")
    n = args.frames
    rows: dict[str, tuple[float, float]] = {}
    w, c, decoded = per_frame(lambda: [copy_frame(f) for f in islice(read_decoded(video), n)], n)
    rows["decode (YUV, copied)"] = (w, c)
    # Timed as the dub converts: one frame at a time, let go (holding 200 new 720p frames at once timed
    # their page faults: 6.8 ms a frame against 0.4); the frames kept for tracking are made untimed.
    rows["YUV to RGB, whole frame"] = per_frame(lambda: drain(to_rgb(f) for f in decoded), n)[:2]
    rgb = [to_rgb(f) for f in decoded]
    with Tracker(25.0, max_short_side=TRACK_SHORT_SIDE) as tracker:
        tracker.add(rgb[0])
        rows["track (MediaPipe)"] = per_frame(lambda: [tracker.add(f) for f in rgb], n)[:2]
        lm = tracker.track().landmarks
    mesh = build_warp_mesh(lm[0], rgb[0].shape[:2])
    outer = mesh.source[mesh.num_face:]
    rows["Delaunay of the warp mesh's outer points"] = per_frame(lambda: [delaunay(outer) for _ in range(n)], n)[:2]
    for stride in (1, 2):  # the whole first pass as Dubber runs it (decoding, tracking, skin colours, mouth bank)
        rows[f"first pass, tracking every {'' if stride == 1 else 'other '}frame"] = per_frame(
            lambda: Dubber(video, GenerateConfig(), max_frames=n, track_stride=stride), n)[:2]
    speech = load_speech(WORK / "speech_30s.wav")
    speech = Speech(samples=speech.samples[: int(n / 25.0 * speech.sample_rate)], sample_rate=speech.sample_rate)
    dubber = Dubber(video, GenerateConfig(), max_frames=n)
    motion = dubber.motion(analyse_speech(speech, None, "acoustic"))
    color = dubber.color
    for _ in range(2):  # the first round warms up (first calls, lazy imports); the second counts
        dubber.color, dubber.video_frames.yuv = color, True
        rows["re-animate, passed through (face box only)"] = per_frame(lambda: drain(dubber.frames(motion)), n)[:2]
        dubber.color, dubber.video_frames.yuv = None, False
        rows["re-animate, through RGB (whole frame)"] = per_frame(lambda: drain(dubber.frames(motion)), n)[:2]
    ref = VideoReformatter()
    rows["RGB to YUV, whole frame"] = per_frame(lambda: drain(ref.reformat(
        av.VideoFrame.from_ndarray(f, format="rgb24"), format="yuv420p", dst_colorspace="ITU709",
        dst_color_range="MPEG", threads=1) for f in rgb), n)[:2]
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    def encode() -> None:
        with VideoWriter(out_dir / "encoded.mp4", 25.0, (decoded[0].width, decoded[0].height)) as writer:
            for f in decoded:
                writer.write(copy_frame(f))

    rows["H.264 encode (libx264 veryfast, the writer's threads: encoder_threads())"] = per_frame(encode, n)[:2]
    (out_dir / "encoded.mp4").unlink()
    (out_dir / "stages.json").write_text(json.dumps({k: {"wall_ms": v[0], "cpu_ms": v[1]} for k, v in rows.items()},
                                                    indent=2))
    lines = [f"{n} frames of {video} (1280x720), one process", "", "| stage | wall ms a frame | CPU ms a frame |",
             "|---|---:|---:|"] + [f"| {k} | {v[0]:.2f} | {v[1]:.2f} |" for k, v in rows.items()]
    (out_dir / "stages.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
