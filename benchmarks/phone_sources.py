"""Phone sources for the learned model without a transcript: what each costs and what it gives.

    python benchmarks/phone_sources.py [--sources none,auto,auto:maxhmmpf=2000,loop:lw=2]
                                       [--sets grid_val,s4,s31,others,videos]

Word recognition is most of a no-transcript run's analysis (the 60 s clip: about 12 s of CPU).
Each source is scored, in landmark space without rendering (the cached clips of ``talkinghead
train prepare``, read at the targets' timing, as ``python -m talkinghead.train.compare
--landmark-space``), by the shipped learned model's mouth-opening r against the real faces with
its phones, and by its CPU seconds on ``musetalk_eng.wav`` (60 s, one process). Sources:

- ``none``: no phones (``--phones acoustic``).
- ``auto[:FIELD=VALUE,...]``: what ``--phones auto`` gives without a transcript (word recognition,
  its phones where judged reliable, else none), with :class:`RecognitionConfig` fields changed
  (for example ``auto:maxhmmpf=2000``, ``auto:maxhmmpf=2000:fwdflat=0``).
- ``loop[:lw=W]``: pocketsphinx's phone loop (``allphone``, the bundled English phone trigram) at
  language weight W (default 2): phones, not words, several times cheaper.
- ``align[:topn=N]``: forced alignment of the clip's own transcript (its GRID ``.align`` file's
  words; the condition ``generate --transcript`` is in), by :func:`talkinghead.audio.phones.align_transcript`
  with ``topn`` Gaussians a codebook (for example ``align:topn=2``); clips without a transcript
  score no phones. Its CPU row is the 60 s clip aligned to the words recognition hears there.

``--languages`` prints instead, per ``auto`` source, which clips of ``../shared/data/audio`` (8
languages) recognition accepts. Speech goes to recognition as 16-bit PCM, as in ``generate``. Clips are found by name under
``../shared/data``; the caches are ``data_cache/grid`` (GRID s1, its validation clips only),
``data_cache/unseen_s4``, ``unseen_s31``, ``unseen_others`` and ``videos``.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import fields, replace
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

    def run(speech, transcript=None):
        decoder.reinit_feat()  # each clip from a fresh cepstral mean, as the word decoder's chunks
        decoder.start_utt()
        decoder.process_raw(_pcm16(speech).tobytes(), full_utt=True)
        decoder.end_utt()
        segs = [PhoneSegment(_phone_label(s.word), s.start_frame / 100, (s.end_frame + 1) / 100) for s in decoder.seg()]
        return PhoneSegments(_timeline(segs, speech.duration_s), "recognition")

    return run


def aligner(opts: dict[str, str]):
    """A function (speech, transcript) -> PhoneSegments: :func:`talkinghead.audio.phones.align_transcript`
    at the ``topn`` in ``opts`` (default :data:`~talkinghead.audio.phones.ALIGN_TOPN`), no phones where
    there is no transcript."""
    from talkinghead.audio.phones import ALIGN_TOPN, align_transcript
    from talkinghead.types import PhoneSegments

    unknown = set(opts) - {"topn"}
    if unknown:
        raise SystemExit(f"align takes only topn, not {', '.join(sorted(unknown))}")
    topn = int(opts.get("topn", ALIGN_TOPN))

    def run(speech, transcript=None):
        return align_transcript(speech, transcript, topn) if transcript else PhoneSegments((), "none")

    return run


def source(spec: str):
    """The function speech -> PhoneSegments that ``spec`` names (see the module's docstring)."""
    from talkinghead.audio.recognition import RecognitionConfig, recognize
    from talkinghead.types import PhoneSegments

    kind, *args = spec.split(":")
    opts = dict(a.split("=", 1) for a in args)
    if kind == "none":
        return lambda speech, transcript=None: PhoneSegments((), "none")
    if kind == "loop":
        return phone_loop(float(opts.get("lw", 2.0)))
    if kind == "align":
        return aligner(opts)
    if kind != "auto":
        raise SystemExit(f"unknown phone source {spec!r}")
    config = _config(RecognitionConfig, opts)

    def run(speech, transcript=None):
        rec = recognize(speech, config=config)
        return rec.phones if rec.reliable else PhoneSegments((), "none")

    return run


def languages(specs: list[str]) -> None:
    """Print, per ``auto`` source, each speech clip's mean word posterior and whether recognition
    accepts it (the reliability rule: English should pass, other languages should not)."""
    from talkinghead.audio.phones import pcm16_speech
    from talkinghead.audio.recognition import RecognitionConfig, recognize
    from talkinghead.media.audio import load_speech

    clips = sorted((DATA / "audio").iterdir())
    print("| clip | " + " | ".join(specs) + " |")
    print("|---|" + "---|" * len(specs))
    for clip in clips:
        speech = pcm16_speech(load_speech(clip))
        cells = []
        for spec in specs:
            kind, *args = spec.split(":")
            config = _config(RecognitionConfig, dict(x.split("=", 1) for x in args))
            rec = recognize(speech, config=config)
            cells.append(f"{rec.posterior:.2f} {'accepted' if rec.reliable else 'rejected'}")
        print(f"| {clip.name} | " + " | ".join(cells) + " |", flush=True)


def _config(cls, opts: dict[str, str]):
    """``cls(processes=1)`` (a :class:`RecognitionConfig`) with the named fields set from strings."""
    types = {f.name: f.type for f in fields(cls)}
    cast = {"int": int, "float": float, "bool": lambda v: v not in ("0", "false", "no")}
    return replace(cls(processes=1), **{k: cast[types[k]](v) for k, v in opts.items()})


def main() -> None:
    from talkinghead.audio.phones import pcm16_speech
    from talkinghead.eval.datasets import GRID_S1_VALIDATION, read_align
    from talkinghead.eval.metrics import offset_opening, pearson
    from talkinghead.media.audio import load_speech
    from talkinghead.motion.learned import LearnedMotion, learned_motion
    from talkinghead.motion.rules import MotionConfig
    from talkinghead.train.compare import cached_clips

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", default="none,auto,loop")
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--languages", action="store_true",
                    help="only: for each auto source, which clips of ../shared/data/audio recognition accepts")
    a = ap.parse_args()
    if a.languages:
        languages(a.sources.split(","))
        return
    specs = a.sources.split(",")
    runs = [source(s) for s in specs]
    speech = pcm16_speech(load_speech(DATA / "audio" / "musetalk_eng.wav"))
    from talkinghead.types import Speech

    words = None
    if any(s.startswith("align") for s in specs):  # the 60 s clip has no transcript: what recognition hears
        from talkinghead.audio.recognition import recognize

        words = recognize(speech).transcript
    for run in runs:  # models loaded before the timing
        run(Speech(speech.samples[:32000], speech.sample_rate))
    cpu = []
    for run in runs:
        t = time.process_time()
        run(speech, words)
        cpu.append(time.process_time() - t)
    model = LearnedMotion.from_file(None)
    files = {p.stem: p for p in DATA.rglob("*.mp4")}
    print("| set | clips | " + " | ".join(specs) + " |")
    print("|---|---:|" + "---:|" * len(specs))
    print("| CPU s, 60 s clip | | " + " | ".join(f"{c:.2f}" for c in cpu) + " |")
    pooled = []
    for name in a.sets.split(","):
        rows = []
        for clip in cached_clips(ROOT / SETS[name], set(GRID_S1_VALIDATION) if name == "grid_val" else None):
            sp = pcm16_speech(load_speech(files[clip.name]))
            align = files[clip.name].parent.parent / "align" / f"{clip.name}.align"
            transcript = " ".join(w.word for w in read_align(align)) if align.exists() else None
            real = offset_opening(clip.offsets)
            row = []
            for run in runs:
                seq = learned_motion(model, clip.features, run(sp, transcript), clip.active, len(real) / clip.fps,
                                     MotionConfig(fps=clip.fps), read_ahead_s=0.0)
                pred = offset_opening(seq.landmark_offsets)
                k = min(len(pred), len(real))
                row.append(pearson(pred[:k], real[:k], 1e-12))
            rows.append(row)
        x = np.array(rows)
        if name in ("s4", "s31", "others"):
            pooled += rows
        print(f"| {name} | {len(x)} | " + " | ".join(f"{v:.3f}" for v in x.mean(0)) + " |", flush=True)
    if pooled:
        x = np.array(pooled)
        print(f"| unseen GRID (pooled) | {len(x)} | " + " | ".join(f"{v:.3f}" for v in x.mean(0)) + " |")


if __name__ == "__main__":
    main()
