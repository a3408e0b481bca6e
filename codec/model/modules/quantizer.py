"""Split residual vector quantizer (docs/mimi.md, "The split quantizer";
moshi `quantization/vq.py`).

Two parallel groups see the same latent: `rvq_first` (the semantic codebook(s)) and
`rvq_rest` (acoustic residual levels). Each has its own 1x1 input and output projection.
Codes are [B, K, F] int64 with the semantic code(s) first; any prefix K >= 1 decodes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ..config import CodecConfig

EPS = 1e-5
PARTS = ("all", "semantic", "acoustic")


class Codebook(nn.Module):
    """EMA-style codebook storage: codebook = embedding_sum / clamp(cluster_usage, EPS)."""

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        self.register_buffer("_initialized", torch.zeros(1))
        self.register_buffer("cluster_usage", torch.ones(size))
        self.register_buffer("embedding_sum", torch.zeros(size, dim))

    def embeddings(self) -> torch.Tensor:
        """[size, dim]."""
        return self.embedding_sum / self.cluster_usage.clamp(min=EPS)[:, None]


class _CodebookHolder(nn.Module):
    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        self._codebook = Codebook(size, dim)


class _Levels(nn.Module):
    def __init__(self, n: int, size: int, dim: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(_CodebookHolder(size, dim) for _ in range(n))


def nearest(x: torch.Tensor, table_t: torch.Tensor, sq_norms: torch.Tensor) -> torch.Tensor:
    """Index of the nearest codebook entry (Euclidean). x [N, d], table_t [d, S] -> [N].

    argmin_j |x - c_j|^2 = argmin_j (|c_j|^2 - 2 x.c_j): the expansion `torch.cdist` uses
    for large inputs, with |c_j|^2 (`sq_norms` [1, S]) computed once instead of per call, and
    the table stored transposed, which MKL reads fastest when N is a single frame.
    """
    return torch.addmm(sq_norms, x, table_t, alpha=-2.0).argmin(dim=1)


def stack_levels(codes: list[torch.Tensor], b: int, f: int) -> torch.Tensor:
    """The search's per-level indices (n x [B F]) -> codes [B, n, F]."""
    return torch.stack(codes, 0).view(len(codes), b, f).transpose(0, 1)


class _Tables:
    """Per-level views of a group's codebooks, made once after loading (inference only).

    Python lists of views, so the per-level loop of `encode` indexes a list instead of
    dispatching three tensor `select`s per level (the loop runs 31 times per frame).
    """

    __slots__ = ("flat", "norms", "tables", "tables_t")

    def __init__(self, tables: torch.Tensor) -> None:
        t_t = tables.transpose(1, 2).contiguous()  # [n, d, S]: MKL's fastest for 1-2 rows
        norms = (tables * tables).sum(-1)  # [n, S]
        self.flat = tables.reshape(-1, tables.shape[-1])  # [n S, d] for one gather of all
        self.tables = list(tables.unbind(0))  # n x [S, d]
        self.tables_t = list(t_t.unbind(0))  # n x [d, S]
        self.norms = list(norms[:, None].unbind(0))  # n x [1, S]


class ResidualVQ(nn.Module):
    """One group: projections 512->256->512 (Mimi sizes) around `n` residual levels."""

    def __init__(self, n: int, dim: int, codebook_dim: int, size: int) -> None:
        super().__init__()
        self.n = n
        self.input_proj = nn.Conv1d(dim, codebook_dim, 1, bias=False)
        self.output_proj = nn.Conv1d(codebook_dim, dim, 1, bias=False)
        self.vq = _Levels(n, size, codebook_dim)
        self._tables: torch.Tensor | None = None
        self._cache: _Tables | None = None
        self._offsets: torch.Tensor | None = None

    def tables(self) -> torch.Tensor:
        """All codebooks [n, size, codebook_dim], computed once after loading (see refresh)."""
        if self._tables is None or self.training:
            tables = torch.stack([lv._codebook.embeddings() for lv in self.vq.layers])
            if self.training:
                return tables
            self._tables = tables
            self._cache = _Tables(tables)
        return self._tables

    def refresh(self) -> None:
        """Forget the cached tables; call after the buffers change (loading, training)."""
        self._tables = None
        self._cache = None
        self._offsets = None

    def encode(self, z: torch.Tensor, n: int) -> torch.Tensor:
        """z [B, dim, F] -> codes [B, n, F] for the first n levels."""
        b, _, f = z.shape
        r = self.project(z)
        if self.training or self._cache is None:
            return self._encode_train(r, self.tables(), n).view(n, b, f).transpose(0, 1)
        codes, _ = self.search(r, 0, n)
        return stack_levels(codes, b, f)

    def project(self, z: torch.Tensor) -> torch.Tensor:
        """z [B, dim, F] -> the search's first residual [B F, d] (the input projection)."""
        b, _, f = z.shape
        w = self.input_proj.weight  # [d, dim, 1]
        r = F.linear(z.transpose(1, 2).reshape(b * f, -1), w.view(w.shape[0], -1))
        self.tables()  # the cached tables the search reads
        return r

    def search(
        self, r: torch.Tensor, start: int, stop: int, keep_residual: bool = False
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Levels start..stop-1 of the residual search (inference) from residual r [BF, d]:
        their indices ([BF] each) and the residual after them (after the last level only
        with `keep_residual`, to continue the search later from `stop`)."""
        c = self._cache
        codes = []
        for q in range(start, stop):
            idx = nearest(r, c.tables_t[q], c.norms[q])
            codes.append(idx)
            if q + 1 < stop or keep_residual:
                r = r - c.tables[q].index_select(0, idx)
        return codes, r

    def _encode_train(self, r: torch.Tensor, tables: torch.Tensor, n: int) -> torch.Tensor:
        """The same residual search on tables that change (training): codes [n, BF]."""
        tables_t, norms = tables.transpose(1, 2), (tables * tables).sum(-1)
        codes = []
        for q in range(n):
            idx = nearest(r, tables_t[q], norms[q][None])
            codes.append(idx)
            if q + 1 < n:
                r = r - tables[q][idx]
        return torch.stack(codes, 0)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, n, F] (n <= levels) -> [B, dim, F]: the entries summed, projected."""
        tables = self.tables()
        n = codes.shape[1]
        if self.training or self._cache is None:
            e = tables[0][codes[:, 0]]
            for q in range(1, n):
                e = e + tables[q][codes[:, q]]
        else:
            e = self._gather_sum(codes)
        w = self.output_proj.weight  # [dim, d, 1]
        return F.linear(e, w.view(w.shape[0], -1)).transpose(1, 2)

    def _gather(self, codes: torch.Tensor) -> torch.Tensor:
        """table_q[codes[:, q]] for every level q: [B, n, F, d], one gather from the flat tables."""
        self.tables()
        b, n, f = codes.shape
        size = self._tables.shape[1]
        if self._offsets is None or self._offsets.device != codes.device:
            self._offsets = torch.arange(self.n, device=codes.device)[:, None] * size
        idx = (codes + self._offsets[:n]).view(-1)  # [B n F] rows of the flat table
        return self._cache.flat.index_select(0, idx).view(b, n, f, -1)

    def _gather_sum(self, codes: torch.Tensor) -> torch.Tensor:
        """sum_q table_q[codes[:, q]]: [B, F, d]."""
        return self._gather(codes).sum(1)

    def decode_weighted(self, codes: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """codes [B, n, F] of every level, weights [n] (1.0 to use a level, 0.0 to leave it
        out) -> [B, dim, F]. Fixed shapes whatever the K-prefix: for fixed-shape steps.

        A K-prefix as weights gives `decode(codes[:, :K])`: x * 1 is exact and the zeros
        add nothing (the sum runs in the same order).
        """
        e = (self._gather(codes) * weights.view(1, -1, 1, 1)).sum(1)
        w = self.output_proj.weight
        return F.linear(e, w.view(w.shape[0], -1)).transpose(1, 2)


class SplitResidualVQ(nn.Module):
    """Semantic group (`rvq_first`) and acoustic group (`rvq_rest`) on the same latent."""

    def __init__(self, cfg: CodecConfig) -> None:
        super().__init__()
        self.n_q = cfg.n_q
        self.n_sem = cfg.n_q_semantic
        args = (cfg.dimension, cfg.codebook_dim, cfg.codebook_size)
        self.rvq_first = ResidualVQ(cfg.n_q_semantic, *args)
        self.rvq_rest = ResidualVQ(cfg.n_q - cfg.n_q_semantic, *args)

    def refresh(self) -> None:
        self.rvq_first.refresh()
        self.rvq_rest.refresh()

    def encode(self, z: torch.Tensor, n: int | None = None) -> torch.Tensor:
        """z [B, dim, F] -> codes [B, n, F] int64 (n defaults to all levels)."""
        n = self.n_q if n is None else n
        codes = self.rvq_first.encode(z, min(n, self.n_sem))
        if n > self.n_sem:
            codes = torch.cat([codes, self.rvq_rest.encode(z, n - self.n_sem)], dim=1)
        return codes

    @torch.inference_mode()
    def encode_prefix(
        self, z: torch.Tensor, k: int
    ) -> tuple[torch.Tensor, Callable[[], torch.Tensor]]:
        """z [B, dim, F] -> (codes [B, k, F] of the first k levels now, a function that
        returns all n_q levels' codes [B, n_q, F] later). The later levels continue the same
        search, so the result equals `encode(z)`; a live loop decodes the K it needs first
        and finds the rest after the audio went out."""
        k = max(1, min(int(k), self.n_q))
        b, _, f = z.shape
        if self.training:  # tables that change: no cached search to continue
            full = self.encode(z)
            return full[:, :k], lambda: full

        first = self.rvq_first.encode(z, self.n_sem)
        rest = self.rvq_rest
        if k <= self.n_sem or self.n_q == self.n_sem:

            @torch.inference_mode()
            def all_levels() -> torch.Tensor:
                if self.n_q == self.n_sem:
                    return first
                return torch.cat([first, rest.encode(z, self.n_q - self.n_sem)], 1)

            return first[:, :k], all_levels
        now, r = rest.search(rest.project(z), 0, k - self.n_sem, keep_residual=True)

        @torch.inference_mode()
        def later() -> torch.Tensor:
            more, _ = rest.search(r, k - self.n_sem, self.n_q - self.n_sem)
            return torch.cat([first, stack_levels(now + more, b, f)], 1)

        return torch.cat([first, stack_levels(now, b, f)], 1), later

    def decode(self, codes: torch.Tensor, part: str = "all") -> torch.Tensor:
        """codes [B, K, F], 1 <= K <= n_q -> latent [B, dim, F]. Missing levels are left out.

        The two groups are summed: q = P_sem(e_0) + P_ac(e_1 + ... + e_{K-1}). `part` picks
        "all" (the codec's own decode), "semantic" (P_sem(e_0) alone) or "acoustic"
        (P_ac(e_1 + ... + e_{K-1}) alone; zero when K has no acoustic level).
        """
        if part not in PARTS:
            raise ValueError(f"part must be one of {', '.join(PARTS)}, got {part!r}")
        out = None
        if part != "acoustic":
            out = self.rvq_first.decode(codes[:, : self.n_sem])
        if part != "semantic" and codes.shape[1] > self.n_sem:
            ac = self.rvq_rest.decode(codes[:, self.n_sem :])
            out = ac if out is None else out + ac
        if out is None:  # acoustic part of a semantic-only prefix: nothing
            b, _, f = codes.shape
            out = self.rvq_first.output_proj.weight.new_zeros(
                b, self.rvq_first.output_proj.out_channels, f
            )
        return out

    def decode_weighted(self, codes: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        """codes [B, n_q, F] (all levels), levels [n_q] float: 1.0 for the K-prefix used,
        0.0 after -> latent [B, dim, F], equal to `decode(codes[:, :K])` at fixed shapes."""
        n = self.n_sem
        out = self.rvq_first.decode_weighted(codes[:, :n], levels[:n])
        return out + self.rvq_rest.decode_weighted(codes[:, n:], levels[n:])

    def level_vectors(self, codes: torch.Tensor) -> torch.Tensor:
        """Each level's own contribution to the quantized latent: [B, K, dim, F].

        Level 0 is P_sem(e_0); level q >= 1 is P_ac(e_q) (the output projections are linear
        without bias, so the acoustic levels' vectors sum to the acoustic part).
        """
        outs = []
        for q in range(codes.shape[1]):
            group, lvl = (self.rvq_first, q) if q < self.n_sem else (self.rvq_rest, q - self.n_sem)
            e = group.tables()[lvl][codes[:, q]]  # [B, F, d]
            outs.append(group.output_proj(e.transpose(1, 2)))
        return torch.stack(outs, dim=1)
