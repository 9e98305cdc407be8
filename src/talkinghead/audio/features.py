"""Frame-level acoustic features at 100 Hz: log-mel, loudness, pitch (F0) and formants (F1, F2).

These are the "dynamics" features of DAMC (how and when: energy, pitch, onsets) and the
acoustic cues of the rule path without a transcript (DESIGN.md, "The rule path"): loudness
and F1 drive the jaw, F2 separates rounded from spread lips.

Frame ``t`` is centred on time ``t / 100`` s (10 ms hop, 25 ms analysis window, zero padding
beyond the ends), and a clip of ``d`` seconds has ``T = ceil(100 d)`` frames. Audio is
processed in blocks of :data:`BLOCK_FRAMES` frames, so memory does not grow with the clip
beyond the output arrays (about 340 bytes per frame: 120 MB for an hour).

Everything is vectorised numpy (numpy.fft) with python-soxr for resampling, imported on first
use; no SciPy, whose import would cost every run about 0.25 s of start-up.
Measured on a shared 2-core CPU: 0.006-0.007 real-time factor on a 60 s speech clip (16 kHz)
and on a 22 s 44.1 kHz clip; 0.004 on an hour of noise, peak memory input + 220 MB.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from talkinghead.types import FEATURE_RATE, N_MELS, PCM16_SCALE, AudioFeatures, Speech

#: Internal analysis sample rate (Hz) for mel and loudness.
ANALYSIS_RATE = 16000
#: Hop between frames in samples at :data:`ANALYSIS_RATE` (10 ms).
HOP = 160
#: Analysis window in samples at :data:`ANALYSIS_RATE` (25 ms); also the FFT size (Whisper's front end).
WIN = 400
#: Frames per processing block (30 s): bounds working memory for long audio.
BLOCK_FRAMES = 3000
#: Energy floor in dBFS (digital silence).
ENERGY_FLOOR_DB = -100.0
#: Log-mel power floor (before the natural log).
MEL_FLOOR = 1e-10

#: Pitch search range (Hz) and YIN settings (de Cheveigné & Kawahara 2002).
F0_MIN = 60.0
F0_MAX = 400.0
_YIN_RATE = 8000
_YIN_WIN = 200  # integration window at 8 kHz (25 ms)
_YIN_THRESHOLD = 0.15  # absolute threshold for the first dip of the CMNDF (YIN step 4)
_VOICING_MAX_APERIODICITY = 0.35  # CMNDF at the chosen lag above this: unvoiced
_VOICING_MIN_DB = -60.0  # frames quieter than this (dBFS) are unvoiced
_VOICING_REL_DB = 45.0  # ... or more than this below the clip's loud level
_MIN_VOICED_FRAMES = 3  # shorter voiced runs (< 30 ms) are dropped as spurious

#: Formant analysis (Praat-style "Burg" settings: resample to 2 x 5500 Hz, 5 formants -> order 10).
_LPC_RATE = 11000
_LPC_ORDER = 10
_LPC_WIN = 275  # 25 ms at 11 kHz
_PREEMPHASIS_HZ = 50.0
_FORMANT_MIN_HZ = 150.0
_FORMANT_MAX_BW_HZ = 500.0

# Context (seconds) kept around each block so every window and resampling filter sees real samples.
_CONTEXT_S = 0.1


def compute_features(speech: Speech) -> AudioFeatures:
    """Compute log-mel, loudness, F0 and formants at 100 frames per second.

    Args:
        speech: mono float32 samples in [-1, 1] (or int16 PCM, see :class:`~talkinghead.types.Speech`)
            at any sample rate (resampled internally to 16 kHz by :func:`resample`).

    Returns:
        :class:`AudioFeatures` with ``T = ceil(100 * duration_s)`` frames (0 for empty audio):

        - ``mel`` float32 ``[T, 80]``: natural log of mel power (floor 1e-10). 400-point FFT of a
          Hann-windowed 25 ms frame, 80 Slaney-scale triangular filters over 0-8000 Hz with
          Slaney area normalisation: the Whisper / librosa ``melspectrogram`` front end, but
          natural log, zero padding and no clamping to the clip's maximum.
        - ``energy`` float32 ``[T]``: RMS level of the 25 ms frame in dBFS, in [-100, ~3]
          (a full-scale sine is -3 dBFS).
        - ``f0`` float32 ``[T]``: fundamental frequency in Hz within [60, 400], 0 where
          unvoiced. YIN (de Cheveigné & Kawahara, JASA 2002): cumulative-mean-normalised
          difference function over a 25 ms integration window at 8 kHz, absolute threshold
          0.15, parabolic interpolation; a frame is voiced when its aperiodicity is below 0.35,
          it is louder than -60 dBFS and within 45 dB of the clip's loud level (95th
          percentile), and it belongs to a voiced run of at least 30 ms.
        - ``formants`` float32 ``[T, 2]``: F1, F2 in Hz from the roots of a 10th-order LPC
          polynomial (autocorrelation method, Hamming window, pre-emphasis from 50 Hz) at
          11 kHz, as in Praat's ``To Formant`` defaults for a 5500 Hz ceiling. Candidates
          below 150 Hz or with bandwidth over 500 Hz are skipped; 0 where the frame is
          unvoiced (``f0 == 0``) or fewer than two candidates exist.

    Raises:
        ValueError: samples are not one-dimensional or the sample rate is not a positive integer.
    """
    x = np.asarray(speech.samples)
    if x.ndim != 1:
        raise ValueError(f"speech must be mono (1-D samples), got shape {x.shape}")
    sr = int(speech.sample_rate)
    if sr <= 0 or sr != speech.sample_rate:
        raise ValueError(f"sample rate must be a positive integer in Hz, got {speech.sample_rate!r}")
    n_frames = math.ceil(len(x) * FEATURE_RATE / sr - 1e-9) if len(x) else 0

    mel = np.empty((n_frames, N_MELS), np.float32)
    energy = np.empty(n_frames, np.float32)
    f0 = np.empty(n_frames, np.float32)
    aperiodicity = np.empty(n_frames, np.float32)
    formants = np.zeros((n_frames, 2), np.float32)
    lpc_blocks: list[tuple[int, np.ndarray]] = []

    for t0 in range(0, n_frames, BLOCK_FRAMES):
        t1 = min(n_frames, t0 + BLOCK_FRAMES)
        y16 = _block_at_16k(x, sr, t0, t1)
        mel[t0:t1], energy[t0:t1] = _mel_and_energy(y16, t1 - t0)
        f0[t0:t1], aperiodicity[t0:t1] = _yin(y16, t1 - t0)
        lpc_blocks.append((t0, _lpc(y16, t1 - t0)))

    voiced = _voicing(f0, aperiodicity, energy)
    f0 = np.where(voiced, f0, 0.0).astype(np.float32)
    for t0, lpc in lpc_blocks:
        idx = np.flatnonzero(voiced[t0 : t0 + len(lpc)])
        if len(idx):
            formants[t0 + idx] = _formants_from_lpc(lpc[idx], _LPC_RATE)
    return AudioFeatures(mel=mel, energy=energy, f0=f0, formants=formants, frame_rate=FEATURE_RATE)


def speech_activity(
    features: AudioFeatures,
    min_pause_s: float = 0.15,
    min_speech_s: float = 0.03,
) -> np.ndarray:
    """Energy-based voice activity with hysteresis, adapted to the clip's noise floor.

    The noise floor is the 10th percentile of the frame energy and the speech level the 95th.
    A stretch is speech when its energy stays above a low threshold (floor + max(3 dB, 20% of
    the range)) and somewhere exceeds a high one (floor + max(6 dB, 35% of the range), and at
    least -65 dBFS); pauses shorter than ``min_pause_s`` between speech are filled and speech
    runs shorter than ``min_speech_s`` dropped. A clip whose level varies by less than 6 dB is
    all speech if louder than -55 dBFS, otherwise all silence.

    Args:
        features: from :func:`compute_features` (only ``energy`` and ``frame_rate`` are used).
        min_pause_s: shortest pause (s) kept as non-speech.
        min_speech_s: shortest speech run (s) kept.

    Returns:
        bool ``[T]``: True on frames inside speech.
    """
    e = np.asarray(features.energy, np.float64)
    if e.size == 0:
        return np.zeros(0, bool)
    floor, level = np.percentile(e, [10.0, 95.0])
    spread = level - floor
    if spread < 6.0:
        return np.full(e.shape, level > -55.0)
    high = max(floor + max(6.0, 0.35 * spread), -65.0)
    low = min(high, floor + max(3.0, 0.2 * spread))
    active = np.zeros(e.shape, bool)
    for a, b in true_runs(e > low):  # a stretch above the low threshold that peaks above the high one
        if e[a:b].max() > high:
            active[a:b] = True
    rate = float(features.frame_rate)
    active = _fill_short_runs(active, value=False, max_len=int(round(min_pause_s * rate)) - 1, interior_only=True)
    return _fill_short_runs(active, value=True, max_len=int(round(min_speech_s * rate)) - 1, interior_only=False)


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """The runs of True in a 1-D bool mask, as ``[start, end)`` index pairs in order."""
    idx = np.flatnonzero(np.diff(np.concatenate([[0], np.asarray(mask, bool).astype(np.int8), [0]])))
    return list(zip(idx[0::2].tolist(), idx[1::2].tolist()))


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """Slaney mel scale (librosa's default, ``htk=False``): linear below 1 kHz, logarithmic above; float64."""
    f = np.asarray(f, np.float64)
    lin = f / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log, lin)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel` (Hz, float64)."""
    m = np.asarray(m, np.float64)
    lin = m * (200.0 / 3)
    log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0))
    return np.where(m >= 15.0, log, lin)


def mel_filterbank(sample_rate: int = ANALYSIS_RATE, n_fft: int = WIN, n_mels: int = N_MELS) -> np.ndarray:
    """Slaney-scale triangular mel filterbank with area normalisation (librosa's default).

    Returns:
        float32 ``[n_mels, n_fft // 2 + 1]`` weights mapping a power spectrum to mel bands over
        0 Hz to ``sample_rate / 2``.
    """
    return _mel_filterbank(int(sample_rate), int(n_fft), int(n_mels)).copy()


# --------------------------------------------------------------------------- internals


def resample(x: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited resampling of a whole signal (python-soxr, "HQ" quality; Robinson's libsoxr).

    Zero-delay: output sample ``k`` is at time ``k / to_rate``, as input sample ``k`` at
    ``k / from_rate``. soxr replaced ``scipy.signal.resample_poly`` here because importing
    scipy.signal costs about 0.5-0.7 s of every run's start-up, soxr 3 ms.

    Args:
        x: float ``[N]`` samples.
        from_rate, to_rate: positive rates (Hz).
    Returns:
        float32 ``[ceil(N * to_rate / from_rate)]`` (approximately).
    """
    import soxr

    if from_rate == to_rate:
        return np.asarray(x, np.float32)
    return soxr.resample(np.asarray(x, np.float32), int(from_rate), int(to_rate), quality="HQ").astype(np.float32, copy=False)


def _block_at_16k(x: np.ndarray, sr: int, t0: int, t1: int) -> np.ndarray:
    """Samples at 16 kHz from ``t0/100 - 0.1`` s to ``t1/100 + 0.1`` s, zero outside the clip.

    The first frame of the block is centred at index ``1600``, frame ``t0 + k`` at ``1600 + 160 k``.
    """
    ctx16 = int(_CONTEXT_S * ANALYSIS_RATE)
    n16 = (t1 - t0 - 1) * HOP + 2 * ctx16 + 1
    if sr == ANALYSIS_RATE:
        return _slice_padded(x, t0 * HOP - ctx16, n16)
    # Resample a segment that starts on a whole second (an integer sample at any rate) and
    # carries at least one extra second on each side, so the filter's edge effects fall outside.
    s0 = t0 // int(FEATURE_RATE) - 1
    s1 = math.ceil(t1 / FEATURE_RATE) + 1
    seg = _slice_padded(x, s0 * sr, (s1 - s0) * sr)
    y = resample(seg, sr, ANALYSIS_RATE)
    start = t0 * HOP - ctx16 - s0 * ANALYSIS_RATE
    return y[start : start + n16]


def _slice_padded(x: np.ndarray, start: int, n: int) -> np.ndarray:
    """``x[start:start+n]`` as float32 (int16 PCM divided by :data:`PCM16_SCALE`), zeros where the range
    leaves the array."""
    out = np.zeros(n, np.float32)
    a, b = max(start, 0), min(start + n, len(x))
    if b > a:
        out[a - start : b - start] = x[a:b]
        if x.dtype == np.int16:
            out[a - start : b - start] *= np.float32(1.0 / PCM16_SCALE)
    return np.nan_to_num(out, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)


def _frames(y: np.ndarray, first_centre: int, hop: int, win: int, n: int) -> np.ndarray:
    """View ``[n, win]`` of windows of ``y`` centred at ``first_centre + hop * k``."""
    start = first_centre - win // 2
    view = np.lib.stride_tricks.sliding_window_view(y, win)
    return view[start : start + hop * (n - 1) + 1 : hop]


@lru_cache(maxsize=8)
def _mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    fft_hz = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2), n_mels + 2))
    lower = (fft_hz[None, :] - edges[:-2, None]) / np.diff(edges)[:-1, None]
    upper = (edges[2:, None] - fft_hz[None, :]) / np.diff(edges)[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


@lru_cache(maxsize=8)
def _window(kind: str, n: int) -> np.ndarray:
    if kind == "hann":  # periodic, as torch.hann_window / librosa
        return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)
    return np.hamming(n).astype(np.float32)


def _mel_and_energy(y16: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    ctx16 = int(_CONTEXT_S * ANALYSIS_RATE)
    frames = _frames(y16, ctx16, HOP, WIN, n)
    ms = np.einsum("ij,ij->i", frames, frames, dtype=np.float64) / WIN
    energy = np.maximum(10.0 * np.log10(np.maximum(ms, 1e-30)), ENERGY_FLOOR_DB)
    spec = np.fft.rfft(frames * _window("hann", WIN), axis=1)
    power = spec.real**2 + spec.imag**2
    mel = power.astype(np.float32) @ _mel_filterbank(ANALYSIS_RATE, WIN, N_MELS).T
    return np.log(np.maximum(mel, MEL_FLOOR)), energy.astype(np.float32)


def _yin(y16: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """F0 candidate (Hz) and aperiodicity (CMNDF at the chosen lag) per frame, before voicing."""
    ctx8 = int(_CONTEXT_S * _YIN_RATE)
    y8 = resample(y16, ANALYSIS_RATE, _YIN_RATE)
    tau_min = int(math.floor(_YIN_RATE / F0_MAX))
    tau_max = int(math.ceil(_YIN_RATE / F0_MIN))
    w = _YIN_WIN
    length = w + tau_max + 1
    # Centre the integration window plus a typical lag (~160 Hz) on the frame time.
    start = ctx8 - (w + _YIN_RATE // 160) // 2
    frames = _frames(y8, start + length // 2, HOP // 2, length, n).astype(np.float64)
    frames = frames - frames[:, :w].mean(axis=1, keepdims=True)
    nfft = _fast_length(length + w)
    a = np.fft.rfft(frames[:, :w], nfft, axis=1)
    b = np.fft.rfft(frames, nfft, axis=1)
    r = np.fft.irfft(np.conj(a) * b, nfft, axis=1)[:, : tau_max + 2]
    cs = np.concatenate([np.zeros((n, 1)), np.cumsum(frames**2, axis=1)], axis=1)
    taus = np.arange(tau_max + 2)
    e_tau = cs[:, taus + w] - cs[:, taus]
    d = np.maximum(e_tau[:, :1] + e_tau - 2.0 * r, 0.0)
    # Cumulative mean normalised difference (YIN step 3): d'(0) = 1, d'(tau) = d(tau) tau / sum_{j<=tau} d(j).
    cum = np.cumsum(d[:, 1:], axis=1)
    cmndf = np.ones_like(d)
    cmndf[:, 1:] = d[:, 1:] * taus[1:] / np.maximum(cum, 1e-12)
    cmndf[cum[:, -1] <= 1e-9] = 1.0  # digital silence
    seg = cmndf[:, tau_min - 1 : tau_max + 2]  # includes one neighbour on each side
    mid = seg[:, 1:-1]
    local_min = (mid <= seg[:, :-2]) & (mid <= seg[:, 2:])
    cand = local_min & (mid < _YIN_THRESHOLD)
    has = cand.any(axis=1)
    k = np.where(has, cand.argmax(axis=1), mid.argmin(axis=1))
    rows = np.arange(n)
    # Parabolic interpolation around the chosen lag.
    left, centre, right = seg[rows, k], seg[rows, k + 1], seg[rows, k + 2]
    denom = left - 2.0 * centre + right
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (left - right) / np.where(denom == 0, 1.0, denom), 0.0)
    tau = tau_min + k + np.clip(shift, -0.5, 0.5)
    f0 = np.clip(_YIN_RATE / tau, F0_MIN, F0_MAX)
    return f0.astype(np.float32), centre.astype(np.float32)


def _voicing(f0: np.ndarray, aperiodicity: np.ndarray, energy: np.ndarray) -> np.ndarray:
    if f0.size == 0:
        return np.zeros(0, bool)
    loud = float(np.percentile(energy, 95.0))
    gate = max(_VOICING_MIN_DB, loud - _VOICING_REL_DB)
    voiced = (aperiodicity < _VOICING_MAX_APERIODICITY) & (energy > gate)
    return _fill_short_runs(voiced, value=True, max_len=_MIN_VOICED_FRAMES - 1, interior_only=False)


def _fill_short_runs(mask: np.ndarray, value: bool, max_len: int, interior_only: bool) -> np.ndarray:
    """Flip runs of ``value`` no longer than ``max_len`` frames; with ``interior_only``, keep runs touching the ends."""
    mask = np.asarray(mask, bool).copy()
    if max_len < 1 or mask.size == 0:
        return mask
    for a, b in true_runs(mask == value):
        if b - a <= max_len and not (interior_only and (a == 0 or b == mask.size)):
            mask[a:b] = not value
    return mask


@lru_cache(maxsize=8)
def _fast_length(n: int) -> int:
    """The smallest 5-smooth number (2^a 3^b 5^c) >= ``n``: a fast FFT length (as ``scipy.fft.next_fast_len``
    for real input; NumPy's FFT is used so that the analysis does not import SciPy, 0.25 s)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            q = p35
            while q < n:
                q *= 2
            best = min(best, q)
            p35 *= 3
        p5 *= 5
    return best


def _lpc(y16: np.ndarray, n: int) -> np.ndarray:
    """LPC polynomials ``[n, order + 1]`` (float64, a[0] = 1) of 25 ms frames at 11 kHz."""
    ctx = int(_CONTEXT_S * _LPC_RATE)
    y = resample(y16, ANALYSIS_RATE, _LPC_RATE).astype(np.float64)
    alpha = math.exp(-2.0 * math.pi * _PREEMPHASIS_HZ / _LPC_RATE)
    y[1:] -= alpha * y[:-1]
    hop = int(_LPC_RATE / FEATURE_RATE)
    frames = _frames(y, ctx, hop, _LPC_WIN, n) * _window("hamming", _LPC_WIN)
    nfft = _fast_length(2 * _LPC_WIN)
    spec = np.fft.rfft(frames, nfft, axis=1)
    r = np.fft.irfft(spec.real**2 + spec.imag**2, nfft, axis=1)[:, : _LPC_ORDER + 1]
    r[:, 0] = r[:, 0] * (1.0 + 1e-9) + 1e-12  # white-noise correction keeps Levinson stable
    return _levinson(r, _LPC_ORDER)


def _levinson(r: np.ndarray, order: int) -> np.ndarray:
    """Levinson-Durbin recursion, vectorised over rows of the autocorrelation ``r`` ``[n, >= order+1]``."""
    n = r.shape[0]
    a = np.zeros((n, order + 1))
    a[:, 0] = 1.0
    err = r[:, 0].copy()
    for i in range(1, order + 1):
        acc = r[:, i] + np.einsum("ij,ij->i", a[:, 1:i], r[:, i - 1 : 0 : -1]) if i > 1 else r[:, i].copy()
        k = -acc / err
        a[:, 1:i] = a[:, 1:i] + k[:, None] * a[:, i - 1 : 0 : -1]
        a[:, i] = k
        err = err * (1.0 - k * k)
    return a


def _formants_from_lpc(a: np.ndarray, rate: int) -> np.ndarray:
    """F1, F2 (Hz) ``[n, 2]`` from LPC polynomials ``[n, p+1]`` via batched companion-matrix eigenvalues."""
    n, p1 = a.shape
    p = p1 - 1
    comp = np.zeros((n, p, p))
    comp[:, 0, :] = -a[:, 1:]
    comp[:, np.arange(1, p), np.arange(p - 1)] = 1.0
    roots = np.linalg.eigvals(comp)
    freq = np.angle(roots) * (rate / (2.0 * np.pi))
    bw = -np.log(np.maximum(np.abs(roots), 1e-12)) * (rate / np.pi)
    ok = (roots.imag > 0) & (freq > _FORMANT_MIN_HZ) & (freq < rate / 2 - 50.0) & (bw < _FORMANT_MAX_BW_HZ)
    freq = np.sort(np.where(ok, freq, np.inf), axis=1)[:, :2]
    return np.where(np.isfinite(freq), freq, 0.0).astype(np.float32)
