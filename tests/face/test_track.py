"""Tracking a face through frames: frames left out are filled in from the tracked ones around them."""

from __future__ import annotations

import numpy as np
import pytest

from talkinghead.face.track import Track, fill_skipped
from talkinghead.types import N_LANDMARKS


def _track(n: int) -> Track:
    t = np.arange(n, dtype=np.float32)
    lm = np.broadcast_to(t[:, None, None] * np.arange(1, 4, dtype=np.float32), (n, N_LANDMARKS, 3)).copy()
    return Track(landmarks=lm, pose=np.stack([t, -t, 2 * t], 1), blink=t / n, fps=25.0, size=(100, 100))


def test_skipped_frames_are_interpolated_between_the_tracked_ones_and_a_gap_stays_a_gap() -> None:
    full = _track(9)
    skipped = np.array([0, 1, 0, 1, 1, 0, 1, 0, 0], bool)
    raw = Track(landmarks=np.where(skipped[:, None, None], np.nan, full.landmarks),
                pose=np.where(skipped[:, None], np.nan, full.pose), blink=np.where(skipped, np.nan, full.blink),
                fps=25.0, size=(100, 100))
    got = fill_skipped(raw, skipped)
    np.testing.assert_allclose(got.landmarks, full.landmarks, rtol=1e-6)  # linear data: exact
    np.testing.assert_allclose(got.pose, full.pose, rtol=1e-6)
    np.testing.assert_allclose(got.blink, full.blink, rtol=1e-6)
    assert np.isnan(raw.landmarks[1]).all()  # the raw track is not changed

    no_face = raw.landmarks.copy()
    no_face[5] = np.nan  # a tracked frame without a face: the skipped frames beside it have none either
    got = fill_skipped(Track(no_face, raw.pose, raw.blink, 25.0, (100, 100)), skipped)
    assert got.found.tolist() == [True, True, True, False, False, False, False, True, True]
    with pytest.raises(ValueError):
        fill_skipped(raw, np.array([0, 0, 0, 0, 0, 0, 0, 0, 1], bool))
