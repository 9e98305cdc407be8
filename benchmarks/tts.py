"""Text in: how exact the phone timing is, how the lips follow, and what it costs (extra 'tts').

    python benchmarks/tts.py [--out reports/tts] [--size 512]

For a few English sentences (and one in German and Japanese with eSpeak NG):

- phone timing: eSpeak NG's own phoneme times against pocketsphinx forced alignment of the same
  audio with the same words: for each engine phone boundary, the distance to the nearest aligned
  boundary (median and 90th percentile, ms);
- lips: the demo portrait rendered from the text, tracked with MediaPipe: mouth-opening vs
  loudness r (a sanity range: real speakers 0.1-0.6) and the share of bilabials (p, b, m) with
  closed lips;
- cost: seconds of synthesis, of the whole generation, and the real-time factor of both
  together (per second of speech), whole process excluded (in-process timing).

Writes tts.json and tts.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

SENTENCES = {
    "en": ["Please bring me my blue map before we begin.",
           "The quick brown fox jumps over the lazy dog, and then it sleeps.",
           "We choose to go to the moon in this decade and do the other things."],
    "de": ["Guten Morgen, mein Name ist Paul, und ich wohne in Berlin."],
    "ja": ["こんにちは、わたしのなまえはたなかです。"],
}


def boundary_errors_ms(engine: list[float], aligned: list[float]) -> np.ndarray:
    """For each engine boundary (s), the distance to the nearest aligned boundary (ms)."""
    a = np.asarray(sorted(aligned))
    return np.array([1000.0 * float(np.min(np.abs(a - t))) for t in engine]) if len(a) else np.zeros(0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="reports/tts")
    ap.add_argument("--size", type=int, default=512)
    args = ap.parse_args()
    from importlib import resources

    from talkinghead.audio.phones import AlignmentError, align_transcript
    from talkinghead.audio.tts import TTSConfig, synthesize
    from talkinghead.eval import metrics as M
    from talkinghead.face.track import track_frames
    from talkinghead.media.audio import load_speech
    from talkinghead.pipeline import GenerateConfig, generate_from_text

    portrait = Path(str(resources.files("talkinghead") / "assets" / "astronaut.png"))
    rows = []
    for lang, texts in SENTENCES.items():
        voices = ["joe", "espeak:en-us"] if lang == "en" else [f"espeak:{lang}"]
        for voice in voices:
            for text in texts:
                t0 = time.perf_counter()
                speech, phones = synthesize(text, TTSConfig(voice=voice))
                synth_s = time.perf_counter() - t0
                row: dict[str, object] = {"voice": voice, "text": text, "seconds": round(speech.duration_s, 2),
                                          "synth_s": round(synth_s, 3)}
                if phones is not None and lang == "en":
                    try:
                        aligned = align_transcript(speech, text)
                    except AlignmentError:  # pocketsphinx cannot always align eSpeak's robotic voice
                        aligned = None
                        row["boundary_median_ms"] = row["boundary_p90_ms"] = "alignment failed"
                    if aligned is not None:
                        eng = [s.start_s for s in phones.segments if s.phone != "SIL"]
                        ali = [b for s in aligned.segments for b in (s.start_s, s.end_s)]
                        err = boundary_errors_ms(eng, ali)
                        row["boundary_median_ms"] = round(float(np.median(err)), 1)
                        row["boundary_p90_ms"] = round(float(np.percentile(err, 90)), 1)
                with tempfile.TemporaryDirectory() as d:
                    out = Path(d) / "out.mp4"
                    t0 = time.perf_counter()
                    generate_from_text(portrait, text, out, TTSConfig(voice=voice), config=GenerateConfig(size=args.size))
                    total = time.perf_counter() - t0
                    from talkinghead.media.video import read_video

                    track = track_frames(read_video(out), 25.0)
                    opening = M.mouth_opening(track.landmarks)
                    sound = load_speech(out)
                    loud = M.loudness_envelope(sound.samples, sound.sample_rate, 25.0, len(opening))
                    row["loudness_r"] = round(M.loudness_correlation(opening, loud), 3)
                    try:
                        ph = phones if phones is not None else align_transcript(sound, text)
                        events = [(s.start_s, s.end_s) for s in ph.segments if s.phone in ("P", "B", "M")]
                        closure = M.bilabial_closure(opening, events, 25.0)
                    except AlignmentError:
                        closure = None
                    row["bilabial_closure"] = None if closure is None else round(closure, 2)
                row["total_s"] = round(total, 2)
                row["rtf"] = round(total / max(speech.duration_s, 1e-9), 3)
                rows.append(row)
                print(json.dumps(row, ensure_ascii=False), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tts.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False))

    def cell(v: object) -> str:
        return "–" if v is None else str(v)

    lines = ["| voice | text | speech s | engine vs alignment, median / p90 ms | mouth~loudness r | bilabial closure | "
             "synthesis s | RTF (synthesis + video) |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        b = f"{r['boundary_median_ms']} / {r['boundary_p90_ms']}" if "boundary_median_ms" in r else "–"
        lines.append(f"| {r['voice']} | {r['text']} | {r['seconds']} | {b} | {cell(r['loudness_r'])} | "
                     f"{cell(r['bilabial_closure'])} | {r['synth_s']} | {r['rtf']} |")
    (out / "tts.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
