"""The near-tie analysis of code mismatches between two implementations of the quantizer."""

from __future__ import annotations

from dataclasses import dataclass

import torch


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
