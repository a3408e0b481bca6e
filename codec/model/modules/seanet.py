"""SEANet encoder and decoder, batch and streaming (docs/mimi.md, "SEANet"; moshi
`modules/seanet.py`).

Module indices follow Kyutai's `encoder.model.N` / `decoder.model.N` layout, ELUs included,
so checkpoint names match.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ..config import CodecConfig
from .conv import CausalConv1d, CausalConvTranspose1d
from .fixed import FixedShape


class ELU(nn.Module):
    """ELU (alpha 1); a module so that it takes its index in the Sequential like the reference.

    `inplace=True` where nothing else reads the input: at inference this saves one full
    copy of a large activation per call. Training keeps the input (autograd needs it).
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: torch.Tensor, state: Any = None) -> torch.Tensor:
        return F.elu(x, inplace=self.inplace and not torch.is_grad_enabled())

    def init_state(self, fixed: FixedShape | None = None) -> None:
        return None


class ResBlock(nn.Module):
    """y = x + Conv1x1(ELU(Conv_k(ELU(x)))): [B, dim, L] -> [B, dim, L]."""

    def __init__(self, dim: int, kernel_size: int, dilation: int, compress: int) -> None:
        super().__init__()
        hidden = dim // compress
        self.block = nn.ModuleList(
            [
                ELU(),  # not in place: x is also the skip path
                CausalConv1d(dim, hidden, kernel_size, dilation=dilation),
                ELU(inplace=True),
                CausalConv1d(hidden, dim, 1),
            ]
        )

    def init_state(self, fixed: FixedShape | None = None) -> list:
        return [m.init_state(fixed) for m in self.block]

    def forward(self, x: torch.Tensor, state: list | None = None) -> torch.Tensor:
        y = x
        for i, m in enumerate(self.block):
            y = m(y, None if state is None else state[i])
        return x + y


class _Stack(nn.Module):
    """A list of stateful layers called in order; state is a list of their states."""

    model: nn.ModuleList

    def init_state(self, fixed: FixedShape | None = None) -> list:
        """Per-layer states; `fixed` for buffers updated in place (modules/fixed.py)."""
        return [m.init_state(fixed) for m in self.model]

    def forward(self, x: torch.Tensor, state: list | None = None) -> torch.Tensor:
        for i, m in enumerate(self.model):
            x = m(x, None if state is None else state[i])
        return x


class SEANetEncoder(_Stack):
    """Waveform [B, 1, T] -> latents [B, dimension, T / hop] (T a multiple of hop, or padded)."""

    def __init__(self, cfg: CodecConfig) -> None:
        super().__init__()
        mult = 1
        layers: list[nn.Module] = [CausalConv1d(cfg.channels, cfg.n_filters, cfg.kernel_size)]
        for ratio in reversed(cfg.ratios):
            width = mult * cfg.n_filters
            for j in range(cfg.n_residual_layers):
                layers.append(
                    ResBlock(width, cfg.residual_kernel_size, cfg.dilation_base**j, cfg.compress)
                )
            layers += [ELU(inplace=True), CausalConv1d(width, 2 * width, 2 * ratio, stride=ratio)]
            mult *= 2
        layers += [
            ELU(inplace=True),
            CausalConv1d(mult * cfg.n_filters, cfg.dimension, cfg.last_kernel_size),
        ]
        self.model = nn.ModuleList(layers)


class SEANetDecoder(_Stack):
    """Latents [B, dimension, L] -> waveform [B, 1, L * hop]."""

    def __init__(self, cfg: CodecConfig) -> None:
        super().__init__()
        mult = 2 ** len(cfg.ratios)
        layers: list[nn.Module] = [
            CausalConv1d(cfg.dimension, mult * cfg.n_filters, cfg.kernel_size)
        ]
        for ratio in cfg.ratios:
            width = mult * cfg.n_filters
            layers += [
                ELU(inplace=True),
                CausalConvTranspose1d(width, width // 2, 2 * ratio, ratio),
            ]
            for j in range(cfg.n_residual_layers):
                layers.append(
                    ResBlock(
                        width // 2, cfg.residual_kernel_size, cfg.dilation_base**j, cfg.compress
                    )
                )
            mult //= 2
        layers += [
            ELU(inplace=True),
            CausalConv1d(cfg.n_filters, cfg.channels, cfg.last_kernel_size),
        ]
        self.model = nn.ModuleList(layers)
