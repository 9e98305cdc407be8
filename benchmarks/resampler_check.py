"""How much the learned mouth moves when the analysis resamples with scipy's resample_poly instead of soxr.

    python benchmarks/resampler_check.py

``talkinghead.audio.features.resample`` (python-soxr) replaced ``scipy.signal.resample_poly``
(the model was trained on features made with the latter). For JFK, the first six clips of
``../shared/data/audio`` and three GRID s4 videos, loaded at 16 and 44.1 kHz, the features are
computed both ways and the shipped model run on each (no phones); printed per clip: voicing
agreement, the median F1 difference (Hz), and the mouth opening's r and largest difference (IOD)
between the two. Used for the README's soxr paragraph.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def _resample_poly(x: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    from scipy.signal import resample_poly

    if from_rate == to_rate:
        return np.asarray(x, np.float32)
    fr = Fraction(int(to_rate), int(from_rate))
    return resample_poly(x, fr.numerator, fr.denominator).astype(np.float32)


def main() -> int:
    import talkinghead.audio.features as F
    from talkinghead.eval.metrics import offset_opening
    from talkinghead.media.audio import load_speech
    from talkinghead.motion.learned import LearnedMotion, learned_motion
    from talkinghead.motion.rules import MotionConfig
    from talkinghead.types import PhoneSegments

    files = ([ROOT / "src" / "talkinghead" / "assets" / "jfk.flac"] + sorted((DATA / "audio").iterdir())[:6]
             + sorted((DATA / "grid" / "more" / "s4" / "video").glob("*.mp4"))[:3])
    model, soxr_resample = LearnedMotion.from_file(), F.resample
    print("| clip | rate | voicing agrees | median F1 diff Hz | mouth r | max mouth diff (IOD) |")
    print("|---|---:|---:|---:|---:|---:|")
    worst = 1.0
    for f in files:
        for rate in (16000, 44100):
            speech = load_speech(f, rate)
            out = []
            for fn in (soxr_resample, _resample_poly):
                F.resample = fn
                feats = F.compute_features(speech)
                active = F.speech_activity(feats)
                seq = learned_motion(model, feats, PhoneSegments((), "none"), active, speech.duration_s,
                                     MotionConfig(fps=25.0))
                out.append((feats, offset_opening(seq.landmark_offsets)))
            F.resample = soxr_resample
            (fa, ga), (fb, gb) = out
            r = float(np.corrcoef(ga, gb)[0, 1])
            worst = min(worst, r)
            print(f"| {f.name} | {rate} | {np.mean((fa.f0 > 0) == (fb.f0 > 0)):.3f} | "
                  f"{np.median(np.abs(fa.formants[:, 0] - fb.formants[:, 0])):.1f} | {r:.4f} | {np.abs(ga - gb).max():.4f} |")
    print(f"\nlowest mouth r between the two resamplers: {worst:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
