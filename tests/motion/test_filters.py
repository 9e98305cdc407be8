"""motion.filters: SciPy's Gaussian smoothing and running maximum, bit for bit, without importing SciPy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from talkinghead.motion.filters import gaussian_filter1d, maximum_filter1d


@pytest.mark.parametrize("mode", ["reflect", "nearest", "mirror"])
def test_gaussian_smoothing_equals_scipys(mode: str) -> None:
    rng = np.random.default_rng(1)
    for n in (1, 2, 7, 50, 301):
        for sigma in (1.5, 2.5, 4.0, 12.0, 40.0, 0.7):
            x = rng.normal(size=n) * 30.0
            np.testing.assert_array_equal(gaussian_filter1d(x, sigma, mode=mode), ndimage.gaussian_filter1d(x, sigma, mode=mode))
            on = rng.random(n) > 0.5  # bool in, float64 out, as SciPy
            np.testing.assert_array_equal(gaussian_filter1d(on.astype(np.float64), sigma, mode=mode),
                                          ndimage.gaussian_filter1d(on.astype(np.float64), sigma, mode=mode))
            x2 = rng.normal(size=(n, 3)).astype(np.float32)
            got = gaussian_filter1d(x2, sigma, axis=0, mode=mode)
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, ndimage.gaussian_filter1d(x2, sigma, axis=0, mode=mode))


@pytest.mark.parametrize("size,origin", [(9, 4), (9, -4), (9, 0), (4, 1), (4, -2), (1, 0)])
def test_running_maximum_equals_scipys(size: int, origin: int) -> None:
    rng = np.random.default_rng(2)
    for n in (1, 3, 9, 100):
        x = rng.normal(size=n)
        for mode in ("reflect", "nearest"):
            np.testing.assert_array_equal(maximum_filter1d(x, size, origin=origin, mode=mode),
                                          ndimage.maximum_filter1d(x, size, origin=origin, mode=mode))


def test_bad_settings_are_errors() -> None:
    with pytest.raises(ValueError, match="sigma"):
        gaussian_filter1d(np.zeros(5), 0.0)
    with pytest.raises(ValueError, match="mode"):
        gaussian_filter1d(np.zeros(5), 1.0, mode="wrap")
    with pytest.raises(ValueError, match="origin"):
        maximum_filter1d(np.zeros(5), 9, origin=5)
