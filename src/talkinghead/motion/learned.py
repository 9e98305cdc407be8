"""The learned audio-to-motion path: audio features (+ phones) -> blendshapes and landmark offsets.

A small network sized for a CPU (about 0.3 M parameters), built from the ideas in DESIGN.md:

- **Vocal tract length normalisation** (Lee & Rose 1996), when the model was trained with it
  (``LearnedConfig.vtln_reference_hz``): each utterance's log-mel is stretched along frequency
  and its formants scaled so that its formant scale matches the training speech's
  (:mod:`talkinghead.audio.vtln`), before any other input normalisation.
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

The network is defined once, in PyTorch (:mod:`talkinghead.train.model`, extra ``train``),
trained there and exported to ONNX; at run time :class:`LearnedMotion` runs that graph with
onnxruntime, without torch. The shipped model ``assets/learned_motion.onnx`` is three such
networks trained with different seeds, averaged inside one graph
(:func:`talkinghead.train.model.build_ensemble`), with the model configuration (JSON) and each
member's training record (``members``) in the graph's metadata. Cost: about 2 ms per second of
audio (real-time factor about 0.002).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from talkinghead.audio.vtln import warp_factor, warp_mel
from talkinghead.types import N_MELS, AudioFeatures, MotionSequence, PhoneSegments

#: ARPAbet phones (no stress) + silence + unknown (no alignment). Index = token id.
PHONE_SET: tuple[str, ...] = (
    "UNK", "SIL", "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G",
    "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH",
    "UW", "V", "W", "Y", "Z", "ZH",
)
_PHONE_ID = {p: i for i, p in enumerate(PHONE_SET)}
#: Seconds the motion is read ahead of the audio at run time. The model learns MediaPipe
#: VIDEO-mode landmarks, which trail the face (about 0.4 frame at 25 fps against per-image
#: detection) and the tracked render trails its commanded mouth by about 0.7 frame, so at 0 the
#: rendered mouth followed real faces a frame late (median A/V offset +1). Chosen by
#: self-reenactment against real faces (``python benchmarks/read_ahead.py``): no transcript, mouth
#: r on GRID s1 validation 0.878 -> 0.891, unseen GRID speakers 0.643 -> 0.680 (0.664 at 0.02 s,
#: 0.665 at 0.05 s), interview clips 0.280 -> 0.312. Training uses 0 (the targets' own timing).
READ_AHEAD_S = 0.04
#: Longest stretch (s) the network runs on at once: longer speech is predicted in windows that
#: overlap by ``2 x WINDOW_OVERLAP_S`` and are cross-faded there, so the network's memory does
#: not grow with the length (one run over 600 s raised the peak by 340 MiB). The feature
#: normalisation stays per utterance; the network's own GroupNorm statistics become per window.
WINDOW_S = 60.0
#: Context (s) each window carries past its ends; the neighbours are cross-faded over twice this.
WINDOW_OVERLAP_S = 2.0
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
#: Format tag of the exported ONNX graph (its metadata ``format``), read at inference.
ONNX_FORMAT = "talkinghead-learned-motion-onnx/1"


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
        vtln_reference_hz: the training speech's formant scale (Hz, :func:`talkinghead.audio.vtln.formant_scale`):
            every utterance's features are warped onto it before the network (vocal tract length
            normalisation); 0 = no normalisation (models trained before it).
        vtln_strength: how far toward the reference (:func:`talkinghead.audio.vtln.warp_factor`).
        ppg: the content encoder also reads a phone posteriorgram from a many-speaker acoustic model
            (:func:`talkinghead.audio.ppg.ppg_features`, 42 channels after the 80 log-mel bands).
        log_mel: the content encoder reads the log-mel (``False``: only the posteriorgram; needs ``ppg``).
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
    vtln_reference_hz: float = 0.0
    vtln_strength: float = 1.0
    ppg: bool = False
    log_mel: bool = True

    @property
    def n_content(self) -> int:
        """Channels of the ``content`` input: 80 log-mel bands (+ 42 posteriorgram channels with ``ppg``)."""
        from talkinghead.audio.ppg import N_PPG

        return (N_MELS if self.log_mel else 0) + (N_PPG if self.ppg else 0)

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

def content_features(mel: np.ndarray, mean: np.ndarray | None = None, ppg: bool = False, log_mel: bool = True) -> np.ndarray:
    """The content encoder's input, float32 ``[T, C]``: the per-utterance normalised log-mel (each band
    minus its utterance mean, scaled; 80 channels, left out with ``log_mel=False``), then with ``ppg``
    the phone posteriorgram (:func:`talkinghead.audio.ppg.ppg_features`, 42 channels).

    ``mean``: float ``[1, 80]``, the utterance's band means when ``mel`` is only a stretch of it
    (default: ``mel``'s own; the posteriorgram's cepstral mean is always the stretch's own).

    Raises:
        ValueError: neither ``log_mel`` nor ``ppg``.
    """
    if not (log_mel or ppg):
        raise ValueError("the content input needs the log-mel, the posteriorgram or both")
    mel = np.asarray(mel, dtype=np.float32)
    m = mel.mean(0, keepdims=True) if mean is None else mean
    out = [((mel - m) / 4.0).astype(np.float32)] if log_mel else []
    if ppg:
        from talkinghead.audio.ppg import ppg_features

        out.append(ppg_features(mel))
    return np.concatenate(out, axis=1) if len(out) > 1 else out[0]


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


def frame_index(num_frames: int, fps: float, num_audio: int, rate: float = 100.0, lead_s: float = 0.0,
                first: int = 0, audio_start: int = 0) -> np.ndarray:
    """100 Hz frames pooled into each video frame ``f`` (time ``f / fps + lead_s``): int64 ``[F, 4]`` (offsets -2..+1),
    clipped to ``[0, num_audio)``.

    ``first``: the first video frame's number (frames ``first .. first + F - 1``); ``audio_start``:
    the 100 Hz frame the audio begins at (the indices are relative to it), for a stretch of a stream.
    """
    c = np.round(((first + np.arange(num_frames)) / fps + lead_s) * rate).astype(np.int64) - audio_start
    return np.clip(c[:, None] + np.arange(-2, 2)[None], 0, max(0, num_audio - 1))


# -- inference (onnxruntime) ------------------------------------------------------------------

#: 100 Hz frames of audio each window carries beyond the frames it pools (the first
#: convolution's reach at 100 Hz is 2 frames).
_AUDIO_CONTEXT = 10

def default_weights() -> str | None:
    """Path of the shipped model (``assets/learned_motion.onnx``), or None if not shipped."""
    from importlib import resources

    p = resources.files("talkinghead") / "assets" / "learned_motion.onnx"
    return str(p) if p.is_file() else None


def learned_available() -> bool:
    """Whether the learned path can run: the model is shipped and onnxruntime imports (no torch needed)."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None and default_weights() is not None


class LearnedMotion:
    """The learned motion network at inference: its ONNX export run by onnxruntime (no torch).

    The network is defined once, in PyTorch (:mod:`talkinghead.train.model`), and exported
    with its config in the graph's metadata (``format`` = :data:`ONNX_FORMAT`). Use
    :meth:`from_file`, then :meth:`predict` (arrays) or :func:`learned_motion` (a
    MotionSequence). Deterministic on a CPU; cost: about 1 ms per second of audio per network
    (the shipped graph averages three: about 2 ms). The network's working memory is bounded by
    :data:`WINDOW_S` (longer speech runs in windows); the ``[F, 478, 3]`` output still grows with
    the utterance (0.5 GB for an hour).

    Args:
        session: an ``onnxruntime.InferenceSession`` of the exported graph.
        config: model dimensions (from the graph's metadata).
        meta: the graph's metadata (strings: format, config, and the training record: a single
            model's settings and scores, or ``members``, one record per averaged network).
    """

    def __init__(self, session: Any, config: LearnedConfig, meta: dict[str, str]) -> None:
        self.session = session
        self.config = config
        self.meta = meta

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "model") -> LearnedMotion:
        """Load an exported graph from memory (``source`` names it in errors).

        Raises:
            InputError: not an ONNX graph, or not a talkinghead learned-motion export.
        """
        import onnxruntime as ort

        from talkinghead.types import InputError, one_line

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # small graph: threads cost more than they save, and rendering runs beside it
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            session = ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own error types for malformed graphs
            raise InputError(f"{source}: not an ONNX model ({one_line(e)[:200]})") from e
        meta = dict(session.get_modelmeta().custom_metadata_map)
        if meta.get("format") != ONNX_FORMAT or "config" not in meta:
            raise InputError(f"{source}: not a talkinghead learned-motion model (format {meta.get('format')!r})")
        try:
            config = LearnedConfig.from_json(meta["config"])
        except (ValueError, TypeError) as e:
            raise InputError(f"{source}: unreadable model configuration ({one_line(e)[:200]})") from e
        return cls(session, config, meta)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str] | None = None) -> LearnedMotion:
        """Load a model exported by ``talkinghead train motion`` (``.onnx``); None = the shipped one.

        Loaded models are cached per path (a pipeline per portrait does not reload them).

        Raises:
            InputError: no model at ``path`` (or none shipped), or not a learned-motion export.
        """
        from talkinghead.types import InputError

        path = path if path is not None else default_weights()
        if path is None:
            raise InputError("no learned motion model shipped (assets/learned_motion.onnx); use --motion rules")
        return _cached(os.path.abspath(os.fspath(path)))

    def predict(self, features: AudioFeatures, phones: PhoneSegments, active: np.ndarray, fps: float,
                num_frames: int, read_ahead_s: float = READ_AHEAD_S,
                window_s: float = WINDOW_S) -> tuple[np.ndarray, np.ndarray]:
        """Blendshapes and landmark offsets for one utterance.

        Args:
            features: 100 Hz audio features (T > 0 frames).
            phones: phone segments (may be empty: the content encoder then sees ``UNK``).
            active: bool ``[T]`` voice activity at 100 Hz.
            fps: video frame rate (Hz, > 0).
            num_frames: F >= 0, number of video frames.
            read_ahead_s: frame ``f`` shows the motion the model predicts for time ``f / fps + read_ahead_s``
                (:data:`READ_AHEAD_S`; 0 = the training targets' timing).
            window_s: longer speech is predicted in cross-faded windows of this length (:data:`WINDOW_S`).
        Returns:
            ``(blendshapes float32 [F, 52] in [0, 1] (ARKit names, :data:`BLENDSHAPE_NAMES`),
            offsets float32 [F, 478, 3] from the identity's neutral mesh, IOD units, face-normalised frame)``.
        Raises:
            ValueError: no audio frames, or ``fps`` not positive.
        """
        pieces = list(self.predict_pieces(features, phones, active, fps, num_frames, read_ahead_s, window_s))
        if len(pieces) == 1:
            return pieces[0][1], pieces[0][2]
        return np.concatenate([p[1] for p in pieces]), np.concatenate([p[2] for p in pieces])

    def predict_pieces(self, features: AudioFeatures, phones: PhoneSegments, active: np.ndarray, fps: float,
                       num_frames: int, read_ahead_s: float = READ_AHEAD_S,
                       window_s: float = WINDOW_S) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """:meth:`predict` in consecutive pieces, made one window at a time (memory bounded by ``window_s``).

        Speech longer than ``window_s`` is run in windows that carry :data:`WINDOW_OVERLAP_S` of
        context past each end and are cross-faded over twice that; a piece is yielded once its
        frames are final. Arguments and errors as :meth:`predict`.

        Yields:
            ``(first frame, blendshapes float32 [n, 52], offsets float32 [n, 478, 3])``, covering
            frames ``0 .. F - 1`` in order (one piece when F fits in one window).
        """
        t = features.num_frames
        if t <= 0:
            raise ValueError("learned motion needs audio features (got 0 frames)")
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps!r}")
        if num_frames <= 0:
            yield 0, np.zeros((0, self.config.n_blendshapes), np.float32), np.zeros((0, 478, 3), np.float32)
            return
        factor = self.vtln_factor(features, active)
        mel_mean = warp_mel(np.asarray(features.mel, np.float32).mean(0, keepdims=True), factor)  # the utterance's
        formants = np.asarray(features.formants, np.float32) * np.float32(factor)
        tokens = phone_tokens(phones, t, features.frame_rate)
        dynamics = dynamics_features(features.energy, features.f0, formants, active)
        index = frame_index(num_frames, fps, t, features.frame_rate, read_ahead_s)

        def run(f0: int, f1: int, whole: bool = False) -> tuple[np.ndarray, np.ndarray]:
            """Frames ``[f0, f1)`` from their stretch of the audio (``whole``: all of it, the utterance)."""
            idx = index[f0:f1]
            a0, a1 = (0, t) if whole else (max(0, int(idx.min()) - _AUDIO_CONTEXT),
                                           min(t, int(idx.max()) + _AUDIO_CONTEXT + 1))
            content = self.content(warp_mel(features.mel[a0:a1], factor), mel_mean)  # per window: no whole copy
            return self.run(content, tokens[a0:a1], dynamics[a0:a1], idx - a0)

        margin = max(1, int(round(WINDOW_OVERLAP_S * fps)))
        size = max(2 * margin, int(round(window_s * fps)))  # a window outlasts its two cross-fades
        if num_frames <= size + margin:
            yield 0, *run(0, num_frames, whole=True)
            return
        carry: tuple[int, np.ndarray, np.ndarray] | None = None  # the previous window's frames from s0 - margin on
        for s0 in range(0, num_frames, size):
            lo, hi = max(0, s0 - margin), min(num_frames, s0 + size + margin)
            b, o = run(lo, hi)
            if carry is not None:  # cross-fade with the previous window over [s0 - margin, s0 + margin)
                _, pb, po = carry
                n = min(len(pb), hi - lo)
                w = ((np.arange(n) + 0.5) / (2 * margin)).astype(np.float32)
                b[:n] = (1 - w)[:, None] * pb[:n] + w[:, None] * b[:n]
                o[:n] = (1 - w)[:, None, None] * po[:n] + w[:, None, None] * o[:n]
            if hi >= num_frames:
                yield lo, b, o
                return
            keep = hi - lo - 2 * margin  # the last 2 x margin frames wait for the next window
            yield lo, b[:keep], o[:keep]
            carry = (lo + keep, b[keep:], o[keep:])

    def content(self, mel: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
        """The ``content`` input this model reads from ``mel`` (float32 ``[T, config.n_content]``):
        :func:`content_features` with the configuration's ``ppg`` and ``log_mel``."""
        return content_features(mel, mean, self.config.ppg, self.config.log_mel)

    def vtln_factor(self, features: AudioFeatures, active: np.ndarray) -> float:
        """The frequency warp this model applies to an utterance's features before the network
        (:func:`talkinghead.audio.vtln.warp_factor` with its configuration; 1.0 for a model trained without VTLN)."""
        return warp_factor(features, active, self.config.vtln_reference_hz, self.config.vtln_strength)

    def run(self, content: np.ndarray, tokens: np.ndarray, dynamics: np.ndarray,
            index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One pass of the network over a stretch of audio: the graph's inputs as they are.

        Args:
            content: float32 ``[T, config.n_content]`` (:meth:`content`).
            tokens: int64 ``[T]`` phone ids (:func:`phone_tokens`; all ``UNK`` = 0 without phones).
            dynamics: float32 ``[T, 8]`` (:func:`dynamics_features`).
            index: int64 ``[F, 4]`` 100 Hz frames (of these T) pooled into each video frame (:func:`frame_index`).
        Returns:
            ``(blendshapes float32 [F, 52], offsets float32 [F, 478, 3])`` as :meth:`predict`.
        """
        feeds = {"content": content[None], "tokens": tokens[None], "dynamics": dynamics[None], "index": index[None]}
        blend, offsets = self.session.run(["blendshapes", "offsets"], feeds)
        return blend[0].astype(np.float32, copy=False), offsets[0].astype(np.float32, copy=False)


@lru_cache(maxsize=4)
def _cached(path: str) -> LearnedMotion:
    from talkinghead.types import InputError

    if not os.path.isfile(path):
        raise InputError(f"{path}: motion model not found")
    with open(path, "rb") as f:
        return LearnedMotion.from_bytes(f.read(), source=path)


def learned_motion(model: LearnedMotion, features: AudioFeatures, phones: PhoneSegments, active: np.ndarray,
                   duration_s: float, config: Any = None, bilabial_closure: bool = True,
                   read_ahead_s: float = READ_AHEAD_S) -> MotionSequence:
    """Motion for a whole utterance by the learned path; a drop-in for :func:`~talkinghead.motion.rules.rule_motion`.

    Face: the learned landmark offsets (with full closure forced on bilabial phones, see
    :func:`~talkinghead.motion.visemes.close_bilabials`, unless ``bilabial_closure`` is False), with the 52 predicted ARKit
    blendshapes as ``au``.
    Head pose and blinks: the rule path's (prosody head pose, blinks in pauses), same seed.

    Args:
        model: the loaded model.
        features, phones, active, duration_s: as for ``rule_motion``.
        config: a :class:`~talkinghead.motion.rules.MotionConfig` (default settings if None).
        bilabial_closure: force lip closure on aligned p/b/m.
        read_ahead_s: how far ahead of the audio the face motion is read (:data:`READ_AHEAD_S`).
    Returns:
        MotionSequence with ``F = round(duration_s * fps)`` frames, ``source="learned"``.
    """
    pieces = list(learned_motion_pieces(model, features, phones, active, duration_s, config, bilabial_closure,
                                        read_ahead_s))
    return pieces[0] if len(pieces) == 1 else MotionSequence.concatenate(pieces)


def learned_motion_pieces(model: LearnedMotion, features: AudioFeatures, phones: PhoneSegments, active: np.ndarray,
                          duration_s: float, config: Any = None, bilabial_closure: bool = True,
                          read_ahead_s: float = READ_AHEAD_S, window_s: float = WINDOW_S) -> Iterator[MotionSequence]:
    """:func:`learned_motion` in consecutive pieces of at most about :data:`WINDOW_S` (memory bounded by it).

    The network runs window by window (:meth:`LearnedMotion.predict_pieces`) as the pieces are
    asked for; head pose and blinks (a few floats a frame) are made for the whole utterance
    first. Arguments as :func:`learned_motion`; ``window_s`` as :meth:`LearnedMotion.predict`.

    Yields:
        MotionSequences of consecutive frames (their concatenation is :func:`learned_motion`'s result).
    """
    from talkinghead.motion.blinks import blink_curve, blink_times
    from talkinghead.motion.head_pose import prosody_head_pose
    from talkinghead.motion.rules import MotionConfig, num_video_frames
    from talkinghead.motion.visemes import bilabial_weights, close_bilabials

    cfg = config if config is not None else MotionConfig()
    n = num_video_frames(duration_s, cfg.fps)
    pose = prosody_head_pose(features, active, cfg.fps, n, scale=cfg.pose_scale, seed=cfg.seed)
    t100 = np.arange(len(active)) / features.frame_rate
    onsets = t100[1:][active[:-1] & ~active[1:]]
    blinks = blink_curve(blink_times(duration_s, cfg.blink_rate, onsets, seed=cfg.seed), cfg.fps, n)
    closing = bilabial_weights(phones, cfg.fps, n) if bilabial_closure else None  # for all frames: pieces share the edges
    for first, blend, offsets in model.predict_pieces(features, phones, active, cfg.fps, n, read_ahead_s, window_s):
        k = slice(first, first + len(offsets))
        if closing is not None:  # the prediction is ours to change
            offsets = close_bilabials(offsets, closing[k], in_place=True)
        yield MotionSequence(fps=cfg.fps, au_names=BLENDSHAPE_NAMES, au=np.clip(blend, 0.0, 1.0), landmark_offsets=offsets,
                             head_pose=pose[k], blink=blinks[k], source="learned")
