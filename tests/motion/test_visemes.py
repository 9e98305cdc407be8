from __future__ import annotations

import numpy as np

from talkinghead.motion.rig import AU_NAMES
from talkinghead.motion.visemes import phones_to_au, silence_mask
from talkinghead.types import PhoneSegment, PhoneSegments

JAW, CLOSE, PUCKER = (AU_NAMES.index(n) for n in ("jawOpen", "mouthClose", "mouthPucker"))
FPS = 25.0


def seq(*items: tuple[str, float, float]) -> PhoneSegments:
    return PhoneSegments(tuple(PhoneSegment(p, s, e) for p, s, e in items), "alignment")


def frame(t: float) -> int:
    return int(round(t * FPS))


def test_open_vowel_opens_jaw_and_bilabial_closes_lips() -> None:
    ph = seq(("SIL", 0.0, 0.3), ("M", 0.3, 0.42), ("AA", 0.42, 0.7), ("P", 0.7, 0.78), ("AA", 0.78, 1.0), ("SIL", 1.0, 1.6))
    au = phones_to_au(ph, frame(1.6), FPS)
    assert au.shape == (frame(1.6), len(AU_NAMES))
    assert au[frame(0.56), JAW] > 0.6  # middle of AA
    for s, e in ((0.3, 0.42), (0.7, 0.78)):
        f = [i for i in range(au.shape[0]) if s <= i / FPS + 0.03 <= e]
        assert f, "bilabial covers at least one frame"
        assert all(au[i, CLOSE] == 1.0 and au[i, JAW] <= 0.05 for i in f)
    assert au[frame(1.5), JAW] < 0.05  # pause: jaw relaxed
    assert au[frame(0.1), JAW] < 0.05


def test_very_short_bilabial_still_reaches_full_closure() -> None:
    ph = seq(("AA", 0.0, 0.51), ("B", 0.51, 0.525), ("AA", 0.525, 1.0))
    au = phones_to_au(ph, frame(1.0), FPS)
    assert au[:, CLOSE].max() == 1.0
    assert au[:, JAW].min() <= 0.05


def test_rounding_anticipates_and_tongue_consonants_take_neighbours() -> None:
    ph = seq(("IY", 0.0, 0.4), ("T", 0.4, 0.46), ("UW", 0.46, 0.8))
    au = phones_to_au(ph, frame(1.0), FPS, lead_s=0.0)
    # Lips start rounding before the UW begins (anticipatory coarticulation) ...
    assert au[frame(0.4), PUCKER] > 0.2
    # ... and have not started long before it.
    assert au[frame(0.1), PUCKER] < 0.1
    # The T keeps the rounding of its neighbour instead of its own neutral lips.
    assert au[frame(0.43), PUCKER] > 0.3


def test_no_phones_gives_relaxed_closed_mouth() -> None:
    au = phones_to_au(PhoneSegments((), "none"), 10, FPS)
    assert np.all(au[:, JAW] == 0.0)


def test_silence_mask() -> None:
    m = silence_mask(seq(("SIL", 0, 0.2), ("AA", 0.2, 0.4)), 15, FPS)
    assert m[0] and not m[frame(0.3)] and m[frame(0.5)]
