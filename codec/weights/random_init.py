"""Random weights that behave like a trained codec's in scale (for tests and benchmarks).

Random init of the reference code leaves every codebook at zero (all codes 0) and gives a
decoder whose output hardly depends on its input. Here the convs get a Kaiming init, and
the codebooks get Gaussian entries scaled to the quantizer's input, shrinking level by
level as a residual does.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..model.mimi import MimiModel


@torch.no_grad()
def randomize(model: MimiModel, seed: int = 0) -> MimiModel:
    """Fill `model` in place with seeded random weights and non-degenerate codebooks."""
    gen = torch.Generator().manual_seed(seed)

    def normal(t: torch.Tensor, std: float) -> None:
        t.copy_(torch.randn(t.shape, generator=gen) * std)

    for m in model.modules():
        if isinstance(m, nn.Conv1d | nn.ConvTranspose1d):
            fan_in = m.weight.shape[1] * m.weight.shape[2]
            if isinstance(m, nn.ConvTranspose1d):
                fan_in = m.weight.shape[0] // m.groups * m.weight.shape[2]
            normal(m.weight, math.sqrt(2.0 / fan_in))
            if m.bias is not None:
                bound = math.sqrt(m.groups / (m.in_channels * m.kernel_size[0]))
                m.bias.copy_((torch.rand(m.bias.shape, generator=gen) * 2 - 1) * bound)
        elif isinstance(m, nn.Linear):
            normal(m.weight, 1.0 / math.sqrt(m.weight.shape[1]))
    for name, p in model.named_parameters():
        if name.endswith("in_proj_weight"):
            normal(p, 1.0 / math.sqrt(p.shape[1]))
        elif name.endswith("layer_scale_1.scale") or name.endswith("layer_scale_2.scale"):
            p.copy_(0.05 + 0.1 * torch.rand(p.shape, generator=gen))

    # Calibrate the codebook scale on a deterministic test signal (a chirp plus noise).
    sr = model.cfg.sample_rate
    t = torch.arange(sr) / sr
    sig = 0.3 * torch.sin(2 * math.pi * (100 + 900 * t) * t) + 0.05 * torch.randn(sr, generator=gen)
    was_training = model.training
    model.eval()
    z = model.encode_latent(sig.view(1, 1, -1))
    for group in (model.quantizer.rvq_first, model.quantizer.rvq_rest):
        r = group.input_proj(z)
        std = float(r.std()) or 1.0
        for q, holder in enumerate(group.vq.layers):
            cb = holder._codebook
            usage = 0.5 + torch.rand(cb.cluster_usage.shape, generator=gen)
            table = torch.randn(cb.embedding_sum.shape, generator=gen) * std * (0.75**q)
            cb.cluster_usage.copy_(usage)
            cb.embedding_sum.copy_(table * usage[:, None])
            cb._initialized.fill_(1.0)
    model.quantizer.refresh()
    model.train(was_training)
    return model
