"""Causal windowed transformer with interleaved RoPE (docs/mimi.md,
"Transformers"; moshi `modules/transformer.py`).

Runs at the encoder rate (25 Hz for Mimi) on conv-layout tensors [B, D, T]. Query step t
attends to keys t - context + 1 ... t. Batch mode and streaming share one code path: the
streaming state keeps the keys and values of the last `context - 1` steps, so chunked
processing equals batch processing exactly (unlike a ring buffer that drops keys; docs/mimi.md).
Attention is computed in query blocks, so memory grows linearly with T, never as T x T.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..config import CodecConfig
from .fixed import FixedShape

QUERY_BLOCK = 256  # queries per attention block: bounds the score matrix to 256 x (256 + context)


def store_column_major_(module: nn.Module, name: str) -> None:
    """Keep weight `name` ([out, in]) in column-major storage, i.e. as a transposed view.

    For streaming, F.linear runs on 2 rows and is bound by reading the weight; when
    in < out, MKL reads a column-major weight 1.3-1.6x faster (measured on a 2-core EPYC).
    Shapes, names and values are unchanged, so checkpoints load as usual.
    """
    w = getattr(module, name)
    setattr(
        module, name, nn.Parameter(w.detach().t().contiguous().t(), requires_grad=w.requires_grad)
    )


class KVCache:
    """Keys and values of one layer's recent steps in one buffer [2, B, H, capacity, head_dim].

    A buffer of twice the window: new steps are written after the old ones, and only when
    the buffer is full are the last `keep` steps moved to its front. That makes appending
    O(new steps) on average, where concatenating would copy the whole window every call.
    Keys and values share the buffer so that one copy appends both.
    """

    __slots__ = ("buf", "keep", "n")

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.n = 0
        self.buf: torch.Tensor | None = None

    def extend(self, kv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append kv [2, B, H, T, d] (keys, values); return views k, v [B, H, n, d] of the
        past (<= keep steps) plus the new steps."""
        t = kv.shape[3]
        if self.buf is None or self.n + t > self.buf.shape[3]:
            self._grow(kv)
        start = max(0, self.n - self.keep)
        self.buf[:, :, :, self.n : self.n + t] = kv
        self.n += t
        k, v = self.buf[:, :, :, start : self.n].unbind(0)
        return k, v

    def _grow(self, kv: torch.Tensor) -> None:
        """A new buffer holding the last `keep` steps at its front, with room for 2 calls."""
        n_past = 0 if self.buf is None else min(self.n, self.keep)
        cap = max(2 * self.keep, n_past + 2 * kv.shape[3])
        _, b, h, _, d = kv.shape
        new = kv.new_empty(2, b, h, cap, d)
        if n_past:
            new[:, :, :, :n_past] = self.buf[:, :, :, self.n - n_past : self.n]
        self.buf, self.n = new, n_past


class FixedKVCache:
    """Keys and values of the last S = keep + T steps in a fixed buffer [2, B, H, S, d].

    For a fixed-shape step of T new steps per call: each call slides the buffer by T and
    writes the new steps at its end, so the keys stay in time order (the attention sums in
    the order the growing cache does) and every call sees the same shapes. Slots before the
    first step hold zeros and are masked out (FixedTransformerState.mask).
    """

    __slots__ = ("buf",)

    def __init__(self, buf: torch.Tensor) -> None:
        self.buf = buf

    def extend(self, kv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append kv [2, B, H, T, d]; return k, v [B, H, S, d] (the whole buffer)."""
        t = kv.shape[3]
        self.buf[:, :, :, :-t] = self.buf[:, :, :, t:].clone()  # overlapping: copy first
        self.buf[:, :, :, -t:] = kv
        k, v = self.buf.unbind(0)
        return k, v

    def reset_(self) -> None:
        self.buf.zero_()


class TransformerState:
    """Per-stack streaming state: the absolute step `offset` and one KVCache per layer."""

    __slots__ = ("caches", "offset")

    def __init__(self, num_layers: int, context: int) -> None:
        self.offset = 0
        self.caches = [KVCache(context - 1) for _ in range(num_layers)]

    def advance(self, t: int) -> None:
        self.offset += t


class FixedTransformerState:
    """Fixed-shape state for exactly `fixed.steps` new steps per call (CUDA graphs).

    `offset` is a device tensor [] int64, so positions and the mask are computed on the
    device. Key slot j of the S = context - 1 + T slots holds step offset + T - S + j, so
    query i (step offset + i) may see it when 0 <= i + S - T - j < context (fixed: the
    window) and the step exists, j >= S - T - offset (the only part that changes).
    """

    __slots__ = ("caches", "keep_from", "offset", "slots", "steps", "window")

    def __init__(self, cfg: CodecConfig, fixed: FixedShape) -> None:
        t, dev = fixed.steps, fixed.device
        s = cfg.context - 1 + t
        shape = (2, fixed.batch, cfg.num_heads, s, cfg.head_dim)
        self.caches = [
            FixedKVCache(torch.zeros(shape, device=dev, dtype=fixed.dtype))
            for _ in range(cfg.num_layers)
        ]
        self.steps = t
        self.offset = torch.zeros((), dtype=torch.int64, device=dev)
        j = torch.arange(s, device=dev)
        delta = torch.arange(t, device=dev)[:, None] + (s - t) - j[None]
        self.window = (delta >= 0) & (delta < cfg.context)  # [T, S]
        self.slots = j
        self.keep_from = s - t

    def mask(self) -> torch.Tensor:
        """[T, S] bool: the window, less the slots before the first step."""
        return self.window & (self.slots >= self.keep_from - self.offset)

    def advance(self, t: int) -> None:
        self.offset.add_(t)

    def reset_(self) -> None:
        for c in self.caches:
            c.reset_()
        self.offset.zero_()


class LayerScale(nn.Module):
    def __init__(self, dim: int, init: float) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.full((dim,), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class SelfAttention(nn.Module):
    """Multi-head attention, q/k/v packed in `in_proj_weight` [3D, D], no biases."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.out_proj = nn.Linear(dim, dim, bias=False)
        nn.init.xavier_uniform_(self.in_proj_weight)


def rope_angles(positions: torch.Tensor, head_dim: int, max_period: float) -> torch.Tensor:
    """Rotary angles [T, head_dim / 2] for absolute positions [T] (float32, as the reference)."""
    i = torch.arange(head_dim // 2, device=positions.device, dtype=torch.float32)
    freqs = torch.exp(i * (-math.log(max_period) * 2 / head_dim))
    return positions.to(torch.float32)[:, None] * freqs[None]


class RotaryTable:
    """Rotary factors of a range of absolute positions, kept between calls.

    `factors(start, t)` is [t, 3, 1, head_dim / 2] complex64: cos + i sin for the query and
    key slots of a packed q/k/v tensor and exactly 1 for the value slot, so that one complex
    product rotates q and k and leaves v unchanged (v * 1 is exact). Each position's angle
    is computed on its own (position x frequency), so a table made once gives the values a
    per-call computation would; streaming then pays a slice instead of ~10 small ops.
    """

    SPAN = 1024  # positions computed at once; recomputed when a call leaves the range

    def __init__(self, head_dim: int, max_period: float) -> None:
        self.head_dim = head_dim
        self.max_period = max_period
        self.base = 0
        self.table: torch.Tensor | None = None  # [span, 3, 1, head_dim / 2] complex64

    def factors(self, start: int, t: int, device: torch.device) -> torch.Tensor:
        tab = self.table
        if (
            tab is None
            or tab.device != device
            or start < self.base
            or start + t > self.base + tab.shape[0]
        ):
            tab = self._make(start, max(t, self.SPAN), device)
        return tab[start - self.base : start - self.base + t]

    def factors_at(self, offset: torch.Tensor, t: int) -> torch.Tensor:
        """As `factors`, for a start held on the device (offset [] int64): same values."""
        pos = offset + torch.arange(t, device=offset.device)
        angles = rope_angles(pos, self.head_dim, self.max_period)
        rot = torch.complex(angles.cos(), angles.sin())
        return torch.stack([rot, rot, torch.ones_like(rot)], dim=1)[:, :, None]

    def _make(self, start: int, n: int, device: torch.device) -> torch.Tensor:
        pos = torch.arange(start, start + n, device=device)
        angles = rope_angles(pos, self.head_dim, self.max_period)
        rot = torch.complex(angles.cos(), angles.sin())  # [n, head_dim / 2]
        one = torch.ones_like(rot)
        tab = torch.stack([rot, rot, one], dim=1)[:, :, None]  # [n, 3, 1, head_dim / 2]
        self.table, self.base = tab, start
        return tab


def rotate(qkv: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """RoPE on interleaved pairs (x[2i], x[2i+1]) of q and k. qkv [B, T, 3, H, head_dim],
    factors [T, 3, 1, head_dim / 2] (RotaryTable) -> [B, T, 3, H, head_dim], values as given.

    As a complex product (xr + i xi)(cos + i sin): one op for q, k and v together.
    """
    x = qkv if qkv.dtype in (torch.float32, torch.float64) else qkv.float()
    out = torch.view_as_real(torch.view_as_complex(x.unflatten(-1, (-1, 2))) * factors)
    return out.flatten(-2).to(qkv.dtype)


_mask_cache: dict[tuple[int, int, int, torch.device], torch.Tensor] = {}


def window_mask(n_q: int, n_k: int, context: int, device: torch.device) -> torch.Tensor:
    """Boolean [n_q, n_k] mask; the n_q queries are the last n_q of the n_k keys' steps.

    allowed(i, j) = 0 <= (n_k - n_q + i) - j < context. Memoised: it depends on sizes only.
    """
    key = (n_q, n_k, context, device)
    mask = _mask_cache.get(key)
    if mask is None:
        qpos = torch.arange(n_k - n_q, n_k, device=device)[:, None]
        delta = qpos - torch.arange(n_k, device=device)[None]
        mask = (delta >= 0) & (delta < context)
        if len(_mask_cache) > 256:
            _mask_cache.clear()
        _mask_cache[key] = mask
    return mask


def windowed_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    context: int,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """q [B, H, Tq, d]; k, v [B, H, Tk, d] whose last Tq steps are the queries' own steps.

    Returns [B, H, Tq, d]. Splits the queries into blocks and gives each block only the keys
    its window can reach, so the cost is O(Tq * (block + context)). `mask` [Tq, Tk], when
    given (fixed-shape steps), replaces the window mask.
    """
    n_q, n_k = q.shape[2], k.shape[2]
    past = n_k - n_q
    if mask is not None:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    if n_q <= QUERY_BLOCK:
        mask = window_mask(n_q, n_k, context, q.device)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    outs = []
    for s in range(0, n_q, QUERY_BLOCK):
        e = min(s + QUERY_BLOCK, n_q)
        k0 = max(0, past + s - context + 1)
        kb, vb = k[:, :, k0 : past + e], v[:, :, k0 : past + e]
        mask = window_mask(e - s, kb.shape[2], context, q.device)
        outs.append(F.scaled_dot_product_attention(q[:, :, s:e], kb, vb, attn_mask=mask))
    return torch.cat(outs, dim=2)


class TransformerLayer(nn.Module):
    """Pre-norm layer: x + ls1*attn(norm1(x)); x + ls2*mlp(norm2(x)). x [B, T, D]."""

    def __init__(self, cfg: CodecConfig) -> None:
        super().__init__()
        d = cfg.dimension
        self.cfg = cfg
        self.norm1 = nn.LayerNorm(d, eps=cfg.norm_eps)
        self.self_attn = SelfAttention(d, cfg.num_heads)
        self.layer_scale_1 = LayerScale(d, cfg.layer_scale)
        self.norm2 = nn.LayerNorm(d, eps=cfg.norm_eps)
        self.linear1 = nn.Linear(d, cfg.dim_feedforward, bias=False)
        self.linear2 = nn.Linear(cfg.dim_feedforward, d, bias=False)
        self.layer_scale_2 = LayerScale(d, cfg.layer_scale)
        store_column_major_(self.self_attn, "in_proj_weight")
        store_column_major_(self.self_attn.out_proj, "weight")
        store_column_major_(self.linear1, "weight")

    def forward(
        self,
        x: torch.Tensor,
        factors: torch.Tensor,
        state: TransformerState | FixedTransformerState | None,
        index: int,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x [B, T, D], rotary factors [T, 3, 1, head_dim / 2] -> [B, T, D].

        Functional calls on the modules' parameters (no nn.Module dispatch): streaming runs
        this on 2 steps, where each op's overhead, not its arithmetic, is the cost.
        """
        b, t, d = x.shape
        h = self.cfg.num_heads
        n1, n2 = self.norm1, self.norm2
        y = F.layer_norm(x, n1.normalized_shape, n1.weight, n1.bias, n1.eps)
        qkv = F.linear(y, self.self_attn.in_proj_weight).view(b, t, 3, h, d // h)
        qkv = rotate(qkv, factors).permute(2, 0, 3, 1, 4)  # [3, B, H, T, head_dim]
        if state is None:
            q, k, v = qkv.unbind(0)
        else:
            q = qkv[0]
            k, v = state.caches[index].extend(qkv[1:])
        a = windowed_attention(q, k, v, self.cfg.context, mask)
        a = F.linear(a.transpose(1, 2).reshape(b, t, d), self.self_attn.out_proj.weight)
        x = torch.addcmul(x, a, self.layer_scale_1.scale)  # x + a * scale, one op
        y = F.layer_norm(x, n2.normalized_shape, n2.weight, n2.bias, n2.eps)
        m = F.linear(F.gelu(F.linear(y, self.linear1.weight)), self.linear2.weight)
        return torch.addcmul(x, m, self.layer_scale_2.scale)


class _Layers(nn.Module):
    def __init__(self, cfg: CodecConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(TransformerLayer(cfg) for _ in range(cfg.num_layers))


class Transformer(nn.Module):
    """[B, D, T] -> [B, D, T]; named `<side>_transformer.transformer.layers.L` like Kyutai's."""

    def __init__(self, cfg: CodecConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.transformer = _Layers(cfg)
        self.rotary = RotaryTable(cfg.head_dim, cfg.max_period)  # a cache, not a parameter

    def init_state(
        self, fixed: FixedShape | None = None
    ) -> TransformerState | FixedTransformerState:
        if fixed is not None:
            return FixedTransformerState(self.cfg, fixed)
        return TransformerState(self.cfg.num_layers, self.cfg.context)

    def forward(
        self, x: torch.Tensor, state: TransformerState | FixedTransformerState | None = None
    ) -> torch.Tensor:
        t = x.shape[-1]
        mask = None
        if isinstance(state, FixedTransformerState):
            if t != state.steps:
                raise ValueError(f"this fixed-shape state takes {state.steps} steps, got {t}")
            factors, mask = self.rotary.factors_at(state.offset, t), state.mask()
        else:
            start = 0 if state is None else state.offset
            factors = self.rotary.factors(start, t, x.device)
        y = x.transpose(1, 2)
        for i, layer in enumerate(self.transformer.layers):
            y = layer(y, factors, state, i, mask)
        if state is not None:
            state.advance(t)
        return y.transpose(1, 2)
