"""Speech augmentation for the learned motion model: other voices, noisy and reverberant rooms.

``talkinghead train augment VIDEO_DIR DATA_DIR --variants 3`` writes, beside the shards of
:mod:`talkinghead.train.prepare`, ``aug_NNNNN.npz`` files holding the audio features of
``variants`` altered copies of every prepared clip's speech. The face motion of a copy is the
clip's own (the targets do not change: the same person said the same thing), so training on
the copies teaches the model to read the motion from speech that sounds different. Each copy
draws, with its own seeded random generator:

- **Voice shift** (always): the waveform resampled by a factor ``a`` in ``voice_range``, which
  scales pitch *and* formants by ``a`` (a shorter or longer vocal tract, the main difference
  between speakers' spectra; cf. VTLP, Jaitly & Hinton 2013); the features are then warped
  back in time to the original frame count so they stay aligned with the face.
- **Babble or noise** (probability ``p_noise``): other training clips' speech (2-4 talkers,
  babble) or coloured noise, at a signal-to-noise ratio drawn from ``snr_db``.
- **Reverberation** (probability ``p_reverb``): a synthetic room impulse response
  (exponentially decaying noise, RT60 drawn from ``rt60_s``), mixed wet/dry.
- **Band limit** (probability ``p_band``): a telephone- or laptop-like low-pass.

The files are resumable (an existing ``aug_*.npz`` is kept) and written atomically. Per copy:
``names`` (``CLIP#aK``), ``audio_index`` (int64 ``[C + 1]``), ``mel`` ``[T, 80]``, ``energy``,
``f0`` ``[T]``, ``formants`` ``[T, 2]``, ``active`` bool ``[T]``, and ``meta`` (JSON: the draws).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from talkinghead.audio.augment import babble as babble_of
from talkinghead.audio.augment import coloured_noise, mix_at_snr, reverberate, voice_shift
from talkinghead.media.files import atomic_path
from talkinghead.types import AudioFeatures, InputError, Speech

#: Format version of the aug files.
AUGMENT_VERSION = 1


@dataclass(frozen=True)
class AugmentConfig:
    """How copies are drawn (stored in each aug file's meta).

    Attributes:
        variants: altered copies per clip (>= 1).
        seed: base seed (each clip's copies use ``seed`` and the clip's name).
        voice_range: range of the voice-shift factor (pitch and formants scale by it).
        p_noise: probability of added babble or noise; ``snr_db`` its range (dB).
        p_babble: share of noisy copies whose noise is babble (the rest: coloured noise).
        p_reverb: probability of reverberation; ``rt60_s`` the range of its decay time (s).
        p_band: probability of a low-pass at 3.4-6 kHz.
        babble_pool: training clips whose speech makes the babble.
    """

    variants: int = 5
    seed: int = 0
    voice_range: tuple[float, float] = (0.78, 1.3)
    p_noise: float = 0.6
    snr_db: tuple[float, float] = (0.0, 20.0)
    p_babble: float = 0.6
    p_reverb: float = 0.35
    rt60_s: tuple[float, float] = (0.15, 0.7)
    p_band: float = 0.2
    babble_pool: int = 24


def warp_features(feats: AudioFeatures, num_frames: int) -> AudioFeatures:
    """Stretch 100 Hz features to ``num_frames`` frames (linear in time; F0 and formants nearest, so voicing stays binary)."""
    t = len(feats.energy)
    if t == num_frames:
        return feats
    src = np.linspace(0.0, max(t - 1, 0), num_frames)
    near = np.clip(np.round(src).astype(np.int64), 0, max(t - 1, 0))

    def lin(x: np.ndarray) -> np.ndarray:
        x2 = x.reshape(t, -1)
        out = np.stack([np.interp(src, np.arange(t), x2[:, j]) for j in range(x2.shape[1])], axis=1)
        return out.reshape((num_frames, *x.shape[1:])).astype(np.float32)

    return AudioFeatures(mel=lin(feats.mel), energy=lin(feats.energy), f0=feats.f0[near].astype(np.float32),
                         formants=feats.formants[near].astype(np.float32), frame_rate=feats.frame_rate)


def augment_speech(speech: Speech, rng: np.random.Generator, cfg: AugmentConfig,
                   babble: list[np.ndarray]) -> tuple[Speech, dict[str, float]]:
    """One altered copy of ``speech`` (same rate) and the draws that made it (see the module docstring)."""
    from scipy.signal import butter, sosfilt

    sr = speech.sample_rate
    draws: dict[str, float] = {"voice": float(np.exp(rng.uniform(*np.log(cfg.voice_range))))}
    x = voice_shift(speech.samples, draws["voice"])
    if rng.random() < cfg.p_reverb:
        draws["rt60"] = float(rng.uniform(*cfg.rt60_s))
        x = reverberate(x, sr, draws["rt60"], float(rng.uniform(0.3, 0.9)), rng)
    if rng.random() < cfg.p_noise:
        draws["snr"] = float(rng.uniform(*cfg.snr_db))
        if babble and rng.random() < cfg.p_babble:
            k = int(rng.integers(2, 5))
            draws["talkers"] = k
            talkers = [babble[j] for j in rng.choice(len(babble), size=min(k, len(babble)), replace=False)]
            noise = babble_of(talkers, len(x), [int(rng.integers(0, max(1, len(b) - len(x)))) for b in talkers])
        else:
            draws["colour"] = float(rng.uniform(0.0, 2.0))
            noise = coloured_noise(len(x), draws["colour"], rng)
        x = mix_at_snr(x, noise, draws["snr"])
    if rng.random() < cfg.p_band:
        draws["lowpass"] = float(rng.uniform(3400.0, 6000.0))
        x = sosfilt(butter(6, draws["lowpass"], fs=sr, output="sos"), x).astype(np.float32)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    gain = float(rng.uniform(0.1, 0.9)) / peak if peak > 0 else 1.0
    return Speech(samples=(x * gain).astype(np.float32), sample_rate=sr), draws


def augmented_features(speech: Speech, num_frames: int, rng: np.random.Generator, cfg: AugmentConfig,
                       babble: list[np.ndarray]) -> tuple[AudioFeatures, np.ndarray, dict[str, float]]:
    """Features ``[num_frames]`` and voice activity of one altered copy, aligned with the original frames."""
    from talkinghead.audio.features import compute_features, speech_activity

    aug, draws = augment_speech(speech, rng, cfg, babble)
    feats = warp_features(compute_features(aug), num_frames)
    return feats, speech_activity(feats), draws


def _seed_for(name: str, seed: int) -> int:
    import zlib

    return (zlib.crc32(name.encode()) + 1_000_003 * seed) & 0xFFFFFFFF


def _augment_shard(job: tuple[str, list[tuple[str, str, int]], list[str], dict]) -> tuple[str, int]:
    """Worker: the copies of one shard's clips ``(name, video, frames)`` -> ``aug_NNNNN.npz``."""
    from talkinghead.media.audio import load_speech

    out, clips, pool, cfg_d = job
    cfg = AugmentConfig(**{**cfg_d, "voice_range": tuple(cfg_d["voice_range"]), "snr_db": tuple(cfg_d["snr_db"]),
                           "rt60_s": tuple(cfg_d["rt60_s"])})
    babble = [load_speech(p).samples for p in pool]
    names, mels, energies, f0s, formants, actives, draws = [], [], [], [], [], [], []
    for name, video, t in clips:
        speech = load_speech(video)
        rng = np.random.default_rng(_seed_for(name, cfg.seed))
        for k in range(cfg.variants):
            feats, active, d = augmented_features(speech, t, rng, cfg, babble)
            names.append(f"{name}#a{k}")
            mels.append(feats.mel)
            energies.append(feats.energy)
            f0s.append(feats.f0)
            formants.append(feats.formants)
            actives.append(active)
            draws.append(d)
    index = np.concatenate([[0], np.cumsum([len(e) for e in energies])]).astype(np.int64)
    arrays = dict(meta=np.array(json.dumps({"version": AUGMENT_VERSION, "config": cfg_d, "draws": draws})),
                  names=np.array(names, dtype=str), audio_index=index,
                  mel=np.concatenate(mels).astype(np.float32), energy=np.concatenate(energies).astype(np.float32),
                  f0=np.concatenate(f0s).astype(np.float32), formants=np.concatenate(formants).astype(np.float32),
                  active=np.concatenate(actives).astype(bool))
    with atomic_path(out, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    return out, len(names)


def augment(videos_dir: Path, data_dir: Path, cfg: AugmentConfig = AugmentConfig(), workers: int = 2) -> dict[str, object]:
    """Write (or resume writing) the aug files for the prepared shards in ``data_dir``.

    GRID s1 test clips get no copies; validation clips do (training never sees them: they
    measure, for choosing the checkpoint, how well the model carries over to voices and rooms it
    has not heard, see :func:`talkinghead.train.dataset.split_names`). Only training clips make
    the babble (held-out speech is never heard in training, not even as noise).

    Args:
        videos_dir: the folder the shards were prepared from (videos by clip name, ``.mp4``).
        data_dir: folder of ``shard_*.npz`` (from ``talkinghead train prepare``).
        cfg: augmentation settings.
        workers: worker processes.
    Returns:
        Summary: files written/skipped, copies, seconds.
    Raises:
        InputError: no shards in ``data_dir`` or ``variants < 1``.
    """
    from multiprocessing import get_context

    from tqdm import tqdm

    from talkinghead.eval.datasets import GRID_S1_TEST, GRID_S1_VALIDATION
    from talkinghead.train.prepare import list_videos

    if cfg.variants < 1:
        raise InputError(f"--variants must be >= 1, got {cfg.variants}")
    shards = sorted(data_dir.glob("shard_*.npz"))
    if not shards:
        raise InputError(f"{data_dir}: no shard_*.npz files (run `talkinghead train prepare` first)")
    videos = {p.stem: str(p) for p in list_videos(videos_dir)}
    held = set(GRID_S1_TEST)
    per_shard = []
    for s in shards:
        with np.load(s, allow_pickle=False) as z:
            ai = z["audio_index"]
            clips = [(str(n), int(ai[c + 1] - ai[c])) for c, n in enumerate(z["names"]) if str(n) not in held]
        missing = [n for n, _ in clips if n not in videos]
        if missing:
            raise InputError(f"{videos_dir}: no video for the prepared clip(s) {', '.join(missing[:3])}")
        per_shard.append((s, [(n, videos[n], t) for n, t in clips]))
    train_names = sorted(n for _, clips in per_shard for n, _, _ in clips if n not in set(GRID_S1_VALIDATION))
    rng = np.random.default_rng(cfg.seed)
    pool = [videos[n] for n in rng.choice(train_names, min(cfg.babble_pool, len(train_names)), replace=False)]
    cfg_d = asdict(cfg)
    jobs = [(str(s.with_name(s.name.replace("shard_", "aug_"))), clips, pool, cfg_d)
            for s, clips in per_shard if clips and not s.with_name(s.name.replace("shard_", "aug_")).exists()]
    t0 = time.perf_counter()
    copies = 0
    bar = tqdm(total=sum(len(j[1]) for j in jobs), unit="clip", desc="augment")
    with get_context("spawn").Pool(max(1, workers)) as pool_:
        for out, n in pool_.imap_unordered(_augment_shard, jobs):
            copies += n
            bar.update(n // cfg.variants)
    bar.close()
    summary = {"shards": len(shards), "written": len(jobs), "skipped": len(shards) - len(jobs), "copies": copies,
               "seconds": round(time.perf_counter() - t0, 1)}
    print(json.dumps(summary), file=sys.stderr)
    return summary
