"""The learned audio-to-motion path: audio features (+ phones) -> blendshapes and landmark offsets.

A small network sized for a CPU (about 0.3 M parameters), built from the ideas in DESIGN.md:

- **Dual audio encoder, fused by cross-attention** (DAMC, 2025): a *content* encoder over the
  per-utterance-normalised log-mel spectrogram plus the aligned phone identity (an ``UNK``
  token where no alignment exists; whole clips are trained without phones too), and a
  *dynamics* encoder over loudness, its onsets, pitch, voicing, voice activity and formants.
  Both are 1-D convolution stacks (the first layer at 100 Hz, then pooled to the video frame
  rate, the rest at the frame rate); content frames
  attend to the dynamics frames in a local window (+-``attn_window`` frames).
- **Explicit + implicit motion, fused** (HM-Talker, 2025): an explicit head predicts the 52
  ARKit blendshape coefficients (supervised by MediaPipe's blendshapes); an implicit head
  predicts a motion latent; a fusion MLP maps both to the landmark decoders. During training
  the fusion sees, for part of each batch, the implicit latent of another clip (random
  pairing), so it cannot rely on clip/identity-specific detail in the latent.
- **Lip and non-lip landmarks in separate branches, as a residual from the identity's neutral
  mesh** (MoDiTalker, AAAI 2025): each branch predicts coefficients of its own linear basis
  (initialised from a PCA of the training offsets), giving offsets ``[F, 478, 3]`` in the
  face-normalised frame (IOD units) to add to the identity's neutral mesh.

Head pose and blinks are not learned here: :func:`learned_motion` takes them from the rule
path (prosody head pose, blink timing), so the two paths differ only in the face motion.

Inference runs in numpy (+ scipy), without torch: :class:`LearnedMotion` reproduces the
forward pass of the torch module that trains it (:mod:`talkinghead.train.model`, extra
``train``). Cost: a few milliseconds per second of audio (real-time factor below 0.01).
Weights are ``.safetensors`` with the model configuration (JSON) in the metadata.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from talkinghead.types import AudioFeatures, MotionSequence, PhoneSegments

#: ARPAbet phones (no stress) + silence + unknown (no alignment). Index = token id.
PHONE_SET: tuple[str, ...] = (
    "UNK", "SIL", "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G",
    "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH",
    "UW", "V", "W", "Y", "Z", "ZH",
)
_PHONE_ID = {p: i for i, p in enumerate(PHONE_SET)}
#: Number of dynamics features per 100 Hz frame (see :func:`dynamics_features`).
N_DYNAMICS = 8
#: MediaPipe / ARKit blendshape names, in MediaPipe's output order (the explicit head's channels).
BLENDSHAPE_NAMES: tuple[str, ...] = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft",
    "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft",
    "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft",
    "jawOpen", "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper",
    "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft",
    "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
)
#: Checkpoint format tag (safetensors metadata ``format``).
CHECKPOINT_FORMAT = "talkinghead-learned-motion/1"


@dataclass(frozen=True)
class LearnedConfig:
    """Dimensions of the learned motion model (stored inside every checkpoint).

    Attributes:
        dim: channel width of encoders and decoder.
        phone_dim: phone embedding size.
        enc_layers: convolution layers per audio encoder (kernel 5; the first at 100 Hz, >= 1).
        dec_layers: dilated convolution layers of the frame-rate decoder.
        heads: attention heads of the cross-attention fusion.
        attn_window: half-width (video frames) of the local cross-attention window.
        latent_dim: implicit motion latent size.
        n_blendshapes: explicit head channels (52 ARKit blendshapes).
        n_lip_basis, n_face_basis: basis sizes of the lip and non-lip landmark branches.
        lip_index: landmark indices of the lip (mouth + jaw) branch; the rest are non-lip.
    """

    dim: int = 64
    phone_dim: int = 16
    enc_layers: int = 3
    dec_layers: int = 3
    heads: int = 4
    attn_window: int = 6
    latent_dim: int = 32
    n_blendshapes: int = 52
    n_lip_basis: int = 24
    n_face_basis: int = 16
    lip_index: tuple[int, ...] = ()

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LearnedConfig:
        d = json.loads(text)
        d["lip_index"] = tuple(d.get("lip_index", ()))
        return cls(**d)


def default_lip_index() -> tuple[int, ...]:
    """Lip-related landmarks (MoDiTalker's split): lips, the skin around them, and the jaw/chin.

    Chosen on the shipped canonical mesh: ``lip_weight > 0.05`` or ``jaw_weight > 0.05``.
    """
    from talkinghead.face.regions import canonical_mesh, jaw_weight, lip_weight

    m = canonical_mesh()
    keep = (lip_weight(m) > 0.05) | (jaw_weight(m) > 0.05)
    return tuple(int(i) for i in np.flatnonzero(keep))


# -- input features (numpy, shared by training and inference) ---------------------------------

def content_features(mel: np.ndarray) -> np.ndarray:
    """Per-utterance normalised log-mel: each band minus its utterance mean, scaled, float32 ``[T, 80]``."""
    mel = np.asarray(mel, dtype=np.float32)
    return ((mel - mel.mean(0, keepdims=True)) / 4.0).astype(np.float32)


def dynamics_features(energy: np.ndarray, f0: np.ndarray, formants: np.ndarray, active: np.ndarray) -> np.ndarray:
    """The dynamics encoder's input per 100 Hz frame, float32 ``[T, 8]``.

    Channels: loudness relative to the utterance's speech level (90th percentile, /20 dB,
    clipped to [-3, 0.5]); its rise per 10 ms (/10 dB); onsets (positive rise over 30 ms);
    log2 pitch relative to the utterance's median voiced pitch (0 unvoiced); voicing; voice
    activity; F1/1000 and F2/2000 (0 where unknown).
    """
    e = np.asarray(energy, dtype=np.float32)
    act = np.asarray(active, dtype=bool)
    ref = float(np.percentile(e[act], 90)) if act.any() else float(np.percentile(e, 90)) if len(e) else 0.0
    rel = np.clip((e - ref) / 20.0, -3.0, 0.5)
    d = np.diff(rel, prepend=rel[:1]) * 2.0
    onset = np.maximum(0.0, rel - np.concatenate([rel[:1].repeat(3), rel[:-3]])[: len(rel)]) * 2.0
    f0 = np.asarray(f0, dtype=np.float32)
    voiced = f0 > 0
    med = float(np.median(f0[voiced])) if voiced.any() else 1.0
    lf0 = np.where(voiced, np.log2(np.maximum(f0, 1.0) / med), 0.0)
    fm = np.asarray(formants, dtype=np.float32).reshape(len(e), -1)
    out = np.stack([rel, d, onset, np.clip(lf0, -2, 2), voiced, act, fm[:, 0] / 1000.0, fm[:, 1] / 2000.0], axis=1)
    return out.astype(np.float32)


def phone_tokens(phones: PhoneSegments | tuple[tuple[str, float, float], ...], num_frames: int,
                 rate: float = 100.0) -> np.ndarray:
    """Phone token id per audio frame, int64 ``[T]`` (``UNK`` = 0 outside phones / without alignment)."""
    ids = np.zeros(num_frames, np.int64)
    segs = phones.segments if isinstance(phones, PhoneSegments) else phones
    for s in segs:
        p, a, b = (s.phone, s.start_s, s.end_s) if not isinstance(s, tuple) else s
        i0, i1 = int(round(a * rate)), int(round(b * rate))
        ids[max(0, i0):max(0, min(num_frames, i1))] = _PHONE_ID.get(str(p).upper().rstrip("012"), 0)
    return ids


def frame_index(num_frames: int, fps: float, num_audio: int, rate: float = 100.0) -> np.ndarray:
    """100 Hz frames pooled into each video frame ``f`` (time ``f / fps``): int64 ``[F, 4]`` (offsets -2..+1)."""
    c = np.round(np.arange(num_frames) / fps * rate).astype(np.int64)
    return np.clip(c[:, None] + np.arange(-2, 2)[None], 0, max(0, num_audio - 1))


# -- the network, forward pass in numpy --------------------------------------------------------
#
# The same computation as the torch module of :mod:`talkinghead.train.model` (which trains it),
# on the checkpoint's state dict, float32, time-major ``[T, C]``. GroupNorm(1, C) normalises over
# the whole utterance (channels x time), so it is not local: the 100 Hz stage runs in two passes
# over chunks (statistics, then the layer), which keeps memory at O(chunk) there; the frame-rate
# stages hold whole ``[F, dim]`` arrays (an hour at 25 fps: 90 000 x 64 floats, 23 MB each).

_EPS = 1e-5           # torch's default eps of GroupNorm and LayerNorm
_CHUNK_100HZ = 8192   # 100 Hz frames per chunk of the audio-rate stage (82 s of audio)
_CHUNK_FRAMES = 4096  # video frames per chunk of the landmark expansion


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU, ``x * Phi(x)`` (Hendrycks & Gimpel 2016; torch's default, not the tanh form)."""
    from scipy.special import erf

    return (0.5 * x * (1.0 + erf(x * np.float32(0.7071067811865476)))).astype(np.float32, copy=False)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """LayerNorm over the last axis (biased variance, eps 1e-5), float32."""
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(-1, keepdims=True)
    return (xc / np.sqrt(var + np.float32(_EPS)) * w + b).astype(np.float32, copy=False)


def _conv_same(x: np.ndarray, w_t: np.ndarray, b: np.ndarray, dilation: int) -> np.ndarray:
    """Conv1d, kernel K, zero padding ``dilation * (K - 1) / 2`` (same length), time-major.

    ``x`` float32 ``[T, C_in]``, ``w_t`` ``[K, C_in, C_out]`` (torch's ``[C_out, C_in, K]`` transposed),
    ``b`` ``[C_out]`` -> ``[T, C_out]``.
    """
    k = w_t.shape[0]
    pad = dilation * (k - 1) // 2
    t = x.shape[0]
    xp = np.zeros((t + 2 * pad, x.shape[1]), np.float32)
    xp[pad:pad + t] = x
    out = np.broadcast_to(b, (t, w_t.shape[2])).copy()
    for j in range(k):
        out += xp[j * dilation:j * dilation + t] @ w_t[j]
    return out


def _conv_valid(x: np.ndarray, w_t: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Conv1d without padding, dilation 1: ``[T + K - 1, C_in] -> [T, C_out]``."""
    k = w_t.shape[0]
    t = x.shape[0] - k + 1
    out = np.broadcast_to(b, (t, w_t.shape[2])).copy()
    for j in range(k):
        out += x[j:j + t] @ w_t[j]
    return out


class _NumpyNet:
    """The learned motion network on numpy arrays (weights from a checkpoint's state dict).

    Reproduces ``LearnedMotionNet.forward`` of :func:`talkinghead.train.model.build_model` for one
    utterance (batch 1): within about 1e-5 of torch's float32 result.
    """

    def __init__(self, config: LearnedConfig, state: dict[str, np.ndarray]) -> None:
        c = config
        self.cfg = c
        s = {k: np.asarray(v) for k, v in state.items()}
        missing = [k for k in ("phone_emb.weight", "content_in.weight", "fuse.q.weight", "lip_basis") if k not in s]
        if missing:
            raise ValueError(f"state dict lacks {missing}: not a learned-motion model")

        def f32(key: str) -> np.ndarray:
            return np.ascontiguousarray(s[key], dtype=np.float32)

        def lin(prefix: str) -> tuple[np.ndarray, np.ndarray]:  # Linear: y = x @ W.T + b
            return np.ascontiguousarray(f32(prefix + ".weight").T), f32(prefix + ".bias")

        def stack(prefix: str, dilations: tuple[int, ...]) -> list[tuple]:
            return [(np.ascontiguousarray(f32(f"{prefix}.convs.{i}.weight").transpose(2, 1, 0)),
                     f32(f"{prefix}.convs.{i}.bias"), f32(f"{prefix}.norms.{i}.weight"),
                     f32(f"{prefix}.norms.{i}.bias"), d) for i, d in enumerate(dilations)]

        frames_dil = tuple(2 ** i for i in range(c.enc_layers - 1))
        w_in = f32("content_in.weight")[:, :, 0]  # [dim, 80 + phone_dim]
        # Embedding then a 1x1 conv over [mel, embedding] = mel @ W_mel.T + (table @ W_phone.T)[token].
        self.content_in = (np.ascontiguousarray(w_in[:, :80].T), f32("content_in.bias"),
                           np.ascontiguousarray(f32("phone_emb.weight") @ w_in[:, 80:].T))
        self.dynamics_in = (np.ascontiguousarray(f32("dynamics_in.weight")[:, :, 0].T), f32("dynamics_in.bias"))
        self.content = stack("content", (1,))[0]
        self.dynamics = stack("dynamics", (1,))[0]
        self.content_frames = stack("content_frames", frames_dil)
        self.dynamics_frames = stack("dynamics_frames", frames_dil)
        self.decoder = stack("decoder", tuple(2 ** i for i in range(c.dec_layers)))
        self.q, self.k, self.v, self.o = (lin(f"fuse.{n}") for n in "qkvo")
        self.nq = (f32("fuse.nq.weight"), f32("fuse.nq.bias"))
        self.nk = (f32("fuse.nk.weight"), f32("fuse.nk.bias"))
        self.ff_norm = (f32("fuse.ff.0.weight"), f32("fuse.ff.0.bias"))
        self.ff1, self.ff2 = lin("fuse.ff.1"), lin("fuse.ff.3")
        self.explicit, self.implicit = lin("explicit"), lin("implicit")
        self.fusion1, self.fusion2 = lin("fusion.0"), lin("fusion.2")
        self.lip_head, self.face_head = lin("lip_head"), lin("face_head")
        self.lip_index = np.asarray(s["lip_index"], np.int64)
        self.face_index = np.asarray(s["face_index"], np.int64)
        self.lip_basis, self.lip_mean = f32("lip_basis"), f32("lip_mean")
        self.face_basis, self.face_mean = f32("face_basis"), f32("face_mean")

    # -- stages ------------------------------------------------------------------------------

    @staticmethod
    def _group_norm(x: np.ndarray, mean: float, rstd: float, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        return ((x - np.float32(mean)) * np.float32(rstd) * w + b).astype(np.float32, copy=False)

    @staticmethod
    def _stats(chunks: Any) -> tuple[float, float]:
        """Mean and 1/std (biased, eps 1e-5) over all elements of the chunks (float64 sums)."""
        n, s1, s2 = 0, 0.0, 0.0
        for x in chunks:
            x64 = x.astype(np.float64)
            n += x64.size
            s1 += float(x64.sum())
            s2 += float((x64 * x64).sum())
        mean = s1 / max(n, 1)
        var = max(s2 / max(n, 1) - mean * mean, 0.0)
        return mean, 1.0 / float(np.sqrt(var + _EPS))

    def _conv_stack(self, x: np.ndarray, layers: list[tuple]) -> np.ndarray:
        """Residual ``x + GELU(conv(GroupNorm(x)))`` layers over a whole sequence ``[F, dim]``."""
        for w_t, b, gw, gb, d in layers:
            mean, rstd = self._stats([x])
            x = x + _gelu(_conv_same(self._group_norm(x, mean, rstd, gw, gb), w_t, b, d))
        return x

    def _audio_rate(self, project: Any, t: int, layer: tuple, index: np.ndarray) -> np.ndarray:
        """Input projection + the residual 100 Hz layer, then the mean over ``index``: ``[F, dim]``.

        ``project(a, b)`` gives the layer input of 100 Hz frames ``[a, b)``. Two passes over chunks:
        the GroupNorm statistics of the whole utterance, then the layer on each chunk with the
        kernel's halo (2 frames) and the pooling of the video frames whose frames it holds.
        """
        w_t, b, gw, gb, _ = layer
        half = (w_t.shape[0] - 1) // 2
        mean, rstd = self._stats(project(a, min(t, a + _CHUNK_100HZ)) for a in range(0, t, _CHUNK_100HZ))
        f = index.shape[0]
        out = np.empty((f, w_t.shape[2]), np.float32)
        step = max(1, _CHUNK_100HZ // max(1, index.shape[1]))
        for f0 in range(0, f, step):
            f1 = min(f, f0 + step)
            a, e = int(index[f0:f1].min()), int(index[f0:f1].max()) + 1
            lo, hi = max(0, a - half), min(t, e + half)
            x = project(lo, hi)
            xn = np.zeros((e - a + 2 * half, x.shape[1]), np.float32)  # zero padding beyond the ends
            xn[lo - (a - half):hi - (a - half)] = self._group_norm(x, mean, rstd, gw, gb)
            y = x[a - lo:e - lo] + _gelu(_conv_valid(xn, w_t, b))
            g = y[index[f0:f1] - a]  # [n, K, dim]
            out[f0:f1] = g.mean(1)
        return out

    def _attention(self, content: np.ndarray, dynamics: np.ndarray) -> np.ndarray:
        """Local cross-attention (content queries, dynamics keys/values, +-window frames) + feed-forward."""
        f, d = content.shape
        h, w = self.cfg.heads, self.cfg.attn_window
        c = d // h
        q = (_layer_norm(content, *self.nq) @ self.q[0] + self.q[1]).reshape(f, h, c)
        kv = _layer_norm(dynamics, *self.nk)
        k = (kv @ self.k[0] + self.k[1]).reshape(f, h, c)
        v = (kv @ self.v[0] + self.v[1]).reshape(f, h, c)
        scale = np.float32(c ** 0.5)
        att = np.full((f, h, 2 * w + 1), -np.inf, np.float32)
        for j in range(2 * w + 1):
            o = j - w  # key frame = query frame + o; slots outside the sequence stay masked
            lo, hi = max(0, -o), min(f, f - o)
            if hi > lo:
                att[lo:hi, :, j] = (q[lo:hi] * k[lo + o:hi + o]).sum(-1) / scale
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        out = np.zeros((f, h, c), np.float32)
        for j in range(2 * w + 1):
            o = j - w
            lo, hi = max(0, -o), min(f, f - o)
            if hi > lo:
                out[lo:hi] += att[lo:hi, :, j, None] * v[lo + o:hi + o]
        x = content + out.reshape(f, d) @ self.o[0] + self.o[1]
        y = _gelu(_layer_norm(x, *self.ff_norm) @ self.ff1[0] + self.ff1[1]) @ self.ff2[0] + self.ff2[1]
        return x + y

    def forward(self, content: np.ndarray, tokens: np.ndarray, dynamics: np.ndarray,
                index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """content ``[T, 80]``, tokens int ``[T]``, dynamics ``[T, 8]``, index int ``[F, 4]`` ->
        blendshapes float32 ``[F, 52]`` in [0, 1] and offsets float32 ``[F, 478, 3]``."""
        from scipy.special import expit

        t = content.shape[0]
        w_mel, b_c, table = self.content_in
        w_dyn, b_d = self.dynamics_in

        def project_content(a: int, b: int) -> np.ndarray:
            return content[a:b] @ w_mel + table[tokens[a:b]] + b_c

        def project_dynamics(a: int, b: int) -> np.ndarray:
            return dynamics[a:b] @ w_dyn + b_d

        xc = self._conv_stack(self._audio_rate(project_content, t, self.content, index), self.content_frames)
        xd = self._conv_stack(self._audio_rate(project_dynamics, t, self.dynamics, index), self.dynamics_frames)
        hid = self._conv_stack(self._attention(xc, xd), self.decoder)
        blend = expit(hid @ self.explicit[0] + self.explicit[1]).astype(np.float32)
        latent = hid @ self.implicit[0] + self.implicit[1]
        z = _gelu(np.concatenate([blend, latent], axis=-1) @ self.fusion1[0] + self.fusion1[1])
        z = _gelu(z @ self.fusion2[0] + self.fusion2[1])
        cl = z @ self.lip_head[0] + self.lip_head[1]
        cf = z @ self.face_head[0] + self.face_head[1]
        f = index.shape[0]
        off = np.zeros((f, 478, 3), np.float32)
        for f0 in range(0, f, _CHUNK_FRAMES):
            f1 = min(f, f0 + _CHUNK_FRAMES)
            off[f0:f1, self.lip_index] = (cl[f0:f1] @ self.lip_basis + self.lip_mean).reshape(f1 - f0, -1, 3)
            off[f0:f1, self.face_index] = (cf[f0:f1] @ self.face_basis + self.face_mean).reshape(f1 - f0, -1, 3)
        return blend, off


# -- checkpoints ---------------------------------------------------------------------------------

def read_checkpoint(path: str | os.PathLike[str]) -> tuple[LearnedConfig, dict[str, np.ndarray], dict[str, str]]:
    """Read a learned-motion ``.safetensors`` without torch: ``(config, state dict as numpy, metadata)``.

    The file is written by :func:`talkinghead.train.model.save_checkpoint`: the torch state dict,
    and in the metadata ``format`` (:data:`CHECKPOINT_FORMAT`) and ``config`` (LearnedConfig JSON).

    Raises:
        InputError: missing file, not a safetensors file, or not a learned-motion checkpoint.
    """
    from safetensors import safe_open
    from safetensors.numpy import load_file

    from talkinghead.types import InputError

    if not os.path.isfile(path):
        raise InputError(f"{path}: motion model weights not found")
    try:
        with safe_open(str(path), framework="np") as f:
            meta = dict(f.metadata() or {})
    except Exception as e:  # safetensors raises its own error types for corrupt headers
        raise InputError(f"{path}: not a safetensors file ({e})") from e
    if meta.get("format") != CHECKPOINT_FORMAT or "config" not in meta:
        raise InputError(f"{path}: not a talkinghead learned-motion checkpoint")
    try:
        config = LearnedConfig.from_json(meta["config"])
        weights = load_file(str(path))
    except Exception as e:
        raise InputError(f"{path}: unreadable learned-motion checkpoint ({e})") from e
    return config, weights, meta


def default_weights() -> str | None:
    """Path of the shipped weights (``assets/learned_motion.safetensors``), or None if not shipped."""
    from importlib import resources

    p = resources.files("talkinghead") / "assets" / "learned_motion.safetensors"
    return str(p) if p.is_file() else None


def learned_available() -> bool:
    """Whether the learned path can run: the weights are shipped and ``safetensors`` imports (no torch needed)."""
    import importlib.util

    return importlib.util.find_spec("safetensors") is not None and default_weights() is not None


class LearnedMotion:
    """Inference model in numpy (no torch): the same inputs as the rule path, CPU, deterministic.

    Use :meth:`from_file`, then :meth:`predict` (arrays) or :func:`learned_motion` (a MotionSequence).
    The forward pass reproduces the torch model of :mod:`talkinghead.train.model` (max abs
    difference below 1e-6, float32). Cost: about 1-3 ms per second of audio on a
    laptop core; memory: the 100 Hz stage runs in chunks, the rest is ``O(F x 64)`` floats plus
    the ``[F, 478, 3]`` output (an hour at 25 fps: 0.5 GB of offsets).

    Args:
        config: model dimensions (the checkpoint's).
        weights: the torch state dict as numpy arrays (names of :func:`talkinghead.train.model.build_model`).
        meta: checkpoint metadata (strings).
    """

    def __init__(self, config: LearnedConfig, weights: dict[str, np.ndarray],
                 meta: dict[str, str] | None = None) -> None:
        self.config = config
        self.meta = meta or {}
        self.net = _NumpyNet(config, weights)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str] | None = None) -> LearnedMotion:
        """Load weights written by ``talkinghead train motion`` (``.safetensors``); None = the shipped ones.

        Loaded models are cached per path (a pipeline per portrait does not reload them).

        Raises:
            InputError: no weights at ``path`` (or none shipped), or not a learned-motion checkpoint.
        """
        from talkinghead.types import InputError

        path = path if path is not None else default_weights()
        if path is None:
            raise InputError("no learned motion weights shipped (assets/learned_motion.safetensors); use --motion rules")
        return _cached(os.path.abspath(os.fspath(path)))

    def predict(self, features: AudioFeatures, phones: PhoneSegments, active: np.ndarray, fps: float,
                num_frames: int) -> tuple[np.ndarray, np.ndarray]:
        """Blendshapes and landmark offsets for one utterance.

        Args:
            features: 100 Hz audio features (T > 0 frames).
            phones: phone segments (may be empty: the content encoder then sees ``UNK``).
            active: bool ``[T]`` voice activity at 100 Hz.
            fps: video frame rate (Hz, > 0).
            num_frames: F >= 0, number of video frames.
        Returns:
            ``(blendshapes float32 [F, 52] in [0, 1] (ARKit names, :data:`BLENDSHAPE_NAMES`),
            offsets float32 [F, 478, 3] from the identity's neutral mesh, IOD units, face-normalised frame)``.
        Raises:
            ValueError: no audio frames, or ``fps`` not positive.
        """
        t = features.num_frames
        if t <= 0:
            raise ValueError("learned motion needs audio features (got 0 frames)")
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps!r}")
        cont = content_features(features.mel)
        dyn = dynamics_features(features.energy, features.f0, features.formants, active)
        tok = phone_tokens(phones, t, features.frame_rate)
        idx = frame_index(num_frames, fps, t, features.frame_rate)
        if num_frames <= 0:
            return np.zeros((0, self.config.n_blendshapes), np.float32), np.zeros((0, 478, 3), np.float32)
        return self.net.forward(cont, tok, dyn, idx)


def close_bilabials(offsets: np.ndarray, phones: PhoneSegments, fps: float) -> np.ndarray:
    """Force full lip closure on bilabial phones (p, b, m), as the rule path does.

    A regression model smooths short closures away (measured: the learned offsets alone close
    the lips on only about 65% of GRID bilabials, real speakers on 100%). Where the aligned
    phones say p/b/m (frames chosen like :func:`~talkinghead.motion.visemes.phones_to_au`,
    mouth leading the sound by ``LEAD_S``), the predicted inner-lip gap is cancelled with the
    rig's lip-separation field (the part of the jaw drop that opens the lips; what the rule
    path's ``mouthClose`` cancels), fully on the phone's frames and half on the frame either side.

    Args:
        offsets: float ``[F, 478, 3]`` landmark offsets (IOD units), not modified.
        phones: phone segments (no effect without bilabials).
        fps: video frame rate (Hz).
    Returns:
        float32 ``[F, 478, 3]``: the corrected offsets.
    """
    from talkinghead.face.regions import LOWER_INNER_LIP, UPPER_INNER_LIP
    from talkinghead.motion.rig import default_rig
    from talkinghead.motion.visemes import BILABIALS, LEAD_S

    n = offsets.shape[0]
    w = np.zeros(n, np.float32)
    t = np.arange(n) / fps + LEAD_S
    for seg in phones.segments:
        if seg.phone.upper().rstrip("012") not in BILABIALS:
            continue
        frames = np.flatnonzero((t >= seg.start_s) & (t <= seg.end_s))
        if frames.size == 0:
            f = int(round(((seg.start_s + seg.end_s) / 2.0 - LEAD_S) * fps))
            frames = np.array([f]) if 0 <= f < n else np.zeros(0, np.int64)
        for f in frames:
            w[f] = 1.0
            for g in (f - 1, f + 1):
                if 0 <= g < n:
                    w[g] = max(w[g], 0.5)
    if not w.any():
        return offsets.astype(np.float32)
    up, lo = list(UPPER_INNER_LIP[3:8]), list(LOWER_INNER_LIP[3:8])
    field = default_rig().lip_gap_of_jaw
    unit = float(np.mean(field[lo, 1] - field[up, 1]))
    if unit <= 1e-6:
        return offsets.astype(np.float32)
    gap = np.mean(offsets[:, lo, 1] - offsets[:, up, 1], axis=1)
    out = offsets - (w * np.maximum(gap, 0.0) / unit)[:, None, None] * field[None]
    return out.astype(np.float32)


@lru_cache(maxsize=4)
def _cached(path: str) -> LearnedMotion:
    config, weights, meta = read_checkpoint(path)
    return LearnedMotion(config, weights, meta)


def learned_motion(model: LearnedMotion, features: AudioFeatures, phones: PhoneSegments, active: np.ndarray,
                   duration_s: float, config: Any = None, bilabial_closure: bool = True) -> MotionSequence:
    """Motion for a whole utterance by the learned path; a drop-in for :func:`~talkinghead.motion.rules.rule_motion`.

    Face: the learned landmark offsets (with full closure forced on bilabial phones, see
    :func:`close_bilabials`, unless ``bilabial_closure`` is False), with the 52 predicted ARKit
    blendshapes as ``au``.
    Head pose and blinks: the rule path's (prosody head pose, blinks in pauses), same seed.

    Args:
        model: the loaded model.
        features, phones, active, duration_s: as for ``rule_motion``.
        config: a :class:`~talkinghead.motion.rules.MotionConfig` (default settings if None).
        bilabial_closure: force lip closure on aligned p/b/m.
    Returns:
        MotionSequence with ``F = round(duration_s * fps)`` frames, ``source="learned"``.
    """
    from talkinghead.motion.blinks import blink_curve, blink_times
    from talkinghead.motion.head_pose import prosody_head_pose
    from talkinghead.motion.rules import MotionConfig, num_video_frames

    cfg = config if config is not None else MotionConfig()
    n = num_video_frames(duration_s, cfg.fps)
    blend, offsets = model.predict(features, phones, active, cfg.fps, n)
    if bilabial_closure:
        offsets = close_bilabials(offsets, phones, cfg.fps)
    pose = prosody_head_pose(features, active, cfg.fps, n, scale=cfg.pose_scale, seed=cfg.seed)
    t100 = np.arange(len(active)) / features.frame_rate
    onsets = t100[1:][active[:-1] & ~active[1:]]
    blinks = blink_curve(blink_times(duration_s, cfg.blink_rate, onsets, seed=cfg.seed), cfg.fps, n)
    return MotionSequence(fps=cfg.fps, au_names=BLENDSHAPE_NAMES, au=np.clip(blend, 0.0, 1.0), landmark_offsets=offsets,
                          head_pose=pose, blink=blinks, source="learned")
