"""The Mimi model as one nn.Module tree whose state-dict names are Kyutai's checkpoint names.

Data flow (docs/mimi.md), shapes for Mimi:
  encode: audio [B, 1, T] -> SEANet [B, 512, T/960] -> transformer -> downsample
          -> latent [B, 512, F] -> quantizer -> codes [B, K, F]
  decode: codes [B, K, F] -> latent [B, 512, F] -> upsample [B, 512, 2F] -> transformer
          -> SEANet decoder -> audio [B, 1, 1920 F]
Every stage takes an optional explicit state (see `EncoderState`, `DecoderState`); with
no state the call is a plain batch pass.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from .config import CodecConfig
from .modules.conv import CausalConv1d, CausalConvTranspose1d, ConvState, ConvTrState
from .modules.fixed import FixedShape
from .modules.quantizer import SplitResidualVQ
from .modules.seanet import SEANetDecoder, SEANetEncoder
from .modules.transformer import FixedTransformerState, Transformer, TransformerState


class Downsample(nn.Module):
    """Learnt 25 Hz -> 12.5 Hz conv (k = 2 stride, replicate padding, no bias)."""

    def __init__(self, cfg: CodecConfig) -> None:
        super().__init__()
        s = cfg.resample_stride
        self.conv = CausalConv1d(
            cfg.dimension, cfg.dimension, 2 * s, stride=s, bias=False, pad_mode="replicate"
        )

    def forward(self, x: torch.Tensor, state: ConvState | None = None) -> torch.Tensor:
        return self.conv(x, state)


class Upsample(nn.Module):
    """Learnt 12.5 Hz -> 25 Hz depthwise conv-transpose (k = 2 stride, no bias)."""

    def __init__(self, cfg: CodecConfig) -> None:
        super().__init__()
        s = cfg.resample_stride
        self.convtr = CausalConvTranspose1d(
            cfg.dimension, cfg.dimension, 2 * s, s, groups=cfg.dimension, bias=False
        )

    def forward(self, x: torch.Tensor, state: ConvTrState | None = None) -> torch.Tensor:
        return self.convtr(x, state)


@dataclasses.dataclass
class EncoderState:
    seanet: list[Any]
    transformer: TransformerState | FixedTransformerState
    downsample: ConvState


@dataclasses.dataclass
class DecoderState:
    upsample: ConvTrState
    transformer: TransformerState | FixedTransformerState
    seanet: list[Any]


class MimiModel(nn.Module):
    def __init__(self, cfg: CodecConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.encoder = SEANetEncoder(cfg)
        self.encoder_transformer = Transformer(cfg)
        self.downsample = Downsample(cfg)
        self.quantizer = SplitResidualVQ(cfg)
        self.upsample = Upsample(cfg)
        self.decoder_transformer = Transformer(cfg)
        self.decoder = SEANetDecoder(cfg)

    # ---- state ----------------------------------------------------------------------
    def init_encoder_state(self, fixed: FixedShape | None = None) -> EncoderState:
        """Streaming state of the encoder; `fixed` for in-place buffers (modules/fixed.py)."""
        return EncoderState(
            self.encoder.init_state(fixed),
            self.encoder_transformer.init_state(fixed),
            self.downsample.conv.init_state(fixed),
        )

    def init_decoder_state(self, fixed: FixedShape | None = None) -> DecoderState:
        return DecoderState(
            self.upsample.convtr.init_state(fixed),
            self.decoder_transformer.init_state(fixed),
            self.decoder.init_state(fixed),
        )

    # ---- encode ---------------------------------------------------------------------
    def encode_latent(self, x: torch.Tensor, state: EncoderState | None = None) -> torch.Tensor:
        """audio [B, 1, T] -> unquantized latent [B, D, ceil(T / frame_size)]."""
        s = state or EncoderState(None, None, None)  # type: ignore[arg-type]
        h = self.encoder(x, s.seanet)
        h = self.encoder_transformer(h, s.transformer)
        return self.downsample(h, s.downsample)

    def encode(
        self, x: torch.Tensor, n_q: int | None = None, state: EncoderState | None = None
    ) -> torch.Tensor:
        """audio [B, 1, T] -> codes [B, n_q, F] int64."""
        return self.quantizer.encode(self.encode_latent(x, state), n_q)

    # ---- decode ---------------------------------------------------------------------
    def decode_latent(self, z: torch.Tensor, state: DecoderState | None = None) -> torch.Tensor:
        """latent [B, D, F] -> audio [B, 1, F * frame_size]."""
        s = state or DecoderState(None, None, None)  # type: ignore[arg-type]
        h = self.upsample(z, s.upsample)
        h = self.decoder_transformer(h, s.transformer)
        return self.decoder(h, s.seanet)

    def decode(
        self, codes: torch.Tensor, state: DecoderState | None = None, part: str = "all"
    ) -> torch.Tensor:
        """codes [B, K, F], 1 <= K <= n_q -> audio [B, 1, F * frame_size].

        part: "all", or one group of the split quantizer alone ("semantic": codebook 0's
        part of the latent; "acoustic": codebooks 1..K-1's), through the same decoder.
        """
        return self.decode_latent(self.quantizer.decode(codes, part), state)

    def decode_memory(self, codes: torch.Tensor, state: DecoderState, part: str = "all") -> None:
        """codes [B, K, F] through the upsampling and the transformer only, into `state`.

        Gives a fresh decoder the attention's memory of frames before the ones to be heard
        (the window is `cfg.context` steps, 10 s for Mimi) for a fraction of a full decode's
        cost: the SEANet decoder, the costly part, is skipped, so its state stays as it was
        and the first frames decoded next need a short warm-up of its own (its convolutions
        reach back a few frames). Nothing is returned.
        """
        h = self.upsample(self.quantizer.decode(codes, part), state.upsample)
        self.decoder_transformer(h, state.transformer)

    # ---- housekeeping ------------------------------------------------------------------
    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):  # type: ignore[override]
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self.quantizer.refresh()
        return result

    def _apply(self, fn, *args, **kwargs):  # type: ignore[override]
        out = super()._apply(fn, *args, **kwargs)
        self.quantizer.refresh()  # cached codebook tables must follow .to(device/dtype)
        return out
