"""Test signals: speech-like tones, WAV files of them, relative errors."""

from __future__ import annotations

import math

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


def write_tone(path, seconds: float = 1.0, sr: int = 44_100, channels: int = 2) -> np.ndarray:
    """Write a test WAV with different content per channel; returns [C, T] float32."""
    import soundfile as sf

    x = speechlike(seconds, sr, batch=channels)[:, 0].numpy()
    sf.write(str(path), x.T, sr, subtype="FLOAT")
    return x
