"""Learning the split RVQ's codebooks during training (torch; no Qt).

Mimi's codebooks are EMA k-means (its storage: embedding_sum / cluster_usage, the codebook
being their ratio): each training step moves every used entry toward the mean of the
vectors it coded, dead entries are re-seeded from the batch, and every codebook starts
from k-means on encoder outputs when quantized training begins.
"""

from __future__ import annotations

import torch

from ..model.mimi import MimiModel
from .data import Batches

KMEANS_BATCHES = 1_000_000_000  # batch indices for k-means, never used for training


def quantize_train(
    model: MimiModel, z: torch.Tensor, ks: torch.Tensor, ema: float
) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """Straight-through split RVQ with a K-prefix per item. z [B, D, F], ks [B] in 1..n_q.

    Returns (quantized latent [B, D, F], commitment loss, (r0, e0)): r0 [B*F, d] is the
    semantic group's projected latent and e0 [B*F, d] its codebook-0 vector
    (straight-through), rows in (item, frame) order, for the distillation terms. Updates
    the codebooks (EMA).
    """
    q = model.quantizer
    b, _, f = z.shape
    out = z.new_zeros(z.shape)
    commit = z.new_zeros(())
    sem: tuple[torch.Tensor, torch.Tensor] | None = None
    for group, first_level, n_levels in (
        (q.rvq_first, 0, q.n_sem),
        (q.rvq_rest, q.n_sem, q.n_q - q.n_sem),
    ):
        r = group.input_proj(z).transpose(1, 2).reshape(b * f, -1)  # [B*F, d]
        acc = torch.zeros_like(r)
        levels = torch.arange(n_levels, device=z.device)
        used = (ks[:, None] > first_level + levels[None]).float()  # [B, L]
        for lvl in range(n_levels):
            cb = group.vq.layers[lvl]._codebook
            table = cb.embeddings()
            with torch.no_grad():
                d = (
                    (r.detach() ** 2).sum(1, keepdim=True)
                    - 2 * r.detach() @ table.t()
                    + (table**2).sum(1)[None]
                )
                idx = d.argmin(1)
                e = table[idx]
                _ema_update(cb, r.detach(), idx, ema)
            mask = used[:, lvl].repeat_interleave(f)[:, None]  # [B*F, 1]
            # no float()/item() here: on a GPU each would stall the step (32 per step)
            commit = commit + (((r - e) ** 2).mean(1, keepdim=True) * mask).sum() / (
                mask.sum().clamp(min=1.0)
            )
            st = r + (e - r).detach()  # straight-through
            if sem is None:
                sem = (r, st)
            acc = acc + mask * st
            r = r - e  # the next level codes what is left (no gradient through e)
        out = out + group.output_proj(acc.view(b, f, -1).transpose(1, 2))
    assert sem is not None
    return out, commit, sem


@torch.no_grad()
def _ema_update(cb, r: torch.Tensor, idx: torch.Tensor, decay: float) -> None:
    size = cb.cluster_usage.shape[0]
    # index_add_ rather than bincount, which waits for the GPU to size its output
    counts = torch.zeros(size, device=r.device).index_add_(
        0, idx, torch.ones_like(idx, dtype=r.dtype)
    )
    sums = torch.zeros_like(cb.embedding_sum).index_add_(0, idx, r)
    cb.cluster_usage.mul_(decay).add_(counts, alpha=1 - decay)
    cb.embedding_sum.mul_(decay).add_(sums, alpha=1 - decay)


@torch.no_grad()
def reseed_dead(model: MimiModel, z: torch.Tensor, threshold: float = 0.05) -> int:
    """Entries used less than `threshold` (EMA count) get a residual vector from the batch."""
    q = model.quantizer
    n = 0
    for group in (q.rvq_first, q.rvq_rest):
        r = group.input_proj(z).transpose(1, 2).reshape(-1, group.input_proj.out_channels)
        for holder in group.vq.layers:
            cb = holder._codebook
            dead = cb.cluster_usage < threshold
            k = int(dead.sum())
            if k:
                pick = r[torch.randint(0, len(r), (k,), device=r.device)]
                cb.embedding_sum[dead] = pick
                cb.cluster_usage[dead] = 1.0
                n += k
            table = cb.embeddings()
            r = r - table[(torch.cdist(r, table)).argmin(1)]
    return n


@torch.no_grad()
def kmeans_init(model: MimiModel, batches: Batches, n_batches: int = 40, iters: int = 12) -> None:
    """Initialise every codebook with k-means on encoder outputs (residuals for levels > 0)."""
    dev = next(model.parameters()).device
    zs = torch.cat(
        [
            model.encode_latent(torch.from_numpy(batches.make(KMEANS_BATCHES + i)).to(dev))
            for i in range(n_batches)
        ],
        0,
    )
    q = model.quantizer
    for group in (q.rvq_first, q.rvq_rest):
        r = group.input_proj(zs).transpose(1, 2).reshape(-1, group.input_proj.out_channels)
        for holder in group.vq.layers:
            cb = holder._codebook
            size = cb.cluster_usage.shape[0]
            cent = r[torch.randperm(len(r), device=r.device)[:size]].clone()
            if len(cent) < size:
                cent = torch.cat(
                    [
                        cent,
                        cent[torch.randint(0, len(cent), (size - len(cent),))]
                        + 1e-3 * torch.randn(size - len(cent), r.shape[1], device=r.device),
                    ]
                )
            for _ in range(iters):
                idx = torch.cdist(r, cent).argmin(1)
                counts = torch.bincount(idx, minlength=size).float()
                sums = torch.zeros_like(cent).index_add_(0, idx, r)
                alive = counts > 0
                cent[alive] = sums[alive] / counts[alive, None]
            cb.embedding_sum.copy_(cent)
            cb.cluster_usage.fill_(1.0)
            cb._initialized.fill_(1.0)
            r = r - cent[torch.cdist(r, cent).argmin(1)]
        # start each output projection as half the inverse of its input projection, so
        # that semantic + acoustic outputs together begin near the latent they code
        w_in = group.input_proj.weight[:, :, 0]  # [d, D]
        group.output_proj.weight.copy_(0.5 * torch.linalg.pinv(w_in)[:, :, None])
    q.refresh()
