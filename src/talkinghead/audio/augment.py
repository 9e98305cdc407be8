"""Waveform operations that change how speech sounds but not what is said: voice shift, noise, rooms.

Used to build training copies of speech (:mod:`talkinghead.train.augment`) and noisy evaluation
conditions (:mod:`talkinghead.eval`). All take and return float32 mono samples.
"""

from __future__ import annotations

import numpy as np


def voice_shift(samples: np.ndarray, factor: float) -> np.ndarray:
    """Resample so that, played at the same rate, pitch and formants scale by ``factor``.

    Args:
        samples: float32 ``[N]``.
        factor: > 0; 1.2 raises every frequency by 20% (and shortens the signal by 1/1.2).
    Returns:
        float32 ``[round(N / factor)]`` (approximately): the shifted signal.
    """
    from fractions import Fraction

    from scipy.signal import resample_poly

    fr = Fraction(1.0 / factor).limit_denominator(64)
    if fr == 1:
        return np.asarray(samples, np.float32)
    return resample_poly(samples, fr.numerator, fr.denominator).astype(np.float32)


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``speech + g * noise`` with ``g`` such that the power ratio is ``snr_db`` (noise looped or cut to length)."""
    if len(noise) < len(speech):
        noise = np.tile(noise, int(np.ceil(len(speech) / max(1, len(noise)))))
    noise = noise[: len(speech)]
    ps = float(np.mean(speech.astype(np.float64) ** 2)) + 1e-12
    pn = float(np.mean(noise.astype(np.float64) ** 2)) + 1e-12
    return (speech + noise * np.sqrt(ps / pn / 10 ** (snr_db / 10.0))).astype(np.float32)


def coloured_noise(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Noise with power spectrum ``1 / f**exponent`` (0 white, 1 pink, 2 brown), float32 ``[n]``, unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec / f ** (exponent / 2.0), n)
    return (x / (np.std(x) + 1e-12)).astype(np.float32)


def reverberate(x: np.ndarray, sample_rate: int, rt60_s: float, wet: float, rng: np.random.Generator) -> np.ndarray:
    """Convolve with a synthetic room response (decaying noise, 60 dB down after ``rt60_s``), mixed ``wet`` in [0, 1]."""
    from scipy.signal import fftconvolve

    n = int(rt60_s * sample_rate)
    t = np.arange(n) / sample_rate
    rir = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60_s)
    rir[0] = 0.0
    rir /= np.sqrt(np.sum(rir ** 2)) + 1e-12
    y = fftconvolve(x, rir)[: len(x)]
    y *= np.sqrt(np.mean(x ** 2) / (np.mean(y ** 2) + 1e-12))
    return ((1.0 - wet) * x + wet * y).astype(np.float32)


def babble(talkers: list[np.ndarray], n: int, starts: list[int] | None = None) -> np.ndarray:
    """Several talkers at once: each signal from its ``starts`` offset (0), looped to ``n`` samples, at unit standard deviation, summed.

    Returns:
        float32 ``[n]`` (zeros without talkers).
    """
    out = np.zeros(n, np.float32)
    for k, x in enumerate(talkers):
        seg = np.resize(np.asarray(x, np.float32)[(starts[k] if starts else 0):], n)
        out += seg / (np.std(seg) + 1e-6)
    return out
