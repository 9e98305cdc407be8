"""What the writer's encoder settings cost and give: libx264 motion search / partitions, AAC coder.

    python benchmarks/encoder_settings.py [--repeats 3] [--out reports/encoder_settings]

Video: the demo rendered at 512x512 (JFK, learned motion, first 275 frames) and three real clips of
``../shared/data/videos`` (512, 844 and 480 px square) are written by
:class:`~talkinghead.media.writer.VideoWriter` (crf 20, preset veryfast, one encoder thread as on 2
cores) with each ``x264_params``; for each: CPU milliseconds a frame (conversion to yuv420p and
encoding; median of ``--repeats``, the settings taken in turn each round), bytes, and PSNR of the
decoded RGB frames against the written ones. Audio: the 60 s English clip (16 kHz mono) written with
each AAC coder: CPU seconds (median), bytes, SNR of the decoded sound. Writes ``encoder_settings.json`` and ``.md``.
Used for :data:`talkinghead.media.writer.FAST_X264_PARAMS` and ``AAC_CODER``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
X264 = ("", "me=dia", "partitions=none", "me=dia:partitions=none")
AAC = ("twoloop", "fast")


def demo_frames(n: int = 275) -> list[np.ndarray]:
    """The demo's first ``n`` frames at 512x512 (RGB uint8)."""
    import talkinghead
    from talkinghead.cli import DEMO_TRANSCRIPT
    from talkinghead.media.audio import load_speech
    from talkinghead.media.image import load_image
    from talkinghead.pipeline import GenerateConfig, TalkingHeadPipeline, analyse_speech

    assets = Path(talkinghead.__file__).parent / "assets"
    pipe = TalkingHeadPipeline(load_image(assets / "astronaut.png"), GenerateConfig(size=512))
    seq = pipe.motion(analyse_speech(load_speech(assets / "jfk.flac"), DEMO_TRANSCRIPT, "auto"))
    return [pipe.renderer.render(seq.landmark_offsets[i], seq.head_pose[i], float(seq.blink[i]))
            for i in range(min(n, seq.num_frames))]


def encode_video(rgb: list[np.ndarray], params: str, work: Path) -> tuple[float, int, float]:
    """``(CPU ms a frame, bytes, PSNR dB)`` of the writer (crf 20, veryfast, one encoder thread) with
    ``x264_params=params``: RGB frames in, the decoded RGB frames scored against them."""
    import av

    from talkinghead.media.writer import VideoWriter

    out = work / "video.mp4"
    t = time.process_time()
    with VideoWriter(out, fps=25.0, size=(rgb[0].shape[1], rgb[0].shape[0]), threads=1, x264_params=params) as w:
        for f in rgb:
            w.write(f)
    ms = (time.process_time() - t) / len(rgb) * 1000
    with av.open(str(out)) as dec:
        got = [f.to_ndarray(format="rgb24") for f in dec.decode(video=0)]
    mse = float(np.mean([np.mean((a.astype(np.float64) - b) ** 2) for a, b in zip(rgb, got)]))
    return ms, out.stat().st_size, 10 * np.log10(255.0 ** 2 / mse)


def encode_audio(x: np.ndarray, coder: str, work: Path) -> tuple[float, int, float]:
    """``(CPU s, bytes, SNR dB)`` of the writer's AAC (16 kHz mono, 128 kb/s) with ``coder`` as
    :data:`~talkinghead.media.writer.AAC_CODER` (one 16x16 frame of video beside it)."""
    import av

    import talkinghead.media.writer as writer
    from talkinghead.types import Speech

    out = work / "audio.mp4"
    kept, writer.AAC_CODER = writer.AAC_CODER, coder
    try:
        t = time.process_time()
        with writer.VideoWriter(out, fps=25.0, size=(16, 16), speech=Speech(x, 16000), threads=1) as w:
            w.write(np.zeros((16, 16, 3), np.uint8))
        cpu = time.process_time() - t
    finally:
        writer.AAC_CODER = kept
    with av.open(str(out)) as dec:
        y = np.concatenate([f.to_ndarray()[0] for f in dec.decode(audio=0)])[:len(x)]
    return cpu, out.stat().st_size, 10 * np.log10(np.sum(x[:len(y)] ** 2) / np.sum((x[:len(y)] - y) ** 2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "encoder_settings")
    args = ap.parse_args()
    from talkinghead.media.audio import load_speech
    from talkinghead.media.video import read_video

    clips = {"render 512 (demo)": demo_frames()}
    for name in ("sadtalker_WDA_AlexandriaOcasioCortez_000", "vrt_face2", "liveportrait_d20"):
        clips[name] = list(read_video(DATA / "videos" / f"{name}.mp4"))
    rows = []
    work = Path(tempfile.mkdtemp())
    for clip, rgb in clips.items():
        runs: dict[str, list[tuple[float, int, float]]] = {p: [] for p in X264}
        for _ in range(args.repeats):
            for p in X264:
                runs[p].append(encode_video(rgb, p, work))
        for p in X264:
            ms = float(np.median([r[0] for r in runs[p]]))
            rows.append({"clip": clip, "x264_params": p or "(preset)", "ms_per_frame": round(ms, 2),
                         "bytes": runs[p][0][1], "psnr_db": round(float(runs[p][0][2]), 3)})
            print(json.dumps(rows[-1]), flush=True)
    x = load_speech(DATA / "audio" / "musetalk_eng.wav").samples.astype(np.float32)
    audio = []
    for coder in AAC:
        res = [encode_audio(x, coder, work) for _ in range(args.repeats)]
        audio.append({"aac_coder": coder, "cpu_s": round(float(np.median([r[0] for r in res])), 3),
                      "bytes": res[0][1], "snr_db": round(float(res[0][2]), 2), "seconds": round(len(x) / 16000, 1)})
        print(json.dumps(audio[-1]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "encoder_settings.json").write_text(json.dumps({"video": rows, "audio": audio}, indent=1) + "\n")
    lines = ["| clip | x264-params | ms a frame | bytes | PSNR dB |", "|---|---|---:|---:|---:|"]
    lines += [f"| {r['clip']} | {r['x264_params']} | {r['ms_per_frame']} | {r['bytes']} | {r['psnr_db']} |" for r in rows]
    lines += ["", "| AAC coder | CPU s | bytes | SNR dB |", "|---|---:|---:|---:|"]
    lines += [f"| {a['aac_coder']} | {a['cpu_s']} | {a['bytes']} | {a['snr_db']} |" for a in audio]
    (args.out / "encoder_settings.md").write_text("\n".join(lines) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
