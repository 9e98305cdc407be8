"""Streaming settings tried against real faces: ``learned-stream`` on 10 clips a set with overridden constants.

    python benchmarks/stream_variants.py NAME [CONSTANT=VALUE ...]

    python benchmarks/stream_variants.py base
    python benchmarks/stream_variants.py lookahead_0.3 LOOKAHEAD_S=0.3
    python benchmarks/stream_variants.py context_3 CONTEXT_S=3
    python benchmarks/stream_variants.py read_ahead_0.08 READ_AHEAD_S=0.08

Each CONSTANT is a module constant of :mod:`talkinghead.motion.streaming` (``READ_AHEAD_S``: of
:mod:`talkinghead.motion.learned`), set in this process before the evaluation runs
(:func:`talkinghead.eval.benchmark.run_benchmark` on GRID test, unseen GRID speakers and the
interview clips, 10 clips each, seed 0). Prints one line: per set, mouth r, median A/V offset,
lips closed in pauses and jitter/real. About 3 minutes a variant on 2 cores.
"""

from __future__ import annotations

import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    import talkinghead.motion.learned as learned
    import talkinghead.motion.streaming as streaming
    from talkinghead.eval.benchmark import run_benchmark
    from talkinghead.eval.reference import EvalConfig
    from talkinghead.eval.report import summarize

    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        raise SystemExit(__doc__)
    name = sys.argv[1]
    for setting in sys.argv[2:]:
        key, value = setting.split("=", 1)
        module = learned if key == "READ_AHEAD_S" else streaming
        if not hasattr(module, key):
            raise SystemExit(f"{key}: no such constant in {module.__name__}")
        setattr(module, key, float(value))
    config = EvalConfig(sets=("grid_test", "grid_others", "videos"), systems=("learned-stream",), limit=10, seed=0)
    result = run_benchmark(DATA, config)
    line = [name]
    for set_name, rows in summarize(result.clips, result.systems).items():
        r = rows.get("learned-stream", {})
        pause = r.get("pause_closed")
        line.append(f"{set_name} r={r.get('mouth_r'):.3f} offset={r.get('offset_median')} "
                    f"pauses closed={'-' if pause is None else f'{pause:.2f}'} jitter/real={r.get('jitter_ratio'):.2f}")
    print(" | ".join(line), flush=True)


if __name__ == "__main__":
    main()
