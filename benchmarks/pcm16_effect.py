"""What reading speech as 16-bit PCM changes: the learned mouth against real faces, analysed from float32 and from 16 bits.

    python benchmarks/pcm16_effect.py

``analyse_speech`` reads 16-bit PCM (``audio.phones.pcm16_speech``); before commit 274ba66 it read the
float32 samples. For a 16-bit source nothing changes; the evaluation clips' sound is AAC, decoded
to float, so their analysis input moves by up to half a 16-bit step (-96 dBFS). Per set (the cached
clips of ``talkinghead train prepare``, landmark space as ``python -m talkinghead.train.compare
--landmark-space``, no transcript: ``--phones auto``, recognised phones where judged reliable): the
mean mouth-opening r of the shipped model with the float32 analysis and with the 16-bit one, the
largest difference between the two mouths, how many clips came out the same, and on how many
clips recognition was accepted (its phones used) in each.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def float_analysis(speech):
    """The analysis as it was before 16-bit PCM: features and recognition of the float32 samples."""
    from talkinghead.analysis import Analysis
    from talkinghead.audio.features import compute_features, speech_activity
    from talkinghead.audio.recognition import RecognitionConfig, recognize
    from talkinghead.types import PhoneSegments

    feats = compute_features(speech)
    rec = recognize(speech, feats, RecognitionConfig(processes=1))
    phones = rec.phones if rec.reliable else PhoneSegments((), "none")
    return Analysis(speech=speech, features=feats, active=speech_activity(feats), phones=phones)


def main() -> None:
    from talkinghead.analysis import analyse_speech
    from talkinghead.eval.datasets import GRID_S1_VALIDATION
    from talkinghead.eval.metrics import offset_opening, pearson
    from talkinghead.media.audio import load_speech
    from talkinghead.motion.learned import LearnedMotion, learned_motion
    from talkinghead.motion.rules import MotionConfig
    from talkinghead.train.compare import cached_clips

    files = {p.stem: p for p in DATA.rglob("*.mp4")}
    model = LearnedMotion.from_file(None)
    print("| set | clips | r, float32 analysis | r, 16-bit analysis | largest mouth difference (IOD) | clips the same "
          "| recognition accepted, float32 / 16-bit |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, folder, names in (("GRID s1 validation", "data_cache/grid", set(GRID_S1_VALIDATION)),
                                ("GRID s31", "data_cache/unseen_s31", None), ("interviews", "data_cache/videos", None)):
        rows, same, accepted = [], 0, np.zeros(2, int)
        for clip in cached_clips(ROOT / folder, names):
            speech = load_speech(files[clip.name])
            real = offset_opening(clip.offsets)
            mouths = []
            for i, a in enumerate((float_analysis(speech), analyse_speech(speech, None, "auto", processes=1))):
                accepted[i] += a.phones.source != "none"
                seq = learned_motion(model, a.features, a.phones, a.active, len(real) / clip.fps,
                                     MotionConfig(fps=clip.fps), read_ahead_s=0.0)
                mouths.append(offset_opening(seq.landmark_offsets)[: len(real)])
            k = min(len(mouths[0]), len(real))
            rows.append([pearson(m[:k], real[:k], 1e-12) for m in mouths] + [float(np.abs(mouths[0] - mouths[1]).max())])
            same += bool(np.array_equal(mouths[0], mouths[1]))
        x = np.array(rows)
        print(f"| {name} | {len(x)} | {x[:, 0].mean():.4f} | {x[:, 1].mean():.4f} | {x[:, 2].max():.4f} | {same} | "
              f"{accepted[0]} / {accepted[1]} |")


if __name__ == "__main__":
    main()
