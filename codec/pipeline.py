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
from .errors import Cancelled
from .mimi_codec import BATCH_CHUNK_FRAMES, CancelCheck, MimiCodec, Progress


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
    """codes [C, K, F] -> [C, T] float32 at the codec rate, trimmed to num_samples if given.

    The same chunks and carried state as `MimiCodec.decode`, written straight into the
    result, so a long decode is held once rather than as chunks plus their concatenation.
    """
    c = codec._check_codes(codes)
    frames = c.shape[-1]
    total = (
        frames * codec.frame_size
        if num_samples is None
        else min(num_samples, frames * codec.frame_size)
    )
    out = np.empty((c.shape[0], total), np.float32)
    state = codec.model.init_decoder_state()
    done = 0
    with torch.inference_mode():
        for f in range(0, frames, BATCH_CHUNK_FRAMES):
            if cancel is not None and cancel():
                raise Cancelled("decoding cancelled")
            chunk = c[..., f : f + BATCH_CHUNK_FRAMES].to(codec.device)
            y = codec.model.decode(chunk, state)[:, 0].cpu().numpy()
            s0 = f * codec.frame_size
            n = min(y.shape[1], total - s0)
            if n > 0:
                out[:, s0 : s0 + n] = y[:, :n]
            done += chunk.shape[-1]
            if progress is not None:
                progress(done, frames)
    return out


def from_codec_rate(
    y24: np.ndarray, codec_rate: int, sample_rate: int, num_samples: int
) -> np.ndarray:
    """[C, T'] at codec_rate -> [C, num_samples] at sample_rate (padded or trimmed)."""
    y = resample(y24, codec_rate, sample_rate)
    if y.shape[1] < num_samples:
        y = np.pad(y, ((0, 0), (0, num_samples - y.shape[1])))
    return y[:, :num_samples]
