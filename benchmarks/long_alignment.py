"""Forced alignment of long speech: in one piece against in chunks (one process or forked), against GRID's own word times.

GRID clips are 3 s, too short for :mod:`talkinghead.audio.long_align` to cut, so this joins
GRID clips (their audio end to end, their ``.align`` word times shifted to match) into long
speech with a reference alignment, and aligns it with its words:

- ``whole``: both pocketsphinx passes over the whole clip (``chunk_s`` 600: how clips up to 60 s
  were aligned before chunks of 20 s);
- ``chunks, one word pass``: the word pass over the whole clip, then both passes per chunk of at most
  20 s, one process (how clips over 20 s were aligned before the word pass went in windows);
- ``chunks``: the word pass in windows of 60 s, then both passes per chunk, one process;
- ``chunks, forked``: the same, the chunks shared between forked processes (what ``generate`` does).

For each: wall and CPU seconds (this process and its children), the mean / median / 90th
percentile of the word-boundary error against GRID's times, and the share of 10 ms frames whose
phone is that of ``whole``. Also the 60 s English clip (``audio/musetalk_eng.wav``) aligned to the
words recognition hears in it (no reference: time and phone agreement only).

    python benchmarks/long_alignment.py [--data ../shared/data] [--out reports/long_alignment]

``--word-pass 1,5,10`` times instead the word pass alone (the step that places the chunks) on the 60 s
clip and its recognised words repeated to each length in minutes: over the whole clip
(``set_align_text``) against in windows (:func:`talkinghead.audio.long_align.word_pass_windowed`),
CPU seconds and how far apart the words' times are (10 ms frames); ``word_pass.md``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def cpu_s() -> float:
    """CPU seconds of this process and its ended children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def joined_grid(root: Path, names: list[str], folder: str) -> tuple:
    """GRID clips end to end: (Speech, transcript, reference words as (word, start s, end s))."""
    from talkinghead.eval.datasets import read_align
    from talkinghead.media.audio import load_speech
    from talkinghead.types import Speech

    parts, words, t = [], [], 0.0
    for name in names:
        sp = load_speech(root / folder / "video" / f"{name}.mp4")
        parts.append(np.asarray(sp.samples, np.float32))
        words += [(w.word, t + w.start_s, t + w.end_s) for w in read_align(root / folder / "align" / f"{name}.align")]
        t += len(parts[-1]) / sp.sample_rate
    speech = Speech(np.concatenate(parts), 16000)
    return speech, " ".join(w for w, _, _ in words), words


def phone_frames(phones, duration_s: float) -> np.ndarray:
    """The phone label of every 10 ms frame."""
    n = int(duration_s * 100)
    out = np.empty(n, object)
    for seg in phones.segments:
        out[int(round(seg.start_s * 100)):int(round(seg.end_s * 100))] = seg.phone
    return out


def run(speech, text, ref, methods) -> dict:
    from talkinghead.audio.phones import align

    rows, base = {}, None
    for label, kw in methods:
        align(speech, text, **kw)  # warm: decoder loaded, caches filled
        w0, c0 = time.perf_counter(), cpu_s()
        res = align(speech, text, **kw)
        wall, cpu = time.perf_counter() - w0, cpu_s() - c0
        frames = phone_frames(res.phones, speech.duration_s)
        if base is None:
            base = frames
        row = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
               "same_phone_as_whole": round(float(np.mean(frames == base)), 4)}
        if ref is not None:
            got = [(w.word, w.start_s, w.end_s) for w in res.words]
            if [w for w, _, _ in got] == [w for w, _, _ in ref]:
                err = np.abs(np.concatenate([[a[1] - b[1] for a, b in zip(got, ref)],
                                             [a[2] - b[2] for a, b in zip(got, ref)]])) * 1000
                row.update(boundary_ms_mean=round(float(err.mean()), 1), boundary_ms_median=round(float(np.median(err)), 1),
                           boundary_ms_p90=round(float(np.percentile(err, 90)), 1))
            else:
                row["boundary_ms_mean"] = f"words differ ({len(got)} vs {len(ref)})"
        rows[label] = row
        print(label, row, flush=True)
    return rows


def word_pass(data: Path, minutes: list[int], out: Path) -> None:
    """The word pass alone, whole against in windows, on the 60 s clip repeated (see the module's docstring)."""
    from talkinghead.audio import phones as P
    from talkinghead.audio.long_align import word_pass_windowed
    from talkinghead.audio.recognition import recognize
    from talkinghead.media.audio import load_speech

    eng = load_speech(data / "audio" / "musetalk_eng.wav")
    pcm = P._pcm16(eng)
    lines = ["| minutes | words | CPU s, whole | CPU s, windows | mean / p99 / max distance (frames) |",
             "|---:|---:|---:|---:|---|"]
    with P._lock:
        dec = P._align_decoder()
        words = P._dictionary_words(dec, P.normalize_transcript(recognize(eng).transcript))
        for m in minutes:
            clip, text = np.tile(pcm, m), words * m
            c0 = time.process_time()
            whole = P._word_pass(dec, clip, " ".join(text))
            c1 = time.process_time()
            windows = word_pass_windowed(dec, clip, text)
            c2 = time.process_time()
            a, b = ([(x, y) for n, x, y in segs if P._is_word(n)] for segs in (whole, windows))
            if len(a) != len(b):
                dist = f"words differ ({len(a)} vs {len(b)})"
            else:
                d = np.abs(np.asarray(a) - np.asarray(b))
                dist = f"{d.mean():.3f} / {np.percentile(d, 99):.0f} / {d.max()}"
            lines.append(f"| {m} | {len(text)} | {c1 - c0:.2f} | {c2 - c1:.2f} | {dist} |")
            print(lines[-1], flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "word_pass.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "long_alignment")
    ap.add_argument("--word-pass", default="", help="minutes, comma-separated: time the word pass alone (see above)")
    args = ap.parse_args(argv)
    if args.word_pass:
        return word_pass(args.data, [int(m) for m in args.word_pass.split(",")], args.out)
    from talkinghead.eval.datasets import grid_split

    methods = [("whole", {"chunk_s": 600.0}), ("chunks, one word pass", {"window_s": 1e9}), ("chunks", {}),
               ("chunks, forked", {"processes": 2})]
    split = grid_split(args.data)
    s31 = sorted(p.stem for p in (args.data / "grid" / "more" / "s31" / "align").glob("*.align"))
    cases = {
        "GRID s1 test, 20 clips joined (60 s)": joined_grid(args.data / "grid", list(split.test[:20]), "s1"),
        "GRID s1 test, 40 clips joined (120 s)": joined_grid(args.data / "grid", list(split.test[:40]), "s1"),
        "GRID s1 test + validation, 80 clips joined (240 s)": joined_grid(
            args.data / "grid", list(split.test + split.validation), "s1"),
        "GRID s31, 10 clips joined (30 s)": joined_grid(args.data / "grid" / "more", s31, "s31"),
    }
    from talkinghead.audio.recognition import recognize
    from talkinghead.media.audio import load_speech

    eng = load_speech(args.data / "audio" / "musetalk_eng.wav")
    cases["musetalk_eng.wav (60 s), its recognised words"] = (eng, recognize(eng).transcript, None)
    report = {}
    for name, (speech, text, ref) in cases.items():
        print(f"== {name}", flush=True)
        report[name] = run(speech, text, ref, methods)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "long_alignment.json").write_text(json.dumps(report, indent=1))
    lines = ["| clip | method | wall s | CPU s | boundary error ms mean / median / p90 | frames with whole's phone |",
             "|---|---|---:|---:|---|---:|"]
    for name, rows in report.items():
        for label, r in rows.items():
            b = r.get("boundary_ms_mean", "–")
            if "boundary_ms_median" in r:
                b = f"{r['boundary_ms_mean']} / {r['boundary_ms_median']} / {r['boundary_ms_p90']}"
            lines.append(f"| {name} | {label} | {r['wall_s']} | {r['cpu_s']} | {b} | {r['same_phone_as_whole']:.3f} |")
    (args.out / "long_alignment.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
