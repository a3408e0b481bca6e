"""Semantic distillation of the demo codec: codebook 0 learns espeak-ng's phonemes.

Mimi distils its semantic codebook towards WavLM; offline there is no speech model, but
the trainer's own speech comes with espeak-ng's phoneme labels (phonemes.py), one class
per 80 ms frame. Two training terms act on the semantic group (`quantizer.rvq_first`),
beside the reconstruction terms:

* `ce`: a linear head (the training aid, never exported) reads the frame's phoneme from
  the codebook-0 quantized vector e0 (straight-through, so the gradient reaches the
  semantic input projection and the encoder): e0 must say which phoneme it is;
* `center`: the within-phoneme spread of the projected latent r = P_in(z) (before
  quantization) relative to its total spread, around running class centres. The head
  alone does not care how many codebook entries a phoneme occupies, so the same phoneme
  in two voices can take different entries; pulling each phoneme's frames together
  squeezes the voice out of r, so that the nearest entry depends on the phoneme.

`semantic_init` starts the semantic group on the phonemes before any of this trains:
the input projection becomes the latent's linear discriminant directions for the
phonemes (LDA), codebook 0 is re-clustered there (k-means), and the output projection is
refit by least squares so that P_sem(e0) + P_ac(...) still approximates the latent, which
keeps reconstruction with many codebooks where it was.
"""

from __future__ import annotations

import torch
from torch import nn

from ..model.mimi import MimiModel
from .data import MUSIC, Batches


class SemanticHead(nn.Module):
    """Linear d -> n_classes on codebook 0's vectors, and running class centres [C, d] of
    the projected latent (buffers, an exponential moving average) for the centre loss."""

    def __init__(self, dim: int, n_classes: int, decay: float = 0.99) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, n_classes)
        self.decay = decay
        self.register_buffer("centers", torch.zeros(n_classes, dim))
        self.register_buffer("seen", torch.zeros(n_classes))

    def losses(
        self, e0: torch.Tensor, r: torch.Tensor, labels: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """e0, r [N, d] (quantized straight-through, and before quantization), labels [N]
        (MUSIC for music frames) -> {"ce", "center", "acc"} (scalars; acc without grad).

        center = sum ||r_i - c_{y_i}||^2 / sum ||r_i - mean(r)||^2 over speech frames: 0
        when each phoneme's frames coincide, about 1 when the classes do not matter."""
        target = labels.clamp(min=0)  # music is the silence class for the head
        logits = self.linear(e0)
        ce = nn.functional.cross_entropy(logits, target)
        acc = (logits.argmax(1) == target).float().mean().detach()
        speech = labels != MUSIC
        center = e0.new_zeros(())
        if int(speech.sum()) > 1:
            rs, ys = r[speech], labels[speech]
            self._update_centers(rs.detach(), ys)
            c = self.centers[ys]
            known = (self.seen[ys] > 0).float()[:, None]
            within = (((rs - c) ** 2) * known).sum()
            total = ((rs - rs.mean(0, keepdim=True)) ** 2).sum().clamp(min=1e-8)
            center = within / total
        return {"ce": ce, "center": center, "acc": acc}

    @torch.no_grad()
    def _update_centers(self, r: torch.Tensor, y: torch.Tensor) -> None:
        n = self.centers.shape[0]
        counts = torch.zeros(n, device=r.device).index_add_(0, y, torch.ones_like(y, dtype=r.dtype))
        sums = torch.zeros_like(self.centers).index_add_(0, y, r)
        have = counts > 0
        fresh = have & (self.seen == 0)  # a class seen for the first time starts at its mean
        self.centers[fresh] = sums[fresh] / counts[fresh, None]
        old = have & (self.seen > 0)
        self.centers[old] = self.decay * self.centers[old] + (1 - self.decay) * (
            sums[old] / counts[old, None]
        )
        self.seen[have] += counts[have]


@torch.no_grad()
def labelled_latents(
    model: MimiModel, batches: Batches, first: int, n_batches: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Latents [N, D] and frame labels [N] (MUSIC for music) of batches first.. (N = all
    frames of n_batches batches)."""
    dev = next(model.parameters()).device
    zs, ys = [], []
    for i in range(n_batches):
        x, y = batches.make_labelled(first + i)
        z = model.encode_latent(torch.from_numpy(x).to(dev))  # [B, D, F]
        zs.append(z.transpose(1, 2).reshape(-1, z.shape[1]))
        ys.append(torch.from_numpy(y[:, : z.shape[2]]).reshape(-1))
    return torch.cat(zs).double(), torch.cat(ys).to(dev)


def lda_directions(z: torch.Tensor, y: torch.Tensor, m: int, ridge: float = 1e-3) -> torch.Tensor:
    """The m linear discriminant directions of z [N, D] for classes y [N] (>= 0): [m, D],
    most discriminant first, scaled so that the within-class covariance is the identity.
    `ridge` (relative to the mean within-class variance) keeps rare classes harmless."""
    d = z.shape[1]
    mu = z.mean(0)
    sw = torch.zeros(d, d, dtype=z.dtype, device=z.device)
    sb = torch.zeros_like(sw)
    for c in torch.unique(y):
        zc = z[y == c]
        mc = zc.mean(0)
        sw += (zc - mc).T @ (zc - mc)
        sb += len(zc) * torch.outer(mc - mu, mc - mu)
    sw, sb = sw / len(z), sb / len(z)
    sw = sw + ridge * torch.trace(sw) / d * torch.eye(d, dtype=z.dtype, device=z.device)
    # generalised symmetric eigenproblem sb v = w sw v, through sw^-1/2
    ew, ev = torch.linalg.eigh(sw)
    isq = ev @ torch.diag(ew.clamp(min=1e-12).rsqrt()) @ ev.T
    w, v = torch.linalg.eigh(isq @ sb @ isq)
    order = torch.argsort(w, descending=True)[:m]
    return (isq @ v[:, order]).T


def kmeans(r: torch.Tensor, size: int, iters: int = 20, seed: int = 0) -> torch.Tensor:
    """size centroids [size, d] of r [N, d] (N >= size), seeded from distinct rows."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    cent = r[torch.randperm(len(r), generator=g)[:size].to(r.device)].clone()
    for _ in range(iters):
        idx = torch.cdist(r, cent).argmin(1)
        counts = torch.bincount(idx, minlength=size).to(r.dtype)
        sums = torch.zeros_like(cent).index_add_(0, idx, r)
        alive = counts > 0
        cent[alive] = sums[alive] / counts[alive, None]
    return cent


@torch.no_grad()
def semantic_init(model: MimiModel, batches: Batches, first: int, n_batches: int = 24) -> dict:
    """Re-initialise the semantic group on the phonemes (see the module's docstring), from
    the latents of batches first..first+n_batches. Returns what it measured."""
    z, y = labelled_latents(model, batches, first, n_batches)
    return semantic_init_from(model, z, y)


@torch.no_grad()
def semantic_init_from(model: MimiModel, z: torch.Tensor, y: torch.Tensor) -> dict:
    """The semantic init from latents z [N, D] and their frame labels y [N] (MUSIC for
    music): LDA input projection, k-means codebook 0, least-squares output projection."""
    z = z.double()
    q = model.quantizer
    sem = q.rvq_first
    w_old = sem.input_proj.weight[:, :, 0].double()
    speech = y != MUSIC
    w = lda_directions(z[speech], y[speech], w_old.shape[0])
    # keep the old projection's scale, so the commitment and EMA settings still fit
    w = w * ((z @ w_old.T).norm(dim=1).mean() / (z @ w.T).norm(dim=1).mean())
    sem.input_proj.weight.copy_(w[:, :, None].to(sem.input_proj.weight.dtype))
    r = z @ w.T
    cb = sem.vq.layers[0]._codebook
    cent = kmeans(r, cb.cluster_usage.shape[0])
    cb.embedding_sum.copy_(cent.to(cb.embedding_sum.dtype))
    cb.cluster_usage.fill_(1.0)
    q.refresh()
    # P_sem by least squares: z - P_ac(acoustic part) ~ P_sem e0 over these frames
    zt = z.T[None].float()  # [1, D, N]
    codes = q.encode(zt)  # [1, n_q, N]
    target = (zt - q.decode(codes, part="acoustic"))[0].T.double()  # [N, D]
    e0 = sem.tables()[0][codes[0, 0]].double()  # [N, d]
    sol = torch.linalg.lstsq(e0, target).solution  # [d, D]
    sem.output_proj.weight.copy_(sol.T[:, :, None].to(sem.output_proj.weight.dtype))
    q.refresh()
    fit = (target - e0 @ sol).pow(2).sum() / target.pow(2).sum()
    return {"frames": len(z), "speech_frames": int(speech.sum()), "p_sem_rel_err": float(fit)}
