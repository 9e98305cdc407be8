"""Dubbed mp4s as users get them: decoded frames passed through (media/yuv.py) against the RGB path.

    python benchmarks/dub_passthrough.py [--clips 10] [--out reports/dub_passthrough]

Self-reconstruction of GRID s1 test clips (each clip's video dubbed with its own audio, no
transcript, its own frames as the mouth bank: an A/B of the two paths, not a lip-sync score),
written to H.264 by ``talkinghead.dub`` once with the pass-through and once with it switched off
(every frame converted to RGB and back), decoded and compared with the real frames: PSNR of the
whole frame and of a 60x40 box on the mouth (centred on the tracked lips of the real frame), and
the command's time. Writes ``passthrough.json`` and ``passthrough.md``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0 ** 2 / max(float(((a.astype(np.float64) - b) ** 2).mean()), 1e-9)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--out", default="reports/dub_passthrough")
    args = ap.parse_args()
    import talkinghead.media.yuv as yuv
    from talkinghead.dubbing import dub
    from talkinghead.eval.datasets import GRID_S1_TEST
    from talkinghead.face.track import track_video
    from talkinghead.media.video import read_video
    from talkinghead.pipeline import GenerateConfig

    passthrough = yuv.passthrough_color
    paths = {"passed through": passthrough, "through RGB": lambda path: None}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in list(GRID_S1_TEST)[: args.clips]:
            video = DATA / "grid" / "s1" / "video" / f"{name}.mp4"
            real = list(read_video(video))
            lips = track_video(video).landmarks[:, [13, 14, 61, 291], :2].mean(axis=1)
            row: dict[str, object] = {"clip": name}
            for label, probe in paths.items():
                yuv.passthrough_color = probe  # what Dubber asks: None sends every frame through RGB
                out = Path(tmp) / "out.mp4"
                t = time.perf_counter()
                try:
                    dub(video, video, out, config=GenerateConfig(phones="acoustic"))
                finally:
                    yuv.passthrough_color = passthrough
                seconds = time.perf_counter() - t
                frame, mouth = [], []
                for a, b, c in zip(real, read_video(out), lips):
                    frame.append(psnr(a, b))
                    if np.isfinite(c).all():
                        x, y = np.maximum(c.astype(int), (30, 20))  # the box inside the frame
                        mouth.append(psnr(a[y - 20:y + 20, x - 30:x + 30], b[y - 20:y + 20, x - 30:x + 30]))
                row[label] = {"frame_psnr": float(np.mean(frame)), "mouth_psnr": float(np.mean(mouth)), "seconds": seconds}
            rows.append(row)
            print(json.dumps(row), flush=True)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "passthrough.json").write_text(json.dumps(rows, indent=2))
    lines = ["| path | frame PSNR dB | mouth-box PSNR dB | seconds per clip | clips better (frame / mouth) |",
             "|---|---:|---:|---:|---|"]
    for label in paths:
        other = next(k for k in paths if k != label)
        better = [sum(r[label][m] > r[other][m] for r in rows) for m in ("frame_psnr", "mouth_psnr")]  # type: ignore[index]
        mean = {m: np.mean([r[label][m] for r in rows]) for m in ("frame_psnr", "mouth_psnr", "seconds")}  # type: ignore[index]
        lines.append(f"| {label} | {mean['frame_psnr']:.2f} | {mean['mouth_psnr']:.2f} | {mean['seconds']:.2f} | "
                     f"{better[0]} / {better[1]} of {len(rows)} |")
    (out_dir / "passthrough.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
