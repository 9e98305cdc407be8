"""The PyTorch definition of the learned motion model, for training (extra ``train``: torch).

Inference does not need this module: :mod:`talkinghead.motion.learned` runs the same network in
numpy from the ``.safetensors`` written by :func:`save_checkpoint`; the state-dict names below are
the checkpoint format that forward pass reads, so change them only together with it.

torch is imported inside the functions (importing this module is cheap).
"""

from __future__ import annotations

import os
from typing import Any

from talkinghead.motion.learned import (
    CHECKPOINT_FORMAT,
    N_DYNAMICS,
    PHONE_SET,
    LearnedConfig,
    LearnedMotion,
    read_checkpoint,
)

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
            k = torch.nn.functional.pad(self.k(kv), (0, 0, w, w)).unfold(1, 2 * w + 1, 1)  # [B, F, D, W]
            v = torch.nn.functional.pad(self.v(kv), (0, 0, w, w)).unfold(1, 2 * w + 1, 1)
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
            self.content_in = nn.Conv1d(80 + c.phone_dim, c.dim, 1)
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
                   index: torch.Tensor) -> torch.Tensor:
            """content ``[B, T, 80]``, phones ``[B, T]``, dynamics ``[B, T, 8]``, index ``[B, F, 4]`` -> ``[B, F, D]``."""
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
            lip = cl @ self.lip_basis + self.lip_mean
            face = cf @ self.face_basis + self.face_mean
            b, f = cl.shape[:2]
            out = cl.new_zeros(b, f, 478, 3)
            out[:, :, self.lip_index] = lip.view(b, f, -1, 3)
            out[:, :, self.face_index] = face.view(b, f, -1, 3)
            return out

        def forward(self, content: torch.Tensor, phones: torch.Tensor, dynamics: torch.Tensor,
                    index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            blend, latent = self.heads(self.encode(content, phones, dynamics, index))
            return blend, self.landmarks(blend, latent)

    return LearnedMotionNet(config)


# -- checkpoints ---------------------------------------------------------------------------------

def save_checkpoint(model: Any, path: str | os.PathLike[str], extra: dict[str, str] | None = None) -> None:
    """Write the model's weights as ``.safetensors`` with its config JSON in the metadata, atomically."""
    import tempfile
    from pathlib import Path

    from safetensors.torch import save_file

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    meta = {"format": CHECKPOINT_FORMAT, "config": model.cfg.to_json(), **(extra or {})}
    fd, tmp = tempfile.mkstemp(suffix=".safetensors", dir=p.parent)
    os.close(fd)
    try:
        save_file(state, tmp, metadata=meta)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; weights are meant to be shared
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def to_numpy(model: Any, meta: dict[str, str] | None = None) -> LearnedMotion:
    """The numpy inference model with the weights of a torch model from :func:`build_model` (no file written)."""
    state = {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}
    return LearnedMotion(model.cfg, state, meta)
