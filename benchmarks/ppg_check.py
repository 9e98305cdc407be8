"""Does the phone posteriorgram front end (talkinghead.audio.ppg) read speech as pocketsphinx's acoustic model expects?

    python benchmarks/ppg_check.py [--data data_cache/grid] [--clips 60]

On the first clips of a ``talkinghead train prepare`` cache (GRID s1, forced-aligned phones), the
share of frames whose best-scoring phone is the aligned one: all frames, and speech frames only
(42 phones; chance is about 0.03). A correct front end scores best at the cepstra's own scale, so
the same is measured with the cepstra scaled by 2 and 0.5 and without the lifter. Also the CPU
seconds of the posteriorgram per second of speech. Used for the README's posteriorgram paragraph.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def main() -> int:
    from talkinghead.audio import ppg

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data_cache/grid"))
    ap.add_argument("--clips", type=int, default=60)
    a = ap.parse_args()
    idx = {p: i for i, p in enumerate(ppg.CI_PHONES)}
    clips = []
    for shard in sorted(a.data.glob("shard_*.npz")):
        with np.load(shard, allow_pickle=False) as z:
            ai, pi = z["audio_index"], z["phone_index"]
            for c in range(len(ai) - 1):
                mel = z["mel"][ai[c]:ai[c + 1]]
                label = np.full(len(mel), idx["SIL"])
                for p, s, e in zip(z["phones"][pi[c]:pi[c + 1]], z["phone_start"][pi[c]:pi[c + 1]],
                                   z["phone_end"][pi[c]:pi[c + 1]]):
                    p = str(p).upper().rstrip("012")
                    if p in idx:
                        label[int(round(s * 100)):int(round(e * 100))] = idx[p]
                clips.append((mel, label))
                if len(clips) >= a.clips:
                    break
        if len(clips) >= a.clips:
            break
    if not clips:
        raise SystemExit(f"{a.data}: no shards (run `talkinghead train prepare` first)")
    rebin, dct = ppg._rebin_and_dct()
    lifter = 1.0 + 11.0 * np.sin(np.arange(dct.shape[0]) * np.pi / 22)
    variants = {"as built": dct, "cepstra x 2": 2 * dct, "cepstra x 0.5": 0.5 * dct, "no lifter": dct / lifter[:, None]}
    print("| front end | frames right | speech frames right |")
    print("|---|---:|---:|")
    for name, d in variants.items():
        ppg._rebin_and_dct = lambda d=d: (rebin, d)  # noqa: B023 (the variant under test)
        right = speech_right = frames = speech = 0
        for mel, label in clips:
            best = ppg.phone_loglik(mel).argmax(1)
            sp = label != idx["SIL"]
            right += int((best == label).sum())
            speech_right += int((best[sp] == label[sp]).sum())
            frames, speech = frames + len(label), speech + int(sp.sum())
        print(f"| {name} | {right / frames:.3f} | {speech_right / speech:.3f} |")
    ppg._rebin_and_dct = lambda: (rebin, dct)
    t = time.process_time()
    for mel, _ in clips:
        ppg.ppg_features(mel)
    seconds = sum(len(m) for m, _ in clips) / 100.0
    print(f"\n{len(clips)} clips, {seconds:.0f} s of speech: {1000 * (time.process_time() - t) / seconds:.1f} ms of CPU per second")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
