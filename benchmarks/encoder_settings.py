"""What the writer's encoder settings cost and give: libx264 motion search / partitions, AAC coder.

    python benchmarks/encoder_settings.py [--repeats 3] [--out reports/encoder_settings]

Video: the demo rendered at 512x512 (JFK, learned motion, first 275 frames) and three real clips of
``../shared/data/videos`` (512, 844 and 480 px square) are encoded at the writer's crf 20 and
preset veryfast, single-threaded as the writer's encoder thread runs on 2 cores, with each
``x264-params`` setting; for each: CPU milliseconds a frame (median of ``--repeats``, the settings
taken in turn each round), bytes, and PSNR of the decoded frames against the input (all planes).
Audio: the 60 s English clip (16 kHz mono) encoded to AAC at 128 kb/s with each coder: CPU
seconds (median), bytes, SNR of the decoded sound. Writes ``encoder_settings.json`` and ``.md``.
Used for :data:`talkinghead.media.writer.FAST_X264_PARAMS` and ``AAC_CODER``.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from fractions import Fraction
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


def yuv_planes(rgb: list[np.ndarray]) -> list[np.ndarray]:
    """BT.709 limited-range yuv420p of RGB frames, as the writer converts them (swscale)."""
    import av
    from av.video.reformatter import VideoReformatter

    ref = VideoReformatter()
    return [ref.reformat(av.VideoFrame.from_ndarray(a, format="rgb24"), format="yuv420p", dst_colorspace=1,
                         dst_color_range="MPEG", threads=1).to_ndarray() for a in rgb]


def encode_video(yuv: list[np.ndarray], params: str) -> tuple[float, int, float]:
    """``(CPU ms a frame, bytes, PSNR dB)`` of libx264 crf 20 veryfast with ``params``."""
    import av

    h, w = yuv[0].shape[0] * 2 // 3, yuv[0].shape[1]
    frames = [av.VideoFrame.from_ndarray(p, format="yuv420p") for p in yuv]
    buf = io.BytesIO()
    out = av.open(buf, "w", format="mp4")
    s = out.add_stream("libx264", rate=25)
    s.width, s.height, s.pix_fmt = w, h, "yuv420p"
    s.codec_context.thread_count = 1
    s.codec_context.options = {"crf": "20", "preset": "veryfast", **({"x264-params": params} if params else {})}
    t = time.process_time()
    for i, f in enumerate(frames):
        f.pts = i
        out.mux(s.encode(f))
    out.mux(s.encode(None))
    out.close()
    ms = (time.process_time() - t) / len(frames) * 1000
    buf.seek(0)
    with av.open(buf) as dec:
        got = [f.to_ndarray() for f in dec.decode(video=0)]
    mse = float(np.mean([np.mean((a.astype(np.float64) - b) ** 2) for a, b in zip(yuv, got)]))
    return ms, len(buf.getvalue()), 10 * np.log10(255.0 ** 2 / mse)


def encode_audio(x: np.ndarray, coder: str) -> tuple[float, int, float]:
    """``(CPU s, bytes, SNR dB)`` of AAC 128 kb/s mono 16 kHz with ``coder``."""
    import av

    buf = io.BytesIO()
    out = av.open(buf, "w", format="mp4")
    a = out.add_stream("aac", rate=16000)
    a.codec_context.layout, a.codec_context.format, a.codec_context.bit_rate = "mono", "fltp", 128000
    a.codec_context.options = {"aac_coder": coder}
    t = time.process_time()
    for i in range(0, len(x), 1024):
        f = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[None, i:i + 1024]), format="fltp", layout="mono")
        f.sample_rate, f.pts, f.time_base = 16000, i, Fraction(1, 16000)
        out.mux(a.encode(f))
    out.mux(a.encode(None))
    out.close()
    cpu = time.process_time() - t
    buf.seek(0)
    with av.open(buf) as dec:
        y = np.concatenate([f.to_ndarray()[0] for f in dec.decode(audio=0)])[:len(x)]
    return cpu, len(buf.getvalue()), 10 * np.log10(np.sum(x[:len(y)] ** 2) / np.sum((x[:len(y)] - y) ** 2))


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
    for clip, rgb in clips.items():
        yuv = yuv_planes(rgb)
        runs: dict[str, list[tuple[float, int, float]]] = {p: [] for p in X264}
        for _ in range(args.repeats):
            for p in X264:
                runs[p].append(encode_video(yuv, p))
        for p in X264:
            ms = float(np.median([r[0] for r in runs[p]]))
            rows.append({"clip": clip, "x264_params": p or "(preset)", "ms_per_frame": round(ms, 2),
                         "bytes": runs[p][0][1], "psnr_db": round(float(runs[p][0][2]), 3)})
            print(json.dumps(rows[-1]), flush=True)
    x = load_speech(DATA / "audio" / "musetalk_eng.wav").samples.astype(np.float32)
    audio = []
    for coder in AAC:
        res = [encode_audio(x, coder) for _ in range(args.repeats)]
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
    print("\n".join(lines))


if __name__ == "__main__":
    main()
