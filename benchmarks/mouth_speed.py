"""What the mouth costs per frame: rendering the demo at 512x512 with each mouth interior.

    python benchmarks/mouth_speed.py [--frames 200]
    PYTHONPATH=<older checkout>/src python benchmarks/mouth_speed.py   # the same on an older commit

Renders the demo's first ``--frames`` frames (JFK, learned motion) three times and reports the
median milliseconds per frame of the renderer (motion field, warp, mouth, lids), for
``--mouth real`` and ``--mouth painted`` (where the checkout has the option).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=200)
    args = ap.parse_args()
    import talkinghead
    from talkinghead.cli import DEMO_TRANSCRIPT
    from talkinghead.media.audio import load_speech
    from talkinghead.media.image import load_image
    from talkinghead.pipeline import GenerateConfig, TalkingHeadPipeline, analyse_speech

    assets = Path(talkinghead.__file__).parent / "assets"
    analysis = analyse_speech(load_speech(assets / "jfk.flac"), DEMO_TRANSCRIPT, "auto")
    image = load_image(assets / "astronaut.png")
    fields = getattr(GenerateConfig, "__dataclass_fields__", {})
    styles = ("real", "painted") if "mouth" in fields else ("default",)
    result = {}
    for style in styles:
        cfg = GenerateConfig(size=512) if style == "default" else GenerateConfig(size=512, mouth=style)
        pipe = TalkingHeadPipeline(image, cfg)
        seq = pipe.motion(analysis)
        n = min(args.frames, seq.num_frames)
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            for i in range(n):
                pipe.renderer.render(seq.landmark_offsets[i], seq.head_pose[i], float(seq.blink[i]))
            runs.append((time.perf_counter() - t) / n * 1000)
        result[style] = round(float(np.median(runs)), 2)
    print(json.dumps({"ms_per_frame_512": result, "frames": n}))


if __name__ == "__main__":
    main()
