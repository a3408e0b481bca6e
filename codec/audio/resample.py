"""Sample-rate conversion with soxr (its "HQ" filter), whole signals or block by block.

`StreamResampler` gives the same samples as `resample` on the whole signal: soxr's
streaming resampler keeps its filter state across blocks (checked in the tests).
Arrays are float32 [C, T] (channels first) unless a docstring says otherwise.
"""

from __future__ import annotations

import numpy as np
import soxr

QUALITY = "HQ"


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """[C, T] float32 from sr_in to sr_out Hz; always returns a new array."""
    if sr_in == sr_out:
        return np.array(x, dtype=np.float32, copy=True)
    y = soxr.resample(np.ascontiguousarray(x.T), sr_in, sr_out, quality=QUALITY)
    if y.ndim == 1:
        y = y[:, None]
    return np.ascontiguousarray(y.T, dtype=np.float32)


def fit_length(y: np.ndarray, num_samples: int) -> np.ndarray:
    """y [C, T] padded with silence or trimmed to [C, num_samples]."""
    if y.shape[1] < num_samples:
        y = np.pad(y, ((0, 0), (0, num_samples - y.shape[1])))
    return y[:, :num_samples]


def from_codec_rate(
    y24: np.ndarray, codec_rate: int, sample_rate: int, num_samples: int
) -> np.ndarray:
    """[C, T'] at codec_rate -> [C, num_samples] at sample_rate (padded or trimmed)."""
    return fit_length(resample(y24, codec_rate, sample_rate), num_samples)


class StreamResampler:
    """Blocks [n, C] (frames first, as soundfile reads them) from sr_in to sr_out Hz.

    `push(x)` returns what is ready (possibly nothing); `flush()` the filter's tail. At equal
    rates blocks pass through unchanged.
    """

    def __init__(self, sr_in: int, sr_out: int, channels: int) -> None:
        self.channels = channels
        self.stream = (
            None
            if sr_in == sr_out
            else soxr.ResampleStream(sr_in, sr_out, channels, dtype="float32", quality=QUALITY)
        )

    def push(self, x: np.ndarray, last: bool = False) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self.stream is None:
            return x
        y = self.stream.resample_chunk(x, last=last)
        return y.reshape(-1, self.channels).astype(np.float32, copy=False)

    def flush(self) -> np.ndarray:
        return self.push(np.zeros((0, self.channels), np.float32), last=True)
