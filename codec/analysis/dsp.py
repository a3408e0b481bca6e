"""Signal helpers: spectrograms for display and the mel filterbank (numpy; torch for mel)."""

from __future__ import annotations

import numpy as np


def spectrogram_db(
    x: np.ndarray,
    sample_rate: int,
    n_fft: int = 512,
    max_columns: int = 4000,
    floor_db: float = -100.0,
) -> tuple[np.ndarray, float]:
    """Magnitude spectrogram of x [T] in dB: ([n_fft/2 + 1, columns], seconds per column).

    The hop grows with the signal so there are at most `max_columns` columns: a one-hour
    file costs the same to draw as a one-minute one.
    """
    x = np.asarray(x, dtype=np.float32)
    hop = max(n_fft // 4, int(np.ceil(len(x) / max_columns)))
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    n_cols = 1 + (len(x) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_cols)[:, None]
    window = np.hanning(n_fft).astype(np.float32)
    spec = np.abs(np.fft.rfft(x[idx] * window, axis=1)).T
    db = 20 * np.log10(np.maximum(spec, 1e-12))
    return np.maximum(db, floor_db).astype(np.float32), hop / sample_rate


def mel_bank(n_fft: int, n_mels: int, sr: int = 24_000, fmin: float = 30.0):
    """HTK mel filterbank as a torch tensor [n_mels, n_fft/2 + 1] (triangles, peak 1)."""
    import torch

    def mel(f):
        return 2595 * np.log10(1 + f / 700)

    def hz(m):
        return 700 * (10 ** (m / 2595) - 1)

    pts = hz(np.linspace(mel(fmin), mel(sr / 2), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1 / sr)
    fb = np.zeros((n_mels, len(bins)), np.float32)
    for i in range(n_mels):
        lo, c, hi = pts[i : i + 3]
        fb[i] = np.clip(np.minimum((bins - lo) / (c - lo), (hi - bins) / (hi - c)), 0, None)
    return torch.from_numpy(fb)
