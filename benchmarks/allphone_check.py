"""Phone-loop recognition (pocketsphinx allphone) as a cheaper source of phones for the learned model.

    python benchmarks/allphone_check.py [--lw 2] [--sets grid_val,s4,s31,others,videos]

Word recognition costs about 0.2 of real time on 2 cores (the 60 s clip: about 12 s of CPU), most
of a no-transcript run's analysis. pocketsphinx's phone loop (``allphone``, the bundled English
phone trigram) is several times cheaper but recognises phones, not words. This scores, in
landmark space without rendering (the cached clips of ``talkinghead train prepare``, read at the
targets' timing, as ``python -m talkinghead.train.compare --landmark-space``), the shipped
learned model's mouth-opening r against the real faces with: no phones; the phones of
``--phones auto`` without a transcript (word recognition where judged reliable, else none); the
phone loop's phones. It also prints the phone loop's CPU seconds on ``musetalk_eng.wav`` (60 s).
Clips are found by name under ``../shared/data``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SETS = {"grid_val": "data_cache/grid", "s4": "data_cache/unseen_s4", "s31": "data_cache/unseen_s31",
        "others": "data_cache/unseen_others", "videos": "data_cache/videos"}


def phone_loop(lw: float):
    """A function speech -> PhoneSegments by pocketsphinx's phone loop at language weight ``lw``."""
    import pocketsphinx

    from talkinghead.audio.phones import _pcm16, _phone_label, _timeline
    from talkinghead.types import PhoneSegment, PhoneSegments

    lm = os.path.join(pocketsphinx.get_model_path(), "en-us", "en-us-phone.lm.bin")
    decoder = pocketsphinx.Decoder(allphone=lm, lw=lw, beam=1e-20, pbeam=1e-20, samprate=16000, loglevel="FATAL")

    def run(speech):
        decoder.reinit_feat()  # each clip from a fresh cepstral mean, as the word decoder's chunks
        decoder.start_utt()
        decoder.process_raw(_pcm16(speech).tobytes(), full_utt=True)
        decoder.end_utt()
        segs = [PhoneSegment(_phone_label(s.word), s.start_frame / 100, (s.end_frame + 1) / 100) for s in decoder.seg()]
        return PhoneSegments(_timeline(segs, speech.duration_s), "recognition")

    return run


def main() -> None:
    from talkinghead.audio.recognition import recognize
    from talkinghead.eval.datasets import GRID_S1_VALIDATION
    from talkinghead.eval.metrics import offset_opening, pearson
    from talkinghead.media.audio import load_speech
    from talkinghead.motion.learned import LearnedMotion, learned_motion
    from talkinghead.motion.rules import MotionConfig
    from talkinghead.train.compare import cached_clips
    from talkinghead.types import PhoneSegments

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lw", type=float, default=2.0, help="the phone loop's language weight")
    ap.add_argument("--sets", default=",".join(SETS))
    a = ap.parse_args()
    loop = phone_loop(a.lw)
    speech = load_speech(DATA / "audio" / "musetalk_eng.wav")
    t = time.process_time()
    n = len(loop(speech).segments)
    print(f"phone loop on musetalk_eng.wav (60 s): {time.process_time() - t:.2f} s CPU, {n} segments")
    model = LearnedMotion.from_file(None)
    files = {p.stem: p for p in DATA.rglob("*.mp4")}
    none = PhoneSegments((), "none")
    print("| set | clips | no phones | auto (word recognition where reliable) | phone loop |")
    print("|---|---:|---:|---:|---:|")
    pooled = []
    for name in a.sets.split(","):
        rows = []
        for clip in cached_clips(ROOT / SETS[name], set(GRID_S1_VALIDATION) if name == "grid_val" else None):
            sp = load_speech(files[clip.name])
            rec = recognize(sp)
            real = offset_opening(clip.offsets)
            row = []
            for phones in (none, rec.phones if rec.reliable else none, loop(sp)):
                seq = learned_motion(model, clip.features, phones, clip.active, len(real) / clip.fps,
                                     MotionConfig(fps=clip.fps), read_ahead_s=0.0)
                pred = offset_opening(seq.landmark_offsets)
                k = min(len(pred), len(real))
                row.append(pearson(pred[:k], real[:k], 1e-12))
            rows.append(row)
        x = np.array(rows)
        if name in ("s4", "s31", "others"):
            pooled += rows
        print(f"| {name} | {len(x)} | " + " | ".join(f"{v:.3f}" for v in x.mean(0)) + " |")
    if pooled:
        x = np.array(pooled)
        print(f"| unseen GRID (pooled) | {len(x)} | " + " | ".join(f"{v:.3f}" for v in x.mean(0)) + " |")


if __name__ == "__main__":
    main()
