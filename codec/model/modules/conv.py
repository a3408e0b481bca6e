"""Causal convolutions with explicit streaming state (docs/mimi.md, "Padding" and "Streaming";
moshi `modules/conv.py`).

The module trees mirror Kyutai's checkpoint names (`<layer>.conv.conv.weight`), so native
weight files load as they are: the middle level stands for the weight-norm wrapper of the
reference code, whose weights come already folded.

Streaming convention: a module's `forward(x, state)` takes a state object made by
`init_state()`. With `state=None` the call is a whole batch-mode pass. A batch pass and a
sequence of streaming calls over the same input give the same output.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .fixed import FixedShape

SMALL_STEPS = 16  # up to this many output steps, convs use the matmul path below


class _Norm(nn.Module):
    """The reference code's weight-norm level; here only a holder for the layer."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.conv = layer


class _NormTr(nn.Module):
    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.convtr = layer


class ConvState:
    """The last `pad` inputs of a causal conv: `prev` [B, C_in, pad], None before the first call.

    `hold` (for input that arrives in pieces of any length): a strided conv codes only the
    outputs whose inputs are all in and keeps the rest (`prev` is then [B, C_in, pad + r],
    r < stride) for the next call, instead of padding a partial last stride.
    """

    __slots__ = ("hold", "prev")

    def __init__(self, hold: bool = False) -> None:
        self.prev: torch.Tensor | None = None
        self.hold = hold

    def keep(self, tail: torch.Tensor) -> None:
        self.prev = tail.clone()  # not a view: frees the chunk


class FixedConvState(ConvState):
    """`prev` allocated once (zeros: the first call's padding) and overwritten in place.

    `first` [] bool, only for replicate padding: True until the first call, which pads
    with copies of its first sample instead of `prev` (a select, not a branch).
    """

    __slots__ = ("first",)

    def __init__(self, prev: torch.Tensor, replicate: bool) -> None:
        super().__init__()
        self.prev = prev
        self.first = torch.ones((), dtype=torch.bool, device=prev.device) if replicate else None

    def keep(self, tail: torch.Tensor) -> None:
        self.prev.copy_(tail)
        if self.first is not None:
            self.first.fill_(False)

    def reset_(self) -> None:
        self.prev.zero_()
        if self.first is not None:
            self.first.fill_(True)


class CausalConv1d(nn.Module):
    """Left-padded Conv1d. Input [B, C_in, L] -> output [B, C_out, ceil(L / stride)].

    Padding is zeros, or copies of the first sample with `pad_mode="replicate"`. When L is
    not a multiple of the stride, the input is also right-padded to the next multiple (zeros,
    or the last sample when replicating), as Kyutai's first release, `transformers` and the
    Rust code do. In streaming use every chunk is a multiple of the stride, except perhaps
    the final one, so the same rule serves both modes.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int,
        stride: int = 1,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        pad_mode: str = "constant",
    ) -> None:
        super().__init__()
        self.conv = _Norm(
            nn.Conv1d(
                in_ch, out_ch, kernel_size, stride, dilation=dilation, groups=groups, bias=bias
            )
        )
        self.stride = stride
        self.pad = (kernel_size - 1) * dilation + 1 - stride
        if self.pad < 0:
            raise ValueError("kernel shorter than stride is not supported")
        if pad_mode not in ("constant", "replicate"):
            raise ValueError(f"bad pad_mode {pad_mode!r}")
        self.replicate = pad_mode == "replicate"

    def init_state(self, fixed: FixedShape | None = None) -> ConvState:
        if fixed is None:
            return ConvState()
        c_in = self.conv.conv.in_channels
        prev = torch.zeros(fixed.batch, c_in, self.pad, device=fixed.device, dtype=fixed.dtype)
        return FixedConvState(prev, self.replicate)

    def forward(self, x: torch.Tensor, state: ConvState | None = None) -> torch.Tensor:
        layer: nn.Conv1d = self.conv.conv
        if state is not None and state.hold:
            if x.shape[-1] == 0:  # a piece too short to reach this layer
                return x.new_zeros(x.shape[0], layer.out_channels, 0)
            if self.stride > 1:  # stride 1 has nothing to hold: the usual path
                return self._held_forward(x, state, layer)
        if self.pad:
            x = torch.cat([self._history(x, state), x], dim=-1)
            if state is not None:
                state.keep(x[..., -self.pad :])
        extra = -(x.shape[-1] - self.pad) % self.stride
        if extra:
            if self.replicate:
                x = torch.cat([x, x[..., -1:].expand(-1, -1, extra)], dim=-1)
            else:
                x = F.pad(x, (0, extra))
        return self._conv(x, layer)

    def _held_forward(self, x: torch.Tensor, state: ConvState, layer: nn.Conv1d) -> torch.Tensor:
        """x [B, C_in, L], L > 0 -> the floor((held + L) / stride) outputs now complete
        (possibly none); the inputs of the next ones are kept."""
        x = torch.cat([self._history(x, state), x], dim=-1)
        n = (x.shape[-1] - self.pad) // self.stride
        state.keep(x[..., n * self.stride :])
        if n <= 0:
            return x.new_zeros(x.shape[0], layer.out_channels, 0)
        return self._conv(x[..., : n * self.stride + self.pad], layer)

    def _history(self, x: torch.Tensor, state: ConvState | None) -> torch.Tensor:
        """The `pad` samples before x [B, C_in, L]: the state's, or the first call's padding."""
        prev = None if state is None else state.prev
        if prev is None:
            if self.replicate:
                return x[..., :1].expand(-1, -1, self.pad)
            return x.new_zeros(x.shape[0], x.shape[1], self.pad)
        if self.replicate and isinstance(state, FixedConvState):
            return torch.where(state.first, x[..., :1].expand(-1, -1, self.pad), prev)
        return prev

    def _conv(self, x: torch.Tensor, layer: nn.Conv1d) -> torch.Tensor:
        """The unpadded conv. With few output steps (streaming) or a 1x1 kernel, a matmul.

        Streaming calls on deep layers have 2-16 output steps and large weights, where
        torch's conv takes a slow path; as a matmul on im2col columns the weight is read
        once, at memory speed. A 1x1 conv is a plain matmul at any length, which skips the
        conv's dispatch and layout work (2-3x faster on the full-rate layers).
        """
        if layer.groups != 1 or torch.is_grad_enabled():
            return layer(x)
        b, c_in, length = x.shape
        k, d = layer.kernel_size[0], layer.dilation[0]
        if k == 1 and self.stride == 1:
            w = layer.weight.view(layer.out_channels, c_in)
            if b == 1:  # [C_out, C_in] @ [C_in, L]: contiguous output, no transposes
                bias = None if layer.bias is None else layer.bias[:, None]
                y = w @ x[0] if bias is None else torch.addmm(bias, w, x[0])
                return y[None]
            y = torch.matmul(w, x)
            return y if layer.bias is None else y + layer.bias[:, None]
        l_out = (length - (k - 1) * d - 1) // self.stride + 1
        if l_out > SMALL_STEPS:
            return layer(x)
        if d == 1:
            cols = x.unfold(-1, k, self.stride)  # [B, C_in, L_out, k], a view
        else:
            span = (l_out - 1) * self.stride + 1
            cols = torch.stack(
                [x[..., j * d : j * d + span : self.stride] for j in range(k)], dim=-1
            )
        cols = cols.permute(0, 2, 1, 3).reshape(b * l_out, c_in * k)
        y = F.linear(cols, layer.weight.view(layer.out_channels, c_in * k), layer.bias)
        return y.view(b, l_out, -1).transpose(1, 2)


class ConvTrState:
    """Overlap-add tail of a conv-transpose: `partial` [B, C_out, K - S] (bias removed)."""

    __slots__ = ("partial",)

    def __init__(self) -> None:
        self.partial: torch.Tensor | None = None

    def keep(self, tail: torch.Tensor) -> None:
        self.partial = tail


class FixedConvTrState(ConvTrState):
    """`partial` allocated once (zeros: nothing to add on the first call), updated in place."""

    __slots__ = ()

    def __init__(self, partial: torch.Tensor) -> None:
        super().__init__()
        self.partial = partial

    def keep(self, tail: torch.Tensor) -> None:
        self.partial.copy_(tail)

    def reset_(self) -> None:
        self.partial.zero_()


class CausalConvTranspose1d(nn.Module):
    """ConvTranspose1d with kernel K, stride S that keeps the first L·S outputs.

    Input [B, C_in, L] -> output [B, C_out, L·S]. In streaming the K - S samples past the
    end are kept (minus the bias) and added to the start of the next chunk's output.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int,
        stride: int,
        groups: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.convtr = _NormTr(
            nn.ConvTranspose1d(in_ch, out_ch, kernel_size, stride, groups=groups, bias=bias)
        )
        self.stride = stride
        self.tail = kernel_size - stride
        if self.tail < 0:
            raise ValueError("kernel shorter than stride is not supported")

    def init_state(self, fixed: FixedShape | None = None) -> ConvTrState:
        if fixed is None:
            return ConvTrState()
        layer = self.convtr.convtr
        shape = (fixed.batch, layer.out_channels, self.tail)
        return FixedConvTrState(torch.zeros(shape, device=fixed.device, dtype=fixed.dtype))

    def forward(self, x: torch.Tensor, state: ConvTrState | None = None) -> torch.Tensor:
        layer: nn.ConvTranspose1d = self.convtr.convtr
        n = x.shape[-1] * self.stride
        y = self._overlap_add(x, layer) if self.tail == self.stride else layer(x)
        if state is None or not self.tail:
            return y[..., :n]
        if state.partial is not None:
            y[..., : self.tail] += state.partial
        tail = y[..., n:]
        state.keep(tail - layer.bias[:, None] if layer.bias is not None else tail.clone())
        return y[..., :n]

    def _overlap_add(self, x: torch.Tensor, layer: nn.ConvTranspose1d) -> torch.Tensor:
        """conv_transpose1d for kernel = 2 x stride as one matmul plus one shifted add.

        torch's CPU conv-transpose takes a slow generic path; here each input step t
        yields 2S outputs: the first S land on [tS, tS+S), the second S on [tS+S, tS+2S).
        Returns [B, C_out, (L + 1) S] like F.conv_transpose1d.
        """
        b, c_in, length = x.shape
        s, w = self.stride, layer.weight  # w [C_in, C_out / groups, 2S]
        if layer.groups == 1:
            c_out = w.shape[1]
            wm = w.reshape(c_in, c_out * 2 * s)
            frames = (x.transpose(1, 2) @ wm).view(b, length, c_out, 2, s)
            frames = frames.permute(0, 2, 1, 3, 4)
        elif layer.groups == c_in and w.shape[1] == 1:
            c_out = c_in
            frames = x[..., None] * w.view(1, c_in, 1, 2 * s)
            frames = frames.view(b, c_out, length, 2, s)
        else:
            return layer(x)
        # frames [B, C_out, L, 2, S]
        y = x.new_zeros(b, c_out, length + 1, s)
        y[:, :, :length] = frames[:, :, :, 0]
        y[:, :, 1:] += frames[:, :, :, 1]
        y = y.view(b, c_out, (length + 1) * s)
        if layer.bias is not None:
            y = y + layer.bias[:, None]
        return y
