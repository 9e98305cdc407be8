"""Phone posteriorgrams from pocketsphinx's many-speaker acoustic model, read from our log-mel.

A phonetic posteriorgram (PPG: the probability of each phone per frame) from an acoustic model
trained on many speakers says what is being said with much less of who says it than a log-mel
does; PPGs are the usual speaker-independent input of voice conversion (Sun et al., ICME 2016)
and of audio-driven faces trained on one speaker. pocketsphinx's bundled US English model is
phonetically tied (PTM): one codebook of 128 diagonal Gaussians per context-independent phone
and stream, trained on the MFCCs of many voices. This module scores each frame against those
42 codebooks (uniform mixture weights: the codebook stands for its phone), from the 80-band
log-mel we already compute:

1. the mel power spectrum is re-binned onto sphinx's 25 mel filters (130-6800 Hz, ``feat.params``):
   each of our bands stands for the spectral density at its centre, weighted by the sphinx
   triangle there and the band spacing;
2. natural log, orthonormal DCT-II (sphinx's ``-transform dct``), 13 cepstra, sine lifter 22;
3. per-utterance cepstral mean subtraction (``-cmn batch``): constant per-band gains (pre-emphasis,
   filter areas, the window) drop out here, which is why the re-binning can ignore them;
4. deltas ``c[t+2] - c[t-2]`` and delta-deltas of those, as sphinx's ``1s_c_d_dd``.

The output is each frame's log posterior over the 42 phones (a softmax over the codebook
log-likelihoods at a temperature), clipped, so its scale suits a network's input.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

#: pocketsphinx's context-independent phones, in its ``mdef`` order (= codebook order).
CI_PHONES = ("+NSN+", "+SPN+", "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F",
             "G", "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "SIL", "T",
             "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH")
N_PPG = len(CI_PHONES)
#: Softmax temperature on the summed log-likelihoods of the three streams (39 dimensions).
TEMPERATURE = 4.0
#: Log posteriors below this are clipped (then divided by ``-FLOOR`` to lie in [-1, 0]).
FLOOR = -20.0
_N_CEP, _LIFTER, _LOWER_HZ, _UPPER_HZ, _N_FILT = 13, 22, 130.0, 6800.0, 25


def model_dir() -> Path:
    """pocketsphinx's bundled US English acoustic model folder (``means``, ``variances``, ``mdef``)."""
    import pocketsphinx

    return Path(pocketsphinx.get_model_path()) / "en-us" / "en-us"


def read_s3_gaussians(path: str | os.PathLike[str]) -> np.ndarray:
    """A sphinx ``s3`` Gaussian parameter file (``means`` or ``variances``) as float32 ``[n_mgau, n_feat, n_density, veclen]``.

    Raises:
        ValueError: not an s3 file, unknown byte order, or streams of different lengths.
    """
    data = Path(path).read_bytes()
    end = data.find(b"endhdr\n")
    if not data.startswith(b"s3") or end < 0:
        raise ValueError(f"{path}: not a sphinx s3 parameter file")
    pos = end + len(b"endhdr\n")
    magic = np.frombuffer(data, "<u4", 1, pos)[0]
    order = "<" if magic == 0x11223344 else ">" if magic == 0x44332211 else None
    if order is None:
        raise ValueError(f"{path}: unknown byte order mark {magic:#x}")
    n_mgau, n_feat, n_density = (int(x) for x in np.frombuffer(data, order + "i4", 3, pos + 4))
    veclen = np.frombuffer(data, order + "i4", n_feat, pos + 16)
    if len(set(veclen.tolist())) != 1:
        raise ValueError(f"{path}: streams of different lengths {veclen.tolist()}")
    total = int(np.frombuffer(data, order + "i4", 1, pos + 16 + 4 * n_feat)[0])
    values = np.frombuffer(data, order + "f4", total, pos + 20 + 4 * n_feat)
    return values.reshape(n_mgau, n_feat, n_density, int(veclen[0])).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _codebooks() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per stream: precision-weighted terms for the quadratic form, as ``(a, b, c)`` with
    ``log N(x) = x**2 @ a + x @ b + c``: a, b float32 ``[3, 13, 42 * 128]``, c ``[3, 42 * 128]``."""
    d = model_dir()
    mu, var = read_s3_gaussians(d / "means"), read_s3_gaussians(d / "variances")
    unused = (var <= 0).all(-1).transpose(1, 0, 2).reshape(var.shape[1], -1)  # 16 Gaussians with no variance
    var = np.maximum(var, 1e-4)
    n_mgau, n_feat, n_dens, dim = mu.shape
    if n_mgau != N_PPG:
        raise ValueError(f"{d}: {n_mgau} codebooks, expected one per CI phone ({N_PPG})")
    mu = mu.transpose(1, 0, 2, 3).reshape(n_feat, n_mgau * n_dens, dim).astype(np.float64)
    var = var.transpose(1, 0, 2, 3).reshape(n_feat, n_mgau * n_dens, dim).astype(np.float64)
    a = (-0.5 / var).transpose(0, 2, 1)
    b = (mu / var).transpose(0, 2, 1)
    c = -0.5 * ((mu ** 2 / var).sum(-1) + np.log(2 * np.pi * var).sum(-1)) - np.log(n_dens)
    c[unused] = -1e30  # never chosen (not -inf: no inf - inf in the sums)
    return a.astype(np.float32), b.astype(np.float32), c.astype(np.float32)


@functools.lru_cache(maxsize=1)
def _rebin_and_dct() -> tuple[np.ndarray, np.ndarray]:
    """``A`` float64 ``[25, 80]`` (our mel band power -> sphinx filter energy) and the liftered DCT ``[13, 25]``."""
    from talkinghead.audio.features import ANALYSIS_RATE, hz_to_mel, mel_to_hz
    from talkinghead.types import N_MELS

    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(ANALYSIS_RATE / 2), N_MELS + 2))
    centres, spacing = edges[1:-1], (edges[2:] - edges[:-2]) / 2
    htk = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731 (sphinx's mel scale)
    points = 700.0 * (10 ** (np.linspace(htk(_LOWER_HZ), htk(_UPPER_HZ), _N_FILT + 2) / 2595.0) - 1.0)
    lo, mid, hi = points[:-2, None], points[1:-1, None], points[2:, None]
    f = centres[None, :]
    tri = np.clip(np.minimum((f - lo) / (mid - lo), (hi - f) / (hi - mid)), 0.0, None)
    rebin = tri * spacing[None, :]
    i, j = np.arange(_N_CEP)[:, None], np.arange(_N_FILT)[None, :]
    dct = np.cos(np.pi * i * (j + 0.5) / _N_FILT) * np.sqrt(2.0 / _N_FILT)
    dct[0] = np.sqrt(1.0 / _N_FILT)
    lifter = 1.0 + _LIFTER / 2.0 * np.sin(np.arange(_N_CEP) * np.pi / _LIFTER)
    return rebin, dct * lifter[:, None]


def sphinx_cepstra(mel: np.ndarray) -> np.ndarray:
    """Sphinx-style MFCC features from our log-mel: float32 ``[T, 3, 13]`` (cepstra, deltas, delta-deltas),
    cepstral mean removed over the whole of ``mel``.

    Args:
        mel: float ``[T, 80]``, natural log of mel power (:func:`talkinghead.audio.features.compute_features`).
    """
    n = len(mel)
    if not n:
        return np.zeros((0, 3, _N_CEP), np.float32)
    rebin, dct = _rebin_and_dct()
    power = np.exp(np.asarray(mel, dtype=np.float64))
    cep = np.log(np.maximum(power @ rebin.T, 1e-30)) @ dct.T
    cep -= cep.mean(0, keepdims=True)
    pad = np.concatenate([cep[:1].repeat(3, 0), cep, cep[-1:].repeat(3, 0)])
    delta = pad[5:5 + n] - pad[1:1 + n]                       # c[t+2] - c[t-2]
    dd = (pad[6:6 + n] - pad[2:2 + n]) - (pad[4:4 + n] - pad[:n])  # d[t+1] - d[t-1]
    return np.stack([cep, delta, dd], axis=1).astype(np.float32)


def phone_loglik(mel: np.ndarray) -> np.ndarray:
    """Log-likelihood of each frame under each CI phone's codebooks (uniform weights, three streams summed):
    float32 ``[T, 42]`` (phones in :data:`CI_PHONES` order)."""
    x = sphinx_cepstra(mel)
    a, b, c = _codebooks()
    total = np.zeros((len(x), N_PPG), np.float32)
    for s in range(x.shape[1]):
        ll = (x[:, s] ** 2) @ a[s] + x[:, s] @ b[s] + c[s]            # [T, 42 * 128]
        ll = ll.reshape(len(x), N_PPG, c.shape[1] // N_PPG)
        m = ll.max(-1, keepdims=True)
        total += (m + np.log(np.exp(ll - m).sum(-1, keepdims=True)))[..., 0]
    return total


def ppg_features(mel: np.ndarray) -> np.ndarray:
    """The phone posteriorgram as a network input: float32 ``[T, 42]`` in [-1, 0].

    Each frame's log posterior over :data:`CI_PHONES` (softmax of :func:`phone_loglik` / :data:`TEMPERATURE`),
    clipped at :data:`FLOOR` and divided by ``-FLOOR``. Costs about 10 ms of CPU per second of speech (``benchmarks/ppg_check.py``).

    Args:
        mel: float ``[T, 80]`` log-mel of one utterance (its cepstral mean is removed over all of it).
    """
    ll = phone_loglik(mel) / TEMPERATURE
    ll -= ll.max(1, keepdims=True)
    logp = ll - np.log(np.exp(ll).sum(1, keepdims=True))
    return (np.maximum(logp, FLOOR) / -FLOOR).astype(np.float32)
