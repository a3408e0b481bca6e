"""A new codebook count heard at once: decode where the listener is, before the exact decode.

Decoding a whole file at a new K takes a while (a 10-minute file: seconds with the demo
codec, tens of seconds with the full-size Mimi on a small CPU), and the listener wants the
new K now. So the decode starts `WARMUP_S` before the playhead with a fresh decoder, gives
the part just ahead of the playhead first (`AHEAD_S`), then carries on to the end in pieces;
the caller then makes the exact decode from the start and swaps it in. The decoder's memory
is its convolutions (a few frames) and its transformer's attention window (10 s for Mimi):
after the warm-up the quick part is close to the exact one (measured in the tests), and
where the warm-up reaches back to the first frame it is the exact decode.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import numpy as np

from ..model.runner import DecoderRunner, as_tensor
from .comparison import Comparison

WARMUP_S = 1.0  # decoded before the playhead and thrown away: the decoder's memory fills
AHEAD_S = 0.64  # the first piece the listener hears (8 frames: decoded in ~0.15 s at full size)
PIECE_FRAMES = 16  # then pieces of 1.28 s, each one given as soon as it is decoded


def quick_decode(
    codec,
    comparison: Comparison,
    k: int,
    frame: int,
    part: str = "all",
    cancel: Callable[[], bool] | None = None,
) -> Iterator[tuple[int, np.ndarray, bool]]:
    """Yield (start sample, audio [C, n] float32, exact) pieces of the decode at K from frame
    `frame` to the end, the piece at `frame` first. part: as codec.session.operations.decode
    ("residual": the signal minus the decode)."""
    import torch

    codes = comparison.codes
    if codes is None:
        raise ValueError("nothing is encoded yet")
    frames, fs, rate = codes.shape[-1], codec.frame_size, codec.sample_rate
    f0 = min(max(int(frame), 0), frames - 1)
    w0 = max(0, f0 - round(WARMUP_S * rate / fs))
    runner = DecoderRunner(codec.model, chunk_frames=None)
    prefix = as_tensor(codes[:, :k], torch.int64)
    decode_part = "all" if part == "residual" else part
    n = comparison.num_samples
    bounds = [w0, min(frames, f0 + max(1, round(AHEAD_S * rate / fs)))]
    while bounds[-1] < frames:
        bounds.append(min(frames, bounds[-1] + PIECE_FRAMES))
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        if cancel is not None and cancel():
            from ..errors import Cancelled

            raise Cancelled("decoding cancelled")
        y = runner.push(prefix[..., a:b], decode_part)[:, 0].numpy()
        # the warm-up is dropped, unless it starts at the first frame: then all of it is the
        # exact decode, and the caller can keep it whole
        start = f0 if i == 0 and w0 > 0 else a
        y = y[:, (start - a) * fs : max(0, min(b * fs, n) - a * fs)]
        s0 = start * fs
        if part == "residual":
            y = comparison.x24[:, s0 : s0 + y.shape[1]] - y
        y.flags.writeable = False
        yield s0, y, w0 == 0
