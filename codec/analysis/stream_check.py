"""Streaming versus offline: code a clip frame by frame and compare with the batch path.

The streaming encoder takes whole frames only, so a clip whose length is not a multiple of
the frame size is zero-padded to whole frames. The batch encoder pads differently inside
the network (each strided conv pads its own input), so the last, partial frame may
legitimately differ: it is counted apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import check_cancelled

Progress = Callable[[int, int], None]  # (frames done, frames total)
CancelCheck = Callable[[], bool]


@dataclass
class StreamCheck:
    """Streaming path versus batch path for one clip at K codebooks."""

    k: int
    frames: int  # all frames, the partial last one included
    whole_frames: int  # frames fully covered by the input
    codes_compared: int  # codes in the whole frames (all codebooks, all channels)
    code_match: float  # share of those codes that are equal, 0..1
    tail_match: float | None  # share equal in the partial last frame; None without one
    max_diff: float  # max |stream - batch| over the whole frames' samples (full scale 1)
    max_diff_tail: float  # the same over the partial last frame's samples (0 without one)
    difference: np.ndarray  # [C, T] float32: stream decode - batch decode
    scope: str = ""  # what part of the clip was checked when not all of it


def _steps(total: int, progress: Progress | None, cancel: CancelCheck | None):
    for i in range(total):
        check_cancelled(cancel, "streaming check")
        yield i
        if progress is not None:
            progress(i + 1, total)


def stream_encode(
    codec, x24: np.ndarray, progress: Progress | None = None, cancel: CancelCheck | None = None
) -> np.ndarray:
    """x24 [C, T] -> codes [C, n_q, ceil(T / frame_size)] int64, one frame per step."""
    fs = codec.frame_size
    frames = codec.num_frames(x24.shape[1])
    x = np.zeros((x24.shape[0], 1, frames * fs), np.float32)
    x[:, 0, : x24.shape[1]] = x24
    enc = codec.stream_encoder(batch_size=x.shape[0])
    xt = torch.from_numpy(x)
    out = [enc.step(xt[..., i * fs : (i + 1) * fs]) for i in _steps(frames, progress, cancel)]
    return torch.cat(out, dim=-1).cpu().numpy()


def stream_decode(
    codec,
    codes: np.ndarray,
    num_samples: int,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
) -> np.ndarray:
    """codes [C, K, F] -> audio [C, num_samples] float32, one frame per step."""
    dec = codec.stream_decoder(batch_size=codes.shape[0])
    c = torch.from_numpy(np.ascontiguousarray(codes))
    out = [dec.step(c[..., i : i + 1]) for i in _steps(c.shape[-1], progress, cancel)]
    return torch.cat(out, dim=-1)[:, 0, :num_samples].cpu().numpy()


def compare_paths(
    k: int,
    batch_codes: np.ndarray,
    stream_codes: np.ndarray,
    batch_audio: np.ndarray,
    stream_audio: np.ndarray,
    frame_size: int,
) -> StreamCheck:
    """Compare codes [C, n_q, F] of both paths and their decodes [C, T] at K codebooks."""
    n = min(batch_audio.shape[1], stream_audio.shape[1])
    frames = batch_codes.shape[-1]
    whole = n // frame_size
    equal = batch_codes == stream_codes
    diff = (stream_audio[:, :n] - batch_audio[:, :n]).astype(np.float32)
    cut = whole * frame_size
    return StreamCheck(
        k=k,
        frames=frames,
        whole_frames=whole,
        codes_compared=int(equal[..., :whole].size),
        code_match=float(equal[..., :whole].mean()) if whole else 1.0,
        tail_match=float(equal[..., whole:].mean()) if frames > whole else None,
        max_diff=float(np.abs(diff[:, :cut]).max()) if cut else 0.0,
        max_diff_tail=float(np.abs(diff[:, cut:]).max()) if n > cut else 0.0,
        difference=diff,
    )


def describe(check: StreamCheck) -> str:
    """One line for the UI, e.g. 'streaming = offline: codes 100.00 % equal · max |Δ| 3e-07'."""
    text = (
        f"streaming vs offline (K = {check.k}): codes {100 * check.code_match:.2f} % equal "
        f"({check.codes_compared} in {check.whole_frames} whole frames) · "
        f"max |Δ| {check.max_diff:.2g}"
    )
    if check.tail_match is not None:
        text += (
            f" · partial last frame (zero-padded for streaming): codes "
            f"{100 * check.tail_match:.0f} % equal, max |Δ| {check.max_diff_tail:.2g}"
        )
    if check.scope:
        text += f" · {check.scope}"
    return text
