"""The reconstruction losses of the demo codec's training (torch; no Qt)."""

from __future__ import annotations

import torch

from ..analysis.dsp import mel_bank


class MelLoss:
    """Multi-resolution mel losses (n_fft 512/1024/2048, hop n_fft/4).

    Calling it gives the log-mel L1. `both` also gives the mel spectral convergence,
    ||M(x) - M(y)||_F / ||M(x)||_F per item: a linear-magnitude term that weighs the loud
    parts of the signal, which carry intelligibility, more than the log term does.
    """

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self.scales = [
            (n, torch.as_tensor(mel_bank(n, m)).to(device), torch.hann_window(n, device=device))
            for n, m in ((512, 64), (1024, 80), (2048, 128))
        ]

    def __call__(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.both(y, x)[0]

    def both(self, y: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(log-mel L1, mel spectral convergence), each averaged over the scales."""
        log_l1 = sc = y.new_zeros(())
        for n, fb, win in self.scales:

            def mel(s, n=n, fb=fb, win=win):
                spec = torch.stft(s.flatten(0, 1), n, n // 4, window=win, return_complex=True)
                return fb @ spec.abs().clamp(min=1e-7)

            my, mx = mel(y), mel(x)
            log_l1 = log_l1 + (torch.log(my + 1e-5) - torch.log(mx + 1e-5)).abs().mean()
            num = torch.linalg.vector_norm(my - mx, dim=(-2, -1))
            sc = sc + (num / torch.linalg.vector_norm(mx, dim=(-2, -1)).clamp(min=1e-5)).mean()
        return log_l1 / len(self.scales), sc / len(self.scales)
