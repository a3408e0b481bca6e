"""Multi-channel coding of whole signals at any sample rate (used by the CLI and the app).

Each channel is coded separately (channels ride in the batch dimension). Signals are
resampled to the codec rate with soxr, and reconstructions are resampled back and
trimmed to the source length.

These hold whole signals in memory; `codec.long_file` does the same job block by block
(same chunks, same result) for files of any length.
"""

from __future__ import annotations

import numpy as np
import torch

from .audio import resample
from .mimi_codec import CancelCheck, MimiCodec, Progress


def to_codec_rate(codec: MimiCodec, samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """[C, T] at sample_rate -> [C, T'] float32 at the codec rate."""
    return resample(samples, sample_rate, codec.sample_rate)


def encode_signal(
    codec: MimiCodec,
    x24: np.ndarray,
    num_codebooks: int | None = None,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
) -> torch.Tensor:
    """[C, T] at the codec rate -> codes [C, K, ceil(T / frame_size)] (CPU, int64)."""
    x = torch.from_numpy(np.ascontiguousarray(x24, dtype=np.float32))[:, None, :]
    return codec.encode(x, num_codebooks, progress=progress, cancel=cancel).cpu()


def decode_signal(
    codec: MimiCodec,
    codes: torch.Tensor,
    num_samples: int | None = None,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
) -> np.ndarray:
    """codes [C, K, F] -> [C, T] float32 at the codec rate, trimmed to num_samples if given."""
    y = codec.decode(codes, progress=progress, cancel=cancel)[:, 0].cpu().numpy()
    return y if num_samples is None else y[:, :num_samples]


def from_codec_rate(
    y24: np.ndarray, codec_rate: int, sample_rate: int, num_samples: int
) -> np.ndarray:
    """[C, T'] at codec_rate -> [C, num_samples] at sample_rate (padded or trimmed)."""
    y = resample(y24, codec_rate, sample_rate)
    if y.shape[1] < num_samples:
        y = np.pad(y, ((0, 0), (0, num_samples - y.shape[1])))
    return y[:, :num_samples]
