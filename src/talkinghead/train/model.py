"""The PyTorch definition of the learned motion model, for training (extra ``train``: torch).

Inference does not need this module: :func:`export_onnx` writes the trained network as ONNX
(config and training metadata inside), which :mod:`talkinghead.motion.learned` runs with
onnxruntime. Training checkpoints are ``.safetensors`` (:func:`save_checkpoint`), with the
config JSON in their metadata; the state-dict names below are that format.

torch is imported inside the functions (importing this module is cheap).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from talkinghead.motion.learned import (
    N_DYNAMICS,
    ONNX_FORMAT,
    PHONE_SET,
    LearnedConfig,
    LearnedMotion,
)

#: Checkpoint format tag (safetensors metadata ``format``) of training checkpoints.
CHECKPOINT_FORMAT = "talkinghead-learned-motion/1"

# -- the network (torch) ------------------------------------------------------------------------

def build_model(config: LearnedConfig) -> Any:
    """The torch module for ``config`` (imports torch)."""
    import torch
    from torch import nn

    class ConvStack(nn.Module):
        """Residual 1-D convolutions over time, ``[B, C, T] -> [B, C, T]``."""

        def __init__(self, dim: int, layers: int, dilations: tuple[int, ...] | None = None) -> None:
            super().__init__()
            dil = dilations or (1,) * layers
            self.convs = nn.ModuleList([nn.Conv1d(dim, dim, 5, padding=2 * d, dilation=d) for d in dil])
            self.norms = nn.ModuleList([nn.GroupNorm(1, dim) for _ in dil])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for conv, norm in zip(self.convs, self.norms):
                x = x + torch.nn.functional.gelu(conv(norm(x)))
            return x

    class LocalCrossAttention(nn.Module):
        """Content queries attend to dynamics keys/values within +-window frames (DAMC fusion)."""

        def __init__(self, dim: int, heads: int, window: int) -> None:
            super().__init__()
            self.h, self.w = heads, window
            self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))
            self.nq, self.nk = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.ff = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

        def forward(self, content: torch.Tensor, dynamics: torch.Tensor) -> torch.Tensor:  # [B, F, D]
            b, f, d = content.shape
            h, w = self.h, self.w
            q = self.q(self.nq(content)).view(b, f, h, d // h)
            kv = self.nk(dynamics)

            def window(z: torch.Tensor) -> torch.Tensor:
                # [B, F, D] -> [B, F, D, 2w + 1]: frame f's keys at f - w .. f + w (zero padded). Shifted
                # slices rather than ``unfold``, which ONNX export cannot take with a dynamic length.
                zp = torch.nn.functional.pad(z, (0, 0, w, w))
                return torch.stack([zp[:, j:j + f] for j in range(2 * w + 1)], dim=-1)

            k, v = window(self.k(kv)), window(self.v(kv))
            k = k.reshape(b, f, h, d // h, 2 * w + 1)
            v = v.reshape(b, f, h, d // h, 2 * w + 1)
            # Mask window slots beyond the sequence ends.
            pos = torch.arange(f).unsqueeze(1) + torch.arange(-w, w + 1).unsqueeze(0)
            valid = ((pos >= 0) & (pos < f)).view(1, f, 1, 2 * w + 1)
            att = torch.einsum("bfhc,bfhcw->bfhw", q, k) / (d // h) ** 0.5
            att = att.masked_fill(~valid, float("-inf")).softmax(-1)
            out = torch.einsum("bfhw,bfhcw->bfhc", att, v).reshape(b, f, d)
            x = content + self.o(out)
            return x + self.ff(x)

    class LearnedMotionNet(nn.Module):
        """Audio (100 Hz) -> blendshapes ``[B, F, 52]`` and landmark offsets ``[B, F, 478, 3]``."""

        def __init__(self, cfg: LearnedConfig) -> None:
            super().__init__()
            c = cfg
            self.cfg = c
            n_lip = len(c.lip_index)
            self.phone_emb = nn.Embedding(len(PHONE_SET), c.phone_dim)
            self.content_in = nn.Conv1d(c.n_content + c.phone_dim, c.dim, 1)
            # One layer at 100 Hz keeps sub-frame timing in the channels; the rest run at the frame rate.
            self.content = ConvStack(c.dim, 1)
            self.content_frames = ConvStack(c.dim, c.enc_layers - 1, tuple(2 ** i for i in range(c.enc_layers - 1)))
            self.dynamics_in = nn.Conv1d(N_DYNAMICS, c.dim, 1)
            self.dynamics = ConvStack(c.dim, 1)
            self.dynamics_frames = ConvStack(c.dim, c.enc_layers - 1, tuple(2 ** i for i in range(c.enc_layers - 1)))
            self.fuse = LocalCrossAttention(c.dim, c.heads, c.attn_window)
            self.decoder = ConvStack(c.dim, c.dec_layers, tuple(2 ** i for i in range(c.dec_layers)))
            self.explicit = nn.Linear(c.dim, c.n_blendshapes)      # blendshapes (HM-Talker explicit AU prior)
            self.implicit = nn.Linear(c.dim, c.latent_dim)         # implicit motion latent
            self.fusion = nn.Sequential(nn.Linear(c.n_blendshapes + c.latent_dim, 2 * c.dim), nn.GELU(),
                                        nn.Linear(2 * c.dim, 2 * c.dim), nn.GELU())
            self.lip_head = nn.Linear(2 * c.dim, c.n_lip_basis)
            self.face_head = nn.Linear(2 * c.dim, c.n_face_basis)
            lip = torch.tensor(c.lip_index, dtype=torch.long)
            rest = torch.tensor([i for i in range(478) if i not in set(c.lip_index)], dtype=torch.long)
            self.register_buffer("lip_index", lip)
            self.register_buffer("face_index", rest)
            self.register_buffer("lip_basis", torch.zeros(c.n_lip_basis, n_lip * 3))
            self.register_buffer("lip_mean", torch.zeros(n_lip * 3))
            self.register_buffer("face_basis", torch.zeros(c.n_face_basis, (478 - n_lip) * 3))
            self.register_buffer("face_mean", torch.zeros((478 - n_lip) * 3))

        def encode(self, content: torch.Tensor, phones: torch.Tensor, dynamics: torch.Tensor,
                   index: torch.Tensor, content_out: list | None = None) -> torch.Tensor:
            """content ``[B, T, 80]``, phones ``[B, T]``, dynamics ``[B, T, 8]``, index ``[B, F, 4]`` -> ``[B, F, D]``.

            ``content_out``: where given (training), the content encoder's frame-rate features ``[B, F, D]``
            (before the fusion) are appended to it, for the auxiliary phone loss (``TrainConfig.w_phone``)."""
            x = torch.cat([content, self.phone_emb(phones)], dim=-1).transpose(1, 2)
            xc = self.content(self.content_in(x))
            xd = self.dynamics(self.dynamics_in(dynamics.transpose(1, 2)))
            b, f, k = index.shape
            idx = index.reshape(b, 1, f * k)

            def pool(z: torch.Tensor) -> torch.Tensor:
                g = torch.gather(z, 2, idx.expand(-1, z.shape[1], -1))
                return g.view(b, z.shape[1], f, k).mean(-1).transpose(1, 2)  # [B, F, D]

            xc = self.content_frames(pool(xc).transpose(1, 2)).transpose(1, 2)
            xd = self.dynamics_frames(pool(xd).transpose(1, 2)).transpose(1, 2)
            if content_out is not None:
                content_out.append(xc)
            fused = self.fuse(xc, xd)
            return self.decoder(fused.transpose(1, 2)).transpose(1, 2)

        def heads(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """Explicit blendshapes (sigmoid) and implicit latent from decoder features."""
            return torch.sigmoid(self.explicit(h)), self.implicit(h)

        def coefficients(self, blend: torch.Tensor, latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """Fuse explicit + implicit motion -> lip ``[B, F, n_lip_basis]`` and non-lip ``[B, F, n_face_basis]`` coefficients."""
            z = self.fusion(torch.cat([blend, latent], dim=-1))
            return self.lip_head(z), self.face_head(z)

        def landmarks(self, blend: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
            """Fuse explicit + implicit motion -> offsets ``[B, F, 478, 3]`` (lip and non-lip branches)."""
            cl, cf = self.coefficients(blend, latent)
            lip = (cl @ self.lip_basis + self.lip_mean).unflatten(-1, (-1, 3))
            face = (cf @ self.face_basis + self.face_mean).unflatten(-1, (-1, 3))
            # Lip and non-lip points back in mesh order (written without shapes read at run time,
            # so the ONNX export keeps the frame count dynamic).
            order = torch.argsort(torch.cat([self.lip_index, self.face_index]))
            return torch.cat([lip, face], dim=2).index_select(2, order)

        def forward(self, content: torch.Tensor, phones: torch.Tensor, dynamics: torch.Tensor,
                    index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            blend, latent = self.heads(self.encode(content, phones, dynamics, index))
            return blend, self.landmarks(blend, latent)

    return LearnedMotionNet(config)


def build_ensemble(models: list[Any], names: list[str] | None = None) -> Any:
    """One torch module whose outputs are the means of ``models``' outputs (same inputs and outputs as one model).

    Models trained on the same data with different seeds err differently, mostly on what one
    speaker's 46 minutes cannot pin down (other voices); their average is steadier on speakers
    none was trained on (a deep ensemble, Lakshminarayanan et al., NeurIPS 2017). Inference cost
    grows with the number of members. ``cfg`` (for the export's metadata) is the first member's.
    ``names`` (one per model, e.g. checkpoint paths) name the members in the error.

    Raises:
        ValueError: no models, or a member whose configuration differs from the first's.
    """
    import torch
    from torch import nn

    if not models:
        raise ValueError("an ensemble needs at least one model")
    names = names or [f"member {i}" for i in range(len(models))]
    for name, m in zip(names[1:], models[1:]):
        if m.cfg != models[0].cfg:
            raise ValueError(f"{name}: its model configuration differs from {names[0]}'s; "
                             "an ensemble's members must share one")

    class Ensemble(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.members = nn.ModuleList(models)
            self.cfg = models[0].cfg

        def forward(self, content: torch.Tensor, phones: torch.Tensor, dynamics: torch.Tensor,
                    index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            outs = [m(content, phones, dynamics, index) for m in self.members]
            return (torch.stack([o[0] for o in outs]).mean(0), torch.stack([o[1] for o in outs]).mean(0))

    return Ensemble().eval()


# -- checkpoints ---------------------------------------------------------------------------------

def save_checkpoint(model: Any, path: str | os.PathLike[str], extra: dict[str, str] | None = None) -> None:
    """Write the model's weights as ``.safetensors`` with its config JSON in the metadata, atomically."""
    from pathlib import Path

    from safetensors.torch import save_file

    from talkinghead.media.files import atomic_path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    meta = {**(extra or {}), "format": CHECKPOINT_FORMAT, "config": model.cfg.to_json()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=meta)


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[LearnedConfig, dict[str, np.ndarray], dict[str, str]]:
    """Read a training checkpoint (``.safetensors``) as numpy: ``(config, state dict, metadata)``.

    Raises:
        InputError: missing file, not a safetensors file, or not a learned-motion checkpoint.
    """
    from safetensors import safe_open
    from safetensors.numpy import load_file

    from talkinghead.types import InputError

    if not os.path.isfile(path):
        raise InputError(f"{path}: motion model checkpoint not found")
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


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[Any, dict[str, str]]:
    """Read a checkpoint written by :func:`save_checkpoint` as a torch model: ``(model in eval mode, metadata)``.

    Raises:
        InputError: missing file, or not a learned-motion checkpoint.
    """
    import torch

    config, weights, meta = read_checkpoint(path)
    model = build_model(config)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    model.eval()
    return model, meta


#: Input and output names of the exported graph (what :class:`~talkinghead.motion.learned.LearnedMotion` feeds).
ONNX_INPUTS = ("content", "tokens", "dynamics", "index")
ONNX_OUTPUTS = ("blendshapes", "offsets")


def export_onnx(model: Any, path: str | os.PathLike[str], meta: dict[str, str] | None = None) -> None:
    """Write the network as ONNX (opset 17, dynamic audio and video lengths), atomically.

    Inputs (batch 1): ``content`` float32 ``[1, T, 80]``, ``tokens`` int64 ``[1, T]``,
    ``dynamics`` float32 ``[1, T, 8]``, ``index`` int64 ``[1, F, 4]``; outputs ``blendshapes``
    float32 ``[1, F, 52]`` and ``offsets`` float32 ``[1, F, 478, 3]``. The model's config and
    ``meta`` go into the graph's metadata (``format`` = :data:`ONNX_FORMAT`; a checkpoint's own
    ``format`` and ``config`` in ``meta`` are replaced by these).
    """
    import warnings
    from pathlib import Path

    import onnx
    import torch

    from talkinghead.media.files import atomic_path

    model = model.cpu().eval()
    t, f = 400, 100
    index = torch.clamp(torch.arange(f)[None, :, None] * 4 + torch.arange(-2, 2)[None, None], 0, t - 1)
    args = (torch.zeros(1, t, model.cfg.n_content), torch.zeros(1, t, dtype=torch.long), torch.zeros(1, t, N_DYNAMICS), index)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".onnx") as tmp:
        with warnings.catch_warnings():  # the TorchScript exporter's deprecation and constant-folding notes
            warnings.simplefilter("ignore")
            torch.onnx.export(model, args, str(tmp), dynamo=False, opset_version=17, input_names=list(ONNX_INPUTS),
                              output_names=list(ONNX_OUTPUTS),
                              dynamic_axes={"content": {1: "T"}, "tokens": {1: "T"}, "dynamics": {1: "T"},
                                            "index": {1: "F"}, "blendshapes": {1: "F"}, "offsets": {1: "F"}})
        graph = onnx.load(str(tmp))
        for k, v in {**(meta or {}), "format": ONNX_FORMAT, "config": model.cfg.to_json()}.items():
            graph.metadata_props.add(key=k, value=str(v))
        onnx.save(graph, str(tmp))


def to_runtime(model: Any, meta: dict[str, str] | None = None) -> LearnedMotion:
    """The onnxruntime inference model of a torch model from :func:`build_model` (exported to a temporary file)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "model.onnx"
        export_onnx(model, path, meta)
        return LearnedMotion.from_bytes(path.read_bytes())
