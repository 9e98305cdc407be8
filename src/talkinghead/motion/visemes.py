"""Phones -> visemes -> action-unit curves, with coarticulation (the rule path).

Sources:
- Visemes: phones that look alike share a mouth shape (p/b/m; f/v; t/d/n/s/z; k/g/ng;
  ch/jh/sh/zh). Tongue-only consonants (t, d, n, l, k, g, ng, hh) have low dominance and take
  their neighbours' shapes; lip consonants (p, b, m, f, v, w) and rounded vowels dominate.
- Coarticulation: Cohen & Massaro (1993), "Modeling coarticulation in synthetic visual speech":
  each phone's target spreads over time with a dominance function that decays exponentially
  with distance from the phone; the value is the dominance-weighted mean of the targets.
  Rounding anticipates by up to ~150-200 ms (slower decay before the phone).
- Jaw and lips are separate actions (JALI, Edwards et al. 2016): loudness scales the jaw only.
- Mouth motion slightly leads the sound (lips part before the burst of p/b).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead.motion.rig import AU_NAMES
from talkinghead.types import PhoneSegments

_K = {name: i for i, name in enumerate(AU_NAMES)}


@dataclass(frozen=True)
class Viseme:
    """A mouth target: AU values and how strongly it dominates its neighbours.

    Attributes:
        targets: AU name -> value in [0, 1]; AUs not named are 0 (relaxed).
        dominance: peak dominance in (0, 1]; high for lip consonants, low for tongue-only ones.
        lip_dominance: dominance of the lip AUs (rounding/closure) if different from the jaw's.
    """

    targets: dict[str, float]
    dominance: float
    lip_dominance: float | None = None


def _v(dom: float, lip: float | None = None, **targets: float) -> Viseme:
    return Viseme(targets=targets, dominance=dom, lip_dominance=lip)


#: ARPAbet phone -> viseme. Silence is a relaxed, closed mouth.
VISEMES: dict[str, Viseme] = {
    "SIL": _v(0.6, 0.6, mouthClose=0.3),
    # bilabials: full closure, jaw nearly shut
    "P": _v(1.0, 1.0, jawOpen=0.02, mouthClose=1.0),
    "B": _v(1.0, 1.0, jawOpen=0.02, mouthClose=1.0),
    "M": _v(1.0, 1.0, jawOpen=0.0, mouthClose=1.0),
    # labiodentals: lower lip to the upper teeth
    "F": _v(0.9, 1.0, jawOpen=0.3, mouthRollLower=0.7, mouthUpperUp=0.3),
    "V": _v(0.9, 1.0, jawOpen=0.3, mouthRollLower=0.7, mouthUpperUp=0.3),
    # rounded
    "W": _v(0.8, 1.0, jawOpen=0.12, mouthPucker=0.95),
    "UW": _v(0.7, 0.9, jawOpen=0.22, mouthPucker=0.8),
    "UH": _v(0.6, 0.7, jawOpen=0.3, mouthPucker=0.45),
    "OW": _v(0.7, 0.9, jawOpen=0.45, mouthFunnel=0.8),
    "AO": _v(0.7, 0.8, jawOpen=0.62, mouthFunnel=0.45),
    "OY": _v(0.7, 0.8, jawOpen=0.45, mouthFunnel=0.6),
    "AW": _v(0.7, 0.8, jawOpen=0.7, mouthFunnel=0.35),
    "ER": _v(0.6, 0.8, jawOpen=0.3, mouthFunnel=0.5),
    "R": _v(0.5, 0.7, jawOpen=0.2, mouthFunnel=0.45),
    # postalveolars: lips pushed out
    "SH": _v(0.7, 0.9, jawOpen=0.15, mouthFunnel=0.65, mouthUpperUp=0.2),
    "ZH": _v(0.7, 0.9, jawOpen=0.15, mouthFunnel=0.65, mouthUpperUp=0.2),
    "CH": _v(0.7, 0.9, jawOpen=0.15, mouthFunnel=0.6, mouthUpperUp=0.2),
    "JH": _v(0.7, 0.9, jawOpen=0.15, mouthFunnel=0.6, mouthUpperUp=0.2),
    # open and spread vowels
    "AA": _v(0.6, 0.4, jawOpen=0.9),
    "AE": _v(0.6, 0.4, jawOpen=0.75, mouthStretch=0.35),
    "AH": _v(0.55, 0.4, jawOpen=0.6),
    "AY": _v(0.6, 0.4, jawOpen=0.75, mouthStretch=0.2),
    "EH": _v(0.55, 0.4, jawOpen=0.55, mouthStretch=0.35),
    "EY": _v(0.55, 0.4, jawOpen=0.45, mouthStretch=0.45),
    "IH": _v(0.5, 0.4, jawOpen=0.35, mouthStretch=0.4),
    "IY": _v(0.55, 0.5, jawOpen=0.25, mouthStretch=0.65),
    "Y": _v(0.45, 0.4, jawOpen=0.2, mouthStretch=0.45),
    # alveolar fricatives: teeth nearly together, lips slightly spread
    "S": _v(0.6, 0.5, jawOpen=0.1, mouthStretch=0.35, mouthUpperUp=0.2),
    "Z": _v(0.6, 0.5, jawOpen=0.1, mouthStretch=0.35, mouthUpperUp=0.2),
    "TH": _v(0.5, 0.3, jawOpen=0.2),
    "DH": _v(0.5, 0.3, jawOpen=0.2),
    # tongue-only consonants: low dominance, they take their neighbours' shape
    "T": _v(0.3, 0.1, jawOpen=0.2),
    "D": _v(0.3, 0.1, jawOpen=0.2),
    "N": _v(0.25, 0.1, jawOpen=0.2),
    "L": _v(0.25, 0.1, jawOpen=0.3),
    "K": _v(0.25, 0.1, jawOpen=0.25),
    "G": _v(0.25, 0.1, jawOpen=0.25),
    "NG": _v(0.25, 0.1, jawOpen=0.25),
    "HH": _v(0.2, 0.1, jawOpen=0.4),
}
BILABIALS = frozenset({"P", "B", "M"})
LIP_AUS = frozenset({"mouthClose", "mouthPucker", "mouthFunnel", "mouthStretch", "mouthRollLower"})
#: Visual lead of mouth motion over the sound, seconds.
LEAD_S = 0.03
#: Dominance decay rates (1/s) after and before a phone; lip AUs anticipate more (slower decay before).
DECAY_AFTER = 30.0
DECAY_BEFORE = 24.0
DECAY_BEFORE_LIPS = 13.0


def viseme_for(phone: str) -> Viseme:
    """The viseme of an ARPAbet phone (stress digits ignored); unknown phones act as a neutral, weak vowel."""
    p = phone.upper().rstrip("012")
    return VISEMES.get(p, _v(0.2, 0.1, jawOpen=0.3))


def phones_to_au(phones: PhoneSegments, num_frames: int, fps: float, lead_s: float = LEAD_S) -> np.ndarray:
    """Coarticulated action-unit curves from a phone sequence.

    Each phone i has, per AU, a dominance D_i(t) = d_i inside the phone and
    d_i * exp(-rate * distance) outside (rate differs before/after; Cohen & Massaro 1993).
    AU(t) = sum_i D_i(t) * target_i / sum_i D_i(t). Bilabials are then forced to full closure
    at their nearest frame so that short p/b/m are never missed between frames.

    Args:
        phones: ARPAbet phones with times in seconds.
        num_frames: F, number of video frames.
        fps: video frame rate (Hz).
        lead_s: seconds the mouth leads the sound (>= 0).
    Returns:
        float32 ``[F, K]`` AU coefficients in [0, 1], in :data:`~talkinghead.motion.rig.AU_NAMES` order.
    """
    k = len(AU_NAMES)
    t = np.arange(num_frames, dtype=np.float64) / fps + lead_s
    if len(phones) == 0:
        au = np.zeros((num_frames, k), np.float32)
        au[:, _K["mouthClose"]] = 0.3
        return au
    num = np.zeros((num_frames, k))
    den = np.full((num_frames, k), 1e-6)
    lip_cols = np.array([name in LIP_AUS for name in AU_NAMES])
    for seg in phones.segments:
        v = viseme_for(seg.phone)
        target = np.zeros(k)
        for name, val in v.targets.items():
            target[_K[name]] = val
        dom = np.where(lip_cols, v.lip_dominance if v.lip_dominance is not None else v.dominance, v.dominance)
        lo = np.searchsorted(t, seg.start_s - 0.4)
        hi = np.searchsorted(t, seg.end_s + 0.3)
        if hi <= lo:
            continue
        tt = t[lo:hi]
        before = np.clip(seg.start_s - tt, 0.0, None)
        after = np.clip(tt - seg.end_s, 0.0, None)
        rate_before = np.where(lip_cols, DECAY_BEFORE_LIPS, DECAY_BEFORE)
        d = dom[None, :] * np.exp(-(before[:, None] * rate_before[None, :] + after[:, None] * DECAY_AFTER))
        num[lo:hi] += d * target[None, :]
        den[lo:hi] += d
    au = num / den
    # Bilabials must reach full closure, even when shorter than a frame.
    ci, ji = _K["mouthClose"], _K["jawOpen"]
    for seg in phones.segments:
        if seg.phone.upper().rstrip("012") in BILABIALS:
            mid = (seg.start_s + seg.end_s) / 2.0
            f_lo = int(np.floor((seg.start_s - lead_s) * fps))
            f_hi = int(np.ceil((seg.end_s - lead_s) * fps))
            frames = [f for f in range(f_lo, f_hi + 1) if 0 <= f < num_frames and seg.start_s <= t[f] <= seg.end_s]
            if not frames:
                f = int(round((mid - lead_s) * fps))
                frames = [f] if 0 <= f < num_frames else []
            for f in frames:
                au[f, ci] = 1.0
                au[f, ji] = min(au[f, ji], 0.05)
    return np.clip(au, 0.0, 1.0).astype(np.float32)


def silence_mask(phones: PhoneSegments, num_frames: int, fps: float) -> np.ndarray:
    """Boolean ``[F]``: True where the frame time falls in a silence (``SIL``) or outside all phones."""
    t = np.arange(num_frames) / fps
    speaking = np.zeros(num_frames, bool)
    for seg in phones.segments:
        if seg.phone.upper() != "SIL":
            speaking |= (t >= seg.start_s) & (t < seg.end_s)
    return ~speaking


def bilabial_weights(phones: PhoneSegments, fps: float, num_frames: int) -> np.ndarray:
    """How fully each frame's lips are closed for bilabial phones (p, b, m), float32 ``[F]`` in {0, 0.5, 1}.

    Frames are chosen like :func:`phones_to_au` (mouth leading the sound by :data:`LEAD_S`): 1 on
    the phone's frames (its middle frame when it is shorter than one), 0.5 on the frame either side.
    """
    w = np.zeros(num_frames, np.float32)
    t = np.arange(num_frames) / fps + LEAD_S
    for seg in phones.segments:
        if seg.phone.upper().rstrip("012") not in BILABIALS:
            continue
        frames = np.flatnonzero((t >= seg.start_s) & (t <= seg.end_s))
        if frames.size == 0:
            f = int(round(((seg.start_s + seg.end_s) / 2.0 - LEAD_S) * fps))
            frames = np.array([f]) if 0 <= f < num_frames else np.zeros(0, np.int64)
        for f in frames:
            w[f] = 1.0
            for g in (f - 1, f + 1):
                if 0 <= g < num_frames:
                    w[g] = max(w[g], 0.5)
    return w


def close_bilabials(offsets: np.ndarray, weights: np.ndarray, in_place: bool = False) -> np.ndarray:
    """Close the lips of predicted landmark offsets where :func:`bilabial_weights` says so.

    A regression model smooths short closures away (measured: the learned offsets alone close
    the lips on only about 65% of GRID bilabials, real speakers on 100%). The predicted inner-lip
    gap is cancelled, times the frame's weight, with the rig's lip-separation field (the part of
    the jaw drop that opens the lips; what the rule path's ``mouthClose`` cancels).

    Args:
        offsets: float ``[F, 478, 3]`` landmark offsets (IOD units); not modified unless ``in_place``.
        weights: float ``[F]`` in [0, 1] (:func:`bilabial_weights`, or its slice for a piece of the frames).
        in_place: correct a writable float32 ``offsets`` itself (no copy: 143 KB a second of speech).
    Returns:
        float32 ``[F, 478, 3]``: the corrected offsets (``offsets`` itself when nothing closes, or in place).
    """
    from talkinghead.face.regions import LOWER_INNER_LIP, UPPER_INNER_LIP
    from talkinghead.motion.rig import default_rig

    w = np.asarray(weights, np.float32)
    if not w.any():
        return offsets.astype(np.float32, copy=False)
    up, lo = list(UPPER_INNER_LIP[3:8]), list(LOWER_INNER_LIP[3:8])
    field = default_rig().lip_gap_of_jaw
    unit = float(np.mean(field[lo, 1] - field[up, 1]))
    if unit <= 1e-6:
        return offsets.astype(np.float32, copy=False)
    # Only the closing frames are computed (one copy of the rest: this array is 143 KB a second).
    k = np.flatnonzero(w)
    part = offsets[k]
    gap = np.mean(part[:, lo, 1] - part[:, up, 1], axis=1)
    out = offsets if in_place and offsets.dtype == np.float32 and offsets.flags.writeable else offsets.astype(np.float32)
    out[k] = (part - (w[k] * np.maximum(gap, 0.0) / unit)[:, None, None] * field[None]).astype(np.float32)
    return out
