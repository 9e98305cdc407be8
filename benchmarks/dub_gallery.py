"""Dubbing contact sheets: real | dubbed | one-shot, at a bilabial, an open vowel, a rounded vowel, a pause.

    python benchmarks/dub_gallery.py --out reports/dub_gallery

Self-reconstruction as in ``talkinghead eval``'s dub system: each real clip's own video is dubbed
with its own speech and transcript (GRID s1 test clips with the s1 person model's mouths, the
interview clips with mouths from their own frames at least 2 s away), beside one-shot ``generate``
from its first frame; frames are picked by the aligned phones (p/b/m, AA/AE/AH/AO, UW/OW/W, the
first pause frame; without phones the real mouth's most closed frame in speech and most open frame,
labelled so) and shown at 2x
zoom on the mouth (each row on its own tracked face). One PNG per clip.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CLIPS = (("grid_test", 0), ("grid_test", 5), ("grid_test", 9), ("videos", 0), ("videos", 7))
CELL = (240, 160)


def _zoom(frame: np.ndarray, lm: np.ndarray) -> np.ndarray:
    c = lm[[13, 14, 61, 291], :2].mean(axis=0)
    w = float(np.hypot(*(lm[291, :2] - lm[61, :2])))
    half = int(0.9 * w)
    x, y = int(round(c[0])), int(round(c[1]))
    pad = cv2.copyMakeBorder(frame, half, half, 2 * half, 2 * half, cv2.BORDER_REPLICATE)
    crop = pad[y + half - int(0.66 * half):y + half + int(0.66 * half), x + 2 * half - half:x + 2 * half + half]
    return cv2.resize(crop, CELL, interpolation=cv2.INTER_CUBIC)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="reports/dub_gallery")
    args = ap.parse_args()
    from talkinghead.audio.phones import align_transcript
    from talkinghead.eval.reference import prepare_reference
    from talkinghead.eval.systems import system_frames
    from talkinghead.eval.datasets import load_set
    from talkinghead.pipeline import analyse_speech

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for set_name, k in CLIPS:
        clip = load_set(set_name, DATA)[k]
        ref = prepare_reference(clip)
        n = ref.num_frames
        if clip.transcript:
            phones = align_transcript(ref.speech, clip.transcript).segments
        else:
            phones = analyse_speech(ref.speech, None, "auto").phones.segments
        real_open = np.nan_to_num(ref.track.landmarks[:, 14, 1] - ref.track.landmarks[:, 13, 1])

        def during(names: set[str]) -> np.ndarray:
            sel = np.zeros(n, bool)
            for s in phones:
                if s.phone in names:
                    sel[int(s.start_s * ref.fps):int(np.ceil(s.end_s * ref.fps)) + 1] = True
            return sel[:n]

        picks = {}
        if during({"M", "B", "P"}).any():
            picks["bilabial"] = int(np.argmin(np.where(during({"M", "B", "P"}), real_open, np.inf)))
        if during({"AA", "AE", "AH", "AO"}).any():
            picks["open vowel"] = int(np.argmax(np.where(during({"AA", "AE", "AH", "AO"}), real_open, -np.inf)))
        if during({"UW", "OW", "W"}).any():
            picks["rounded vowel"] = int(np.argmax(np.where(during({"UW", "OW", "W"}), real_open, -np.inf)))
        speaking = ~ref.pauses[:n]
        # Without phones (no transcript, recognition unreliable): the real mouth's own extremes, named as such.
        if "bilabial" not in picks:
            picks["most closed in speech"] = int(np.argmin(np.where(speaking, real_open, np.inf)))
        if "open vowel" not in picks:
            picks["most open"] = int(np.argmax(real_open))
        picks["pause"] = int(np.argmax(ref.pauses)) if ref.pauses.any() else 0
        dubbed = list(system_frames("dub", ref)[0])
        one_shot = list(system_frames("learned", ref)[0])
        from talkinghead.face.track import track_frames, video_frames

        real = list(video_frames(clip.video, ref.fps))
        rows = []
        for label, frames in (("real", real), ("dubbed", dubbed), ("one-shot", one_shot)):
            # Each row is zoomed on its own face: the one-shot head moves its own way, not the real one's.
            lms = ref.track.landmarks if label == "real" else track_frames(frames, ref.fps).landmarks
            cells = []
            for name, f in picks.items():
                f = min(f, len(frames) - 1, n - 1)
                lm = lms[f] if np.isfinite(lms[f]).all() else ref.track.landmarks[f]
                cell = _zoom(frames[f], lm)
                cv2.putText(cell, f"{label}: {name} {f / ref.fps:.2f}s", (5, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                            (255, 255, 255), 1, cv2.LINE_AA)
                cells.append(cell)
            rows.append(np.concatenate(cells, axis=1))
        sheet = np.concatenate(rows, axis=0)
        cv2.imwrite(str(out / f"{set_name}__{clip.name}.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
        print(clip.name, picks, flush=True)


if __name__ == "__main__":
    main()
