"""Quality metrics between an original and a reconstruction (numpy/torch; no Qt).

Signals are float32 [T] (one channel) at `sr` Hz, trimmed to the same length before any
metric. The parameters of each metric are defined once, here.
"""

from __future__ import annotations

import numpy as np

MEL = {"n_fft": 1024, "hop": 256, "n_mels": 80}  # log-mel distance parameters


def _pair(ref: np.ndarray, est: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = min(len(ref), len(est))
    return np.asarray(ref[:n], np.float64), np.asarray(est[:n], np.float64)


def si_sdr(ref: np.ndarray, est: np.ndarray) -> float:
    """Scale-invariant SDR in dB (inf for a perfect match)."""
    r, e = _pair(ref, est)
    r, e = r - r.mean(), e - e.mean()
    alpha = np.dot(e, r) / (np.dot(r, r) + 1e-12)
    target = alpha * r
    noise = e - target
    num, den = np.dot(target, target), np.dot(noise, noise)
    if den <= 1e-20 * max(num, 1e-20):
        return float("inf")
    return float(10 * np.log10((num + 1e-20) / den))


def best_lag(ref: np.ndarray, est: np.ndarray, max_lag: int) -> int:
    """Lag (samples; positive = est is late) maximising the cross-correlation."""
    r, e = _pair(ref, est)
    n = 1 << int(np.ceil(np.log2(2 * len(r) + 1)))
    xc = np.fft.irfft(np.fft.rfft(e, n) * np.conj(np.fft.rfft(r, n)), n)
    lags = np.concatenate([xc[: max_lag + 1], xc[-max_lag:]]) if max_lag else xc[:1]
    idx = int(np.argmax(lags))
    return idx if idx <= max_lag else idx - len(lags)


def si_sdr_aligned(ref: np.ndarray, est: np.ndarray, max_lag: int = 2400) -> tuple[float, int]:
    """SI-SDR after shifting est by the cross-correlation lag; (dB, lag in samples)."""
    lag = best_lag(ref, est, max_lag)
    if lag > 0:
        return si_sdr(ref[: len(ref) - lag], est[lag:]), lag
    if lag < 0:
        return si_sdr(ref[-lag:], est[: len(est) + lag]), lag
    return si_sdr(ref, est), 0


def log_mel(x: np.ndarray, sr: int) -> np.ndarray:
    """log10 mel power spectrogram [n_mels, frames] with the MEL parameters."""
    import torch

    from .dsp import mel_bank

    n_fft, hop = MEL["n_fft"], MEL["hop"]
    t = torch.from_numpy(np.asarray(x, np.float32))
    if len(t) < n_fft:
        t = torch.nn.functional.pad(t, (0, n_fft - len(t)))
    spec = torch.stft(t, n_fft, hop, window=torch.hann_window(n_fft), return_complex=True)
    mel = mel_bank(n_fft, MEL["n_mels"], sr) @ spec.abs() ** 2
    return torch.log10(mel + 1e-5).numpy()


def mel_distance(ref: np.ndarray, est: np.ndarray, sr: int) -> float:
    """Mean absolute difference of log10-mel spectrograms (0 for identical signals)."""
    r, e = _pair(ref, est)
    return float(np.mean(np.abs(log_mel(r, sr) - log_mel(e, sr))))


def stoi(ref: np.ndarray, est: np.ndarray, sr: int) -> float:
    """Short-time objective intelligibility (pystoi), 0..1."""
    from pystoi import stoi as _stoi

    r, e = _pair(ref, est)
    return float(_stoi(r, e, sr, extended=False))


def quality(ref: np.ndarray, est: np.ndarray, sr: int) -> dict[str, float]:
    """The metrics the demo table reports, for one channel."""
    return {
        "mel_distance": mel_distance(ref, est, sr),
        "si_sdr": si_sdr(ref, est),
        "stoi": stoi(ref, est, sr),
    }
