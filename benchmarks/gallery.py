"""Contact sheets to look at: portraits x speech clips, at a bilabial, an open vowel, a blink and a pause.

    python benchmarks/gallery.py --out reports/gallery [--videos] [--size 256]

Each row is one (portrait, clip): the source crop, then the frame where the lips are most closed
on a p/b/m (or the strongest closure), the widest-open frame, the most-closed-eyes frame, a
frame in the longest pause, and a frame with the largest head turn. Writes one PNG per clip
and, with --videos, the mp4s too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PORTRAITS = [
    "photo/sadtalker_people_0.png", "photo/liveportrait_d9.jpg", "photo/liveportrait_d8.jpg",
    "photo/deepface_img61.jpg", "photo/liveportrait_s2.jpg", "photo/facerec_lin-manuel-miranda.png",
    "photo/real3d_Macron.png", "nonphoto/liveportrait_s10_pearl_earring.jpg", "nonphoto/liveportrait_s7_3dcartoon.jpg",
    "nonphoto/echomimic_e_caricature.png", "nonphoto/dreamtalk_nscu2_sculpture.png", "photo/hallo_3.jpg",
]
CLIPS = ["whisper_jfk.flac", "sadtalker_japanese.wav", "vrt_audio_1.wav"]


def label(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="reports/gallery")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--videos", action="store_true", help="also write the mp4s")
    ap.add_argument("--portraits", nargs="*", default=PORTRAITS)
    ap.add_argument("--clips", nargs="*", default=CLIPS)
    args = ap.parse_args()
    from talkinghead.cli import DEMO_TRANSCRIPT
    from talkinghead.media.audio import load_speech
    from talkinghead.media.image import load_image
    from talkinghead.motion.rig import AU_NAMES
    from talkinghead.pipeline import GenerateConfig, TalkingHeadPipeline, analyse_speech

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    speeches = {c: load_speech(DATA / "audio" / c) for c in args.clips}
    analyses = {c: analyse_speech(s, DEMO_TRANSCRIPT if c == "whisper_jfk.flac" else None, "auto") for c, s in speeches.items()}
    for clip in args.clips:
        a = analyses[clip]
        rows = []
        for p in args.portraits:
            pipe = TalkingHeadPipeline(load_image(DATA / "portraits" / p), GenerateConfig(size=args.size), source=p)
            seq = pipe.motion(a)
            jaw, close = seq.au[:, AU_NAMES.index("jawOpen")], seq.au[:, AU_NAMES.index("mouthClose")]
            speaking = np.convolve(jaw, np.ones(9) / 9, mode="same") > 0.15
            picks = {
                "bilabial": int(np.argmax(np.where(speaking, close, -1))),
                "open": int(np.argmax(jaw)),
                "blink": int(np.argmax(seq.blink)),
                "pause": int(np.argmin(np.convolve(jaw, np.ones(15), mode="same"))),
                "turn": int(np.argmax(np.abs(seq.head_pose[:, 1]))),
            }
            r = pipe.renderer
            cells = [label(r.source, "source")]
            for name, f in picks.items():
                frame = r.render(seq.landmark_offsets[f], seq.head_pose[f], float(seq.blink[f]))
                cells.append(label(frame, f"{name} {f / seq.fps:.2f}s"))
            rows.append(np.concatenate([cv2.resize(c, (args.size, args.size)) for c in cells], axis=1))
            if args.videos:
                pipe.write(seq, a.speech, out / f"{Path(p).stem}__{Path(clip).stem}.mp4")
            print(f"{clip} {p}: source={a.phones.source} frames={seq.num_frames}", flush=True)
        sheet = np.concatenate(rows, axis=0)
        path = out / f"sheet_{Path(clip).stem}.png"
        cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
