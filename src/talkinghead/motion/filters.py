"""One-dimensional smoothing for motion curves: SciPy's results, without importing SciPy at start-up.

``scipy.ndimage`` costs about 0.2-0.3 s to import, on the critical path of every short run
(head pose and blinks smooth their curves with it). These give the same values as
``scipy.ndimage.gaussian_filter1d`` and ``maximum_filter1d`` for the settings used here (float64
arithmetic in SciPy's order; the tests compare them bit for bit).
"""

from __future__ import annotations

import numpy as np

#: SciPy's boundary modes and numpy.pad's names for them.
_PAD = {"reflect": "symmetric", "nearest": "edge", "mirror": "reflect"}


def gaussian_kernel(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Normalised Gaussian weights, float64 ``[2r + 1]`` with ``r = int(truncate * sigma + 0.5)`` (SciPy's kernel)."""
    radius = int(truncate * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (float(sigma) * float(sigma)) * x ** 2)
    return phi / phi.sum()


def gaussian_filter1d(x: np.ndarray, sigma: float, axis: int = -1, mode: str = "reflect",
                      truncate: float = 4.0) -> np.ndarray:
    """Gaussian smoothing along one axis, as ``scipy.ndimage.gaussian_filter1d``.

    Args:
        x: float array (any shape; integer or bool input is smoothed as float64).
        sigma: standard deviation in samples (> 0).
        axis: the axis smoothed.
        mode: how the ends are extended: ``"reflect"`` (d c b a | a b c d | d c b a, SciPy's
            default), ``"nearest"`` (a a a | a b c d) or ``"mirror"`` (d c b | a b c d).
        truncate: the kernel reaches this many standard deviations.
    Returns:
        Array of ``x``'s shape; its dtype if floating, else float64.
    Raises:
        ValueError: ``sigma`` not positive, or an unknown ``mode``.
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    if mode not in _PAD:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(_PAD)}")
    a = np.asarray(x)
    dtype = a.dtype if np.issubdtype(a.dtype, np.floating) else np.dtype(np.float64)
    w = gaussian_kernel(sigma, truncate)
    r = len(w) // 2
    moved = np.moveaxis(a.astype(np.float64, copy=False), axis, 0)
    n = moved.shape[0]
    if n == 0:
        return np.asarray(x, dtype).copy()
    p = np.pad(moved, [(r, r)] + [(0, 0)] * (moved.ndim - 1), mode=_PAD[mode])
    out = p[r:r + n] * w[r]
    for j in range(r, 0, -1):  # symmetric kernel, outermost pair first: SciPy's summation order
        out += (p[r - j:r - j + n] + p[r + j:r + j + n]) * w[r + j]
    return np.moveaxis(out, 0, axis).astype(dtype, copy=False)


def maximum_filter1d(x: np.ndarray, size: int, origin: int = 0, mode: str = "reflect") -> np.ndarray:
    """Running maximum over ``size`` samples of a 1-D array, as ``scipy.ndimage.maximum_filter1d``.

    Args:
        x: 1-D array.
        size: window length (>= 1).
        origin: shift of the window: output ``i`` is the maximum of ``x[i - size // 2 - origin``
            ``: i - size // 2 - origin + size]`` (|origin| <= size // 2).
        mode: end extension, as :func:`gaussian_filter1d`.
    Returns:
        Array like ``x``.
    Raises:
        ValueError: bad ``size``, ``origin`` or ``mode``.
    """
    if size < 1 or not -(size // 2) <= origin <= (size - 1) // 2:
        raise ValueError(f"size must be >= 1 and origin within the window, got size {size}, origin {origin}")
    if mode not in _PAD:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(_PAD)}")
    a = np.asarray(x)
    if a.size == 0:
        return a.copy()
    before = size // 2 + origin
    p = np.pad(a, (before, size - 1 - before), mode=_PAD[mode])
    return np.lib.stride_tricks.sliding_window_view(p, size).max(axis=1)
