"""Mouth and eye close-ups to look at: 12 portraits x a bilabial, an open vowel, a rounded vowel, a blink.

    python benchmarks/mouth_gallery.py --out reports/mouth_gallery/after
    PYTHONPATH=<checkout of an older commit>/src python benchmarks/mouth_gallery.py --out reports/mouth_gallery/before
    python benchmarks/mouth_gallery.py --compare reports/mouth_gallery/before reports/mouth_gallery/after --out reports/mouth_gallery

The drive is the demo clip with its transcript (phones from forced alignment), so the frames are
chosen by what is said: the most closed frame inside an m/b/p, the widest inside an open vowel
(AA, AE, AH, AO), the most rounded inside a rounded one (UW, OW, W: narrowest mouth), and the
most closed eyes. Each cell is the 512x512 render zoomed 2x on the mouth (top) and the right
eye (bottom). ``--compare`` puts two runs side by side per portrait: before | after (JPEG).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PORTRAITS = [
    "photo/sadtalker_people_0.png", "photo/liveportrait_d8.jpg", "photo/hallo_3.jpg", "photo/facerec_obama1.jpg",
    "photo/deepface_img61.jpg", "photo/liveportrait_s2.jpg", "photo/real3d_Macron.png",
    "nonphoto/liveportrait_s10_pearl_earring.jpg", "nonphoto/liveportrait_s7_3dcartoon.jpg",
    "nonphoto/dreamtalk_nscu2_sculpture.png", "nonphoto/hallo_4_sketch.jpg", "photo/liveportrait_d9.jpg",
]
MOMENTS = ("bilabial", "open vowel", "rounded vowel", "blink")
CELL = 192


def _zoom(frame: np.ndarray, centre: np.ndarray, half: float) -> np.ndarray:
    h = int(round(half))
    x, y = int(round(centre[0])), int(round(centre[1]))
    pad = cv2.copyMakeBorder(frame, h, h, 2 * h, 2 * h, cv2.BORDER_REPLICATE)
    crop = pad[y:y + 2 * h, x:x + 4 * h]
    return cv2.resize(crop, (2 * CELL, CELL), interpolation=cv2.INTER_CUBIC)


def render(out: Path, portraits: list[str]) -> None:
    from talkinghead.cli import DEMO_TRANSCRIPT
    from talkinghead.media.audio import load_speech
    from talkinghead.media.image import load_image
    from talkinghead.pipeline import GenerateConfig, TalkingHeadPipeline, analyse_speech

    assets = Path(__import__("talkinghead").__file__).parent / "assets"
    a = analyse_speech(load_speech(assets / "jfk.flac"), DEMO_TRANSCRIPT, "auto")
    out.mkdir(parents=True, exist_ok=True)
    for p in portraits:
        pipe = TalkingHeadPipeline(load_image(DATA / "portraits" / p), GenerateConfig(size=512), source=p)
        seq = pipe.motion(a)
        r = pipe.renderer
        lms = [r.target_landmarks(seq.landmark_offsets[f], seq.head_pose[f], 0.0) for f in range(seq.num_frames)]
        gap = np.array([lm[14, 1] - lm[13, 1] for lm in lms])
        width = np.array([np.hypot(*(lm[291, :2] - lm[61, :2])) for lm in lms])

        def during(phones: set[str]) -> np.ndarray:
            sel = np.zeros(seq.num_frames, bool)
            for s in a.phones.segments:
                if s.phone in phones:
                    sel[int(s.start_s * seq.fps):int(np.ceil(s.end_s * seq.fps)) + 1] = True
            return sel[:seq.num_frames]

        picks = {
            "bilabial": int(np.argmin(np.where(during({"M", "B", "P"}), gap, np.inf))),
            "open vowel": int(np.argmax(np.where(during({"AA", "AE", "AH", "AO"}), gap, -np.inf))),
            "rounded vowel": int(np.argmin(np.where(during({"UW", "OW", "W"}), width, np.inf))),
            "blink": int(np.argmax(seq.blink)),
        }
        cells = []
        for name in MOMENTS:
            f = picks[name]
            frame = r.render(seq.landmark_offsets[f], seq.head_pose[f], float(seq.blink[f]))
            lm = r.target_landmarks(seq.landmark_offsets[f], seq.head_pose[f], 0.0)
            mw = float(np.hypot(*(lm[291, :2] - lm[61, :2])))
            mouth = _zoom(frame, lm[[13, 14, 61, 291], :2].mean(0), 0.55 * mw)
            ew = float(np.hypot(*(lm[133, :2] - lm[33, :2])))
            eye = _zoom(frame, lm[[33, 133], :2].mean(0), 0.55 * ew)
            cell = np.concatenate([mouth, eye], axis=0)
            cv2.putText(cell, f"{name} {f / seq.fps:.2f}s", (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
            cells.append(cell)
        row = np.concatenate(cells, axis=1)
        cv2.imwrite(str(out / f"{Path(p).stem}.png"), cv2.cvtColor(row, cv2.COLOR_RGB2BGR))
        print(p, picks, flush=True)


def compare(before: Path, after: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for a in sorted(after.glob("*.png")):
        b = before / a.name
        if not b.is_file():
            continue
        ib, ia = cv2.imread(str(b)), cv2.imread(str(a))
        bar = np.full((ia.shape[0], 8, 3), 255, np.uint8)
        rows = []
        for k in range(len(MOMENTS)):  # before | after per moment, moments stacked
            w = 2 * CELL
            rows.append(np.concatenate([ib[:, k * w:(k + 1) * w], bar, ia[:, k * w:(k + 1) * w]], axis=1))
        cv2.imwrite(str(out / f"compare_{a.stem}.jpg"), np.concatenate(rows, axis=0), [cv2.IMWRITE_JPEG_QUALITY, 90])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="reports/mouth_gallery/after")
    ap.add_argument("--portraits", nargs="*", default=PORTRAITS)
    ap.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="pair two runs' PNGs side by side")
    args = ap.parse_args()
    if args.compare:
        compare(Path(args.compare[0]), Path(args.compare[1]), Path(args.out))
    else:
        render(Path(args.out), args.portraits)


if __name__ == "__main__":
    main()
