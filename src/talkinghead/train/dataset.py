"""Training data of the learned audio-to-motion model: the shards of :mod:`talkinghead.train.prepare` and the
altered copies of :mod:`talkinghead.train.augment`, read into one padded :class:`Dataset`, and the split by clip.

The GRID split of :mod:`talkinghead.eval.datasets` is respected: GRID s1 test clips are dropped, validation
clips and their altered copies are held out (:func:`split_names`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkinghead.audio.vtln import formant_scale, normalise
from talkinghead.motion.learned import content_features, dynamics_features, frame_index, phone_tokens
from talkinghead.types import AudioFeatures, InputError


@dataclass
class Dataset:
    """Clips padded to a common length (numpy, float32 unless stated).

    content ``[N, T, 80]``, dynamics ``[N, T, 8]``, tokens int64 ``[N, T]``, index int64 ``[N, F, 4]``,
    blend ``[N, F, 52]``, offsets ``[N, F, 478, 3]``, mask bool ``[N, F]`` (real frames), names.
    """

    names: list[str]
    content: np.ndarray
    dynamics: np.ndarray
    tokens: np.ndarray
    index: np.ndarray
    blend: np.ndarray
    offsets: np.ndarray
    mask: np.ndarray
    vtln_reference_hz: float = 0.0

    def subset(self, keep: Sequence[int]) -> Dataset:
        k = np.asarray(keep, dtype=np.int64)
        return Dataset([self.names[i] for i in k], self.content[k], self.dynamics[k], self.tokens[k],
                       self.index[k], self.blend[k], self.offsets[k], self.mask[k], self.vtln_reference_hz)


def load_shards(data: Path, vtln: bool = False, vtln_strength: float = 1.0, ppg: bool = False,
                log_mel: bool = True) -> Dataset:
    """Read every ``shard_*.npz`` under ``data`` into one padded :class:`Dataset`.

    ``vtln``: warp each clip's features onto the median formant scale of the training clips
    (:func:`talkinghead.audio.vtln.formant_scale`; kept in ``Dataset.vtln_reference_hz``),
    ``vtln_strength`` of the way (:func:`talkinghead.audio.vtln.warp_factor`). ``ppg``: the content
    input also carries the phone posteriorgram (:func:`talkinghead.audio.ppg.ppg_features`).

    Raises:
        InputError: no shards, or no clips in them.
    """
    shards = sorted(data.glob("shard_*.npz"))
    if not shards:
        raise InputError(f"{data}: no shard_*.npz files (run `talkinghead train prepare` first)")
    raw = []  # (name, fps, features, active, phones, blendshapes, offsets)
    for s in shards:
        with np.load(s, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            fi, ai, pi = z["frame_index"], z["audio_index"], z["phone_index"]
            arr = {k: z[k] for k in ("offsets", "blendshapes", "mel", "energy", "f0", "formants", "active",
                                     "phones", "phone_start", "phone_end")}
            for c, name in enumerate(z["names"]):
                f0, f1, a0, a1, p0, p1 = fi[c], fi[c + 1], ai[c], ai[c + 1], pi[c], pi[c + 1]
                phones = tuple(zip(arr["phones"][p0:p1], arr["phone_start"][p0:p1], arr["phone_end"][p0:p1]))
                raw.append((str(name), float(meta["fps"][c]), *shard_features(arr, a0, a1), phones,
                            arr["blendshapes"][f0:f1], arr["offsets"][f0:f1]))
    if not raw:
        raise InputError(f"{data}: the shards hold no clips")
    reference = 0.0
    if vtln:
        train_i = split_names([r[0] for r in raw])[0]
        scales = [formant_scale(raw[i][2], raw[i][3]) for i in train_i]
        scales = [x for x in scales if x > 0]
        if not scales:
            raise InputError(f"{data}: no training clip has enough voiced speech for a formant scale")
        reference = float(np.median(scales))
    warp = (reference, vtln_strength)
    clips = [(name, fps, *encoder_inputs(feats, active, *warp, ppg=ppg, log_mel=log_mel), phone_tokens(phones, len(active)), bl, off)
             for name, fps, feats, active, phones, bl, off in raw]
    del raw
    clips += augmented_clips(data, {c[0]: c for c in clips}, *warp, ppg=ppg, log_mel=log_mel)
    return pack(clips, reference)


def pack(clips: Sequence[tuple], vtln_reference_hz: float = 0.0) -> Dataset:
    """Clips ``(name, fps, content [T, C], dynamics [T, 8], tokens [T], blendshapes [F, 52], offsets [F, 478, 3])``
    padded to the longest into one :class:`Dataset` (``mask`` marks the real frames; C: the content channels)."""
    tmax = max(len(c[2]) for c in clips)
    fmax = max(len(c[5]) for c in clips)
    n = len(clips)
    ds = Dataset(names=[c[0] for c in clips], content=np.zeros((n, tmax, clips[0][2].shape[1]), np.float32),
                 dynamics=np.zeros((n, tmax, 8), np.float32), tokens=np.zeros((n, tmax), np.int64),
                 index=np.zeros((n, fmax, 4), np.int64), blend=np.zeros((n, fmax, 52), np.float32),
                 offsets=np.zeros((n, fmax, 478, 3), np.float32), mask=np.zeros((n, fmax), bool),
                 vtln_reference_hz=vtln_reference_hz)
    for i, (_, fps, cont, dyn, tok, bl, off) in enumerate(clips):
        t, f = len(cont), len(bl)
        ds.content[i, :t], ds.dynamics[i, :t], ds.tokens[i, :t] = cont, dyn, tok
        ds.index[i, :f] = frame_index(f, fps, t)
        ds.blend[i, :f], ds.offsets[i, :f], ds.mask[i, :f] = bl, off, True
    return ds


def shard_features(arr: dict[str, np.ndarray], a0: int, a1: int) -> tuple[AudioFeatures, np.ndarray]:
    """The audio features and voice activity of the 100 Hz frames ``[a0, a1)`` of a shard's arrays
    (``mel``, ``energy``, ``f0``, ``formants``, ``active``, read once per shard)."""
    full = AudioFeatures(mel=arr["mel"], energy=arr["energy"], f0=arr["f0"], formants=arr["formants"])
    return full.slice(a0, a1), arr["active"][a0:a1]


def encoder_inputs(feats: AudioFeatures, active: np.ndarray, vtln_reference_hz: float,
                    vtln_strength: float = 1.0, ppg: bool = False, log_mel: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Content ``[T, C]`` (:func:`~talkinghead.motion.learned.content_features` with ``ppg`` and ``log_mel``)
    and dynamics ``[T, 8]`` inputs, warped toward ``vtln_reference_hz`` when it is positive."""
    if vtln_reference_hz > 0:
        feats = normalise(feats, active, vtln_reference_hz, vtln_strength)[0]
    return content_features(feats.mel, ppg=ppg, log_mel=log_mel), dynamics_features(feats.energy, feats.f0, feats.formants, active)


def augmented_clips(data: Path, base: dict[str, tuple], vtln_reference_hz: float = 0.0,
                    vtln_strength: float = 1.0, ppg: bool = False, log_mel: bool = True) -> list[tuple]:
    """Clips of the ``aug_*.npz`` files in ``data`` (:mod:`talkinghead.train.augment`), as ``load_shards`` rows.

    Each altered copy ``NAME#aK`` has its own audio features and the phones and face motion
    (targets) of its clip ``NAME`` in ``base``; copies of clips not in ``base`` are ignored.
    Each copy's features are warped toward ``vtln_reference_hz`` (> 0) by its own formant scale.
    """
    out = []
    for f in sorted(data.glob("aug_*.npz")):
        with np.load(f, allow_pickle=False) as z:
            ai = z["audio_index"]
            arr = {k: z[k] for k in ("mel", "energy", "f0", "formants", "active")}
            for c, name in enumerate(z["names"]):
                b = base.get(str(name).split("#")[0])
                if b is None:
                    continue
                a0, a1 = ai[c], ai[c + 1]
                out.append((str(name), b[1], *encoder_inputs(*shard_features(arr, a0, a1), vtln_reference_hz, vtln_strength, ppg, log_mel),
                            b[4], b[5], b[6]))
    return out


def split_names(names: Sequence[str]) -> tuple[list[int], list[int], list[int]]:
    """Indices of training clips, validation clips, and altered copies of validation clips.

    By clip: an altered copy ``NAME#aK`` goes with ``NAME``. GRID s1 test clips are dropped;
    validation clips and their copies are held out (the copies measure how the model carries
    over to voices and rooms it has not heard); the rest trains.
    """
    from talkinghead.eval.datasets import GRID_S1_TEST, GRID_S1_VALIDATION

    test, val = set(GRID_S1_TEST), set(GRID_S1_VALIDATION)
    base = [n.split("#")[0] for n in names]
    train_i = [i for i, b in enumerate(base) if b not in test and b not in val]
    val_i = [i for i, n in enumerate(names) if n in val]
    val_aug_i = [i for i, (n, b) in enumerate(zip(names, base)) if b in val and n != b]
    return train_i, val_i, val_aug_i
