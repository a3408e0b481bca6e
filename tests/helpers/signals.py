"""Test helpers: test signals and the near-tie analysis of code mismatches."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


def speechlike(seconds: float, sr: int = 24_000, seed: int = 0, batch: int = 1) -> torch.Tensor:
    """[batch, 1, T] float32: a gliding harmonic tone with syllable-rate envelope and noise."""
    g = torch.Generator().manual_seed(seed)
    n = round(seconds * sr)
    t = torch.arange(n, dtype=torch.float64) / sr
    out = []
    for b in range(batch):
        f0 = 110 + 30 * b + 25 * torch.sin(2 * math.pi * 0.7 * t)
        phase = 2 * math.pi * torch.cumsum(f0, 0) / sr
        x = sum(torch.sin(h * phase) / h for h in range(1, 8))
        env = 0.5 + 0.5 * torch.sin(2 * math.pi * 4 * t + b) ** 2
        x = 0.2 * x * env + 0.02 * torch.randn(n, generator=g, dtype=torch.float64)
        out.append(x.float())
    return torch.stack(out)[:, None, :]


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b|| / ||b||."""
    return float((a.double() - b.double()).norm() / b.double().norm())


@dataclass
class MismatchReport:
    total: int  # codes compared
    mismatches: int
    first_divergences: int  # mismatches where every earlier level of that frame agreed
    near_ties: int  # first divergences that are near-ties
    after_divergence: int  # mismatches that follow an earlier divergence in the same frame
    worst_gap: float  # largest relative distance gap among first divergences
    semantic_equal: float  # share of codebook-0 codes that agree

    @property
    def agreement(self) -> float:
        return 1.0 - self.mismatches / self.total


def analyse_mismatches(
    model, latent: torch.Tensor, ours: torch.Tensor, ref: torch.Tensor, rel_tol: float = 1e-4
) -> MismatchReport:
    """Explain every code where `ours` and `ref` differ, given our latent [B, D, F].

    Along the acoustic residual path both implementations share, the first level where a
    frame's codes differ must be a near-tie: the squared distances from the residual to the
    two chosen centroids differ by at most `rel_tol` (relative). Later levels of that frame
    see different residuals, so their mismatches are consequences, counted apart.
    """
    q = model.quantizer
    b, _, f = ours.shape
    n_sem = q.n_sem
    semantic_equal = float((ours[:, :n_sem] == ref[:, :n_sem]).float().mean())
    mism = ours != ref
    first = near = after = 0
    worst = 0.0
    with torch.no_grad():
        r_all = q.rvq_rest.input_proj(latent).double()  # [B, d, F]
        tables = q.rvq_rest.tables().double()
        for bi in range(b):
            for fi in range(f):
                row = mism[bi, n_sem:, fi]
                if not row.any():
                    continue
                lvl = int(row.nonzero()[0])
                after += int(row[lvl + 1 :].sum())
                first += 1
                r = r_all[bi, :, fi].clone()
                for j in range(lvl):
                    r -= tables[j][ours[bi, n_sem + j, fi]]
                d = ((tables[lvl] - r) ** 2).sum(-1)
                a, c = d[ours[bi, n_sem + lvl, fi]], d[ref[bi, n_sem + lvl, fi]]
                gap = float(abs(a - c) / min(a, c))
                worst = max(worst, gap)
                near += gap <= rel_tol
    return MismatchReport(
        total=ours.numel(),
        mismatches=int(mism.sum()),
        first_divergences=first,
        near_ties=near,
        after_divergence=after,
        worst_gap=worst,
        semantic_equal=semantic_equal,
    )


def write_tone(path, seconds: float = 1.0, sr: int = 44_100, channels: int = 2) -> np.ndarray:
    """Write a test WAV with different content per channel; returns [C, T] float32."""
    import soundfile as sf

    x = speechlike(seconds, sr, batch=channels)[:, 0].numpy()
    sf.write(str(path), x.T, sr, subtype="FLOAT")
    return x
