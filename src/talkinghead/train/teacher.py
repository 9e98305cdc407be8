"""Synthetic training clips: many text-to-speech voices, labelled by the learned model that has their phones.

``talkinghead train teacher DATA_DIR --clips 1200`` writes ``shard_tts_NNNNN.npz`` files beside
the shards of :mod:`talkinghead.train.prepare`, in the same format, so ``train motion`` reads
them as more training clips. Issue 7's recipe for voices the corpus lacks: speech with exact
phone timings from an offline text-to-speech engine (eSpeak NG: many accents and voice
variants, every phone's time reported by the engine), labelled by the motion model that *does*
have phones (teacher: the shipped ONNX graph run on the exact phones, bilabials forced shut), so
the student, trained half of the time without phones, learns to read that motion from voices
that sound unlike GRID s1 (knowledge distillation, Hinton et al. 2015; DAMC's point that the
motion should hold on synthesised speech).

Per clip, drawn with a seeded generator: a line of 4-9 words from the pronouncing dictionary
that ships with pocketsphinx (English words of 2-10 letters: phonetic variety, not meaning),
an English accent of eSpeak NG (``en-us``, ``en`` (British), New York, Scottish, Caribbean...), a voice variant
(``+m3``, ``+f2``, ``+croak``...), and a speaking rate of 0.8-1.3. The speech is cut to at most
:data:`MAX_S` (the GRID clips' length, so training batches do not grow). Head pose, blinks and
landmarks of these clips are zeros (unused by the motion loss); their names start with ``tts_``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from talkinghead.types import InputError

#: Longest synthetic clip (s): GRID's length, so the padded training arrays keep their size.
MAX_S = 3.0
#: Video frame rate of the teacher's labels (GRID's).
FPS = 25.0
#: English accents of eSpeak NG drawn from.
ACCENTS = ("en-us", "en", "en-us-nyc", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
#: eSpeak NG voice variants drawn from (``""``: the accent's own voice).
VARIANTS = ("", "m1", "m2", "m3", "m4", "m7", "f1", "f2", "f3", "f4", "croak", "klatt", "klatt2", "klatt3",
            "adam", "Alex", "Andy", "Annie", "aunty", "benjamin", "caleb", "edward", "gustave", "ian",
            "john", "linda", "Michael", "norbert", "paul", "quincy", "rob", "robert", "steph", "victor")
#: Clips per shard file.
CLIPS_PER_SHARD = 64


def dictionary_words() -> list[str]:
    """English words of 2-10 letters from pocketsphinx's pronouncing dictionary (sorted, unique).

    Raises:
        InputError: pocketsphinx or its dictionary is missing.
    """
    try:
        import pocketsphinx
    except ImportError as e:
        raise InputError(f"the teacher's word list needs pocketsphinx ({e})") from e
    path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
    if not path.is_file():
        raise InputError(f"{path}: pronouncing dictionary not found")
    words = set()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            w = line.split(" ", 1)[0]
            if w.isalpha() and w.isascii() and 2 <= len(w) <= 10:
                words.add(w.lower())
    return sorted(words)


def teacher_clip(name: str, text: str, voice: str, rate: float, model: object) -> object:
    """One synthetic clip: eSpeak NG speech of ``text`` and the teacher's motion for it.

    Args:
        name: the clip's name (``tts_...``).
        text: what to say.
        voice: eSpeak NG voice (``LANG`` or ``LANG+VARIANT``).
        rate: speaking rate (1 = the voice's pace).
        model: the teacher, a :class:`~talkinghead.motion.learned.LearnedMotion`.
    Returns:
        :class:`~talkinghead.train.prepare.ClipData` at :data:`FPS` (offsets and blendshapes the teacher's).
    Raises:
        InputError: the engine failed, or the speech is shorter than 0.5 s.
    """
    from talkinghead.audio.espeak import speak
    from talkinghead.audio.features import compute_features, speech_activity
    from talkinghead.motion.visemes import bilabial_weights, close_bilabials
    from talkinghead.train.prepare import ClipData
    from talkinghead.types import PhoneSegment, PhoneSegments, Speech

    speech, phones = speak(text, voice, rate)
    n = min(len(speech.samples), int(MAX_S * speech.sample_rate))
    if n < 0.5 * speech.sample_rate:
        raise InputError(f"{name}: {n / speech.sample_rate:.2f} s of speech is too short")
    speech = Speech(samples=speech.samples[:n], sample_rate=speech.sample_rate)
    dur = n / speech.sample_rate
    phones = PhoneSegments(tuple(PhoneSegment(s.phone, s.start_s, min(s.end_s, dur))
                                 for s in phones.segments if s.start_s < dur), phones.source)
    feats = compute_features(speech)
    active = speech_activity(feats)
    f = int(np.floor(dur * FPS))
    blend, offsets = model.predict(feats, phones, active, FPS, f, read_ahead_s=0.0)  # the targets' own timing
    offsets = close_bilabials(offsets, bilabial_weights(phones, FPS, f), in_place=True)
    zeros = np.zeros((f, 478, 3), np.float32)
    return ClipData(name=name, landmarks=zeros, offsets=offsets.astype(np.float32), neutral=zeros[0],
                    blendshapes=np.clip(blend, 0.0, 1.0).astype(np.float32), pose=np.zeros((f, 3), np.float32),
                    mel=feats.mel.astype(np.float32), energy=feats.energy.astype(np.float32),
                    f0=feats.f0.astype(np.float32), formants=feats.formants.astype(np.float32),
                    active=np.asarray(active, bool), phones=tuple(s.phone for s in phones.segments),
                    phone_start=np.array([s.start_s for s in phones.segments], np.float32),
                    phone_end=np.array([s.end_s for s in phones.segments], np.float32), fps=FPS,
                    blendshape_names=())


def make_teacher_data(out_dir: Path, clips: int = 1200, seed: int = 0, model_path: str | None = None) -> dict:
    """Write ``clips`` synthetic clips as ``shard_tts_*.npz`` in ``out_dir`` (resumable: existing shards are kept).

    Args:
        out_dir: the training data folder (beside ``train prepare``'s shards).
        clips: number of clips (>= 1).
        seed: the draws of words, accents, variants and rates.
        model_path: the teacher ONNX graph (default: the shipped one).
    Returns:
        ``{"clips": kept, "errors": n, "seconds": wall}``.
    Raises:
        InputError: ``clips`` < 1, the TTS extra or the dictionary missing, or no teacher model.
    """
    from talkinghead.motion.learned import LearnedMotion
    from talkinghead.train.prepare import write_shard

    if clips < 1:
        raise InputError(f"--clips must be >= 1, got {clips}")
    out_dir.mkdir(parents=True, exist_ok=True)
    words = dictionary_words()
    model = LearnedMotion.from_file(model_path)
    rng = np.random.default_rng(seed)
    jobs = []
    for i in range(clips):  # all draws first: a shard's clips do not depend on which shards exist
        text = " ".join(rng.choice(words, int(rng.integers(4, 10))))
        voice = str(rng.choice(ACCENTS))
        variant = str(rng.choice(VARIANTS))
        voice = f"{voice}+{variant}" if variant else voice
        jobs.append((f"tts_{i:05d}_{voice.replace('+', '_')}", text, voice, float(rng.uniform(0.8, 1.3))))
    t0, kept, errors = time.perf_counter(), 0, 0
    for s in range(0, clips, CLIPS_PER_SHARD):
        path = out_dir / f"shard_tts_{s // CLIPS_PER_SHARD:05d}.npz"
        if path.exists():
            continue
        done, errs = [], {}
        for name, text, voice, rate in jobs[s: s + CLIPS_PER_SHARD]:
            try:
                done.append(teacher_clip(name, text, voice, rate, model))
            except InputError as e:
                errs[name] = str(e)
        write_shard(path, done, errs)
        kept, errors = kept + len(done), errors + len(errs)
        print(f"{path.name}: {len(done)} clips, {len(errs)} errors, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return {"clips": kept, "errors": errors, "seconds": round(time.perf_counter() - t0, 1)}
