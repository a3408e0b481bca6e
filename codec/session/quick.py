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
import math
import time
from collections.abc import Callable, Iterator

import numpy as np

from ..errors import check_cancelled
from ..model.runner import DecoderRunner, as_tensor
from ..model.threads import torch_threads
from .comparison import Comparison

# decoded before the playhead and thrown away: the decoder's memory fills. Measured with
# the demo codec on the English sample (first piece against the exact decode there,
# median relative difference): 0.24 s 4.8e-2, 0.48 s 4.4e-2, 1 s 2.6e-2, 2 s 1.1e-2; the
# convolutions' state is what matters, the rest is the attention's longer memory, and
# the exact decode replaces all of it within seconds
WARMUP_S = 0.48
AHEAD_S = 0.16  # the first piece the listener hears (2 frames)
# then pieces growing by half each time up to 1.28 s, each given as soon as it is decoded:
# a piece must be ready before the listener reaches it, and it takes up to 0.6 of its own
# length to decode on a busy small CPU, so each may be at most ~1.6x the one before
PIECE_GROWTH = 1.5
PIECE_FRAMES = 16
# torch threads for the quick pieces: a few frames each, while the background metrics keep
# another core busy (codec.model.threads; measured on 2 cores with the other one busy: 20
# frames of full-size Mimi in 1.5-2.2 s on 2 threads, 0.63 s on 1)
QUICK_THREADS = 1
LEAD_MARGIN_S = 0.03  # added to the predicted wait before the first piece is heard


def first_piece_frames(frame_rate: float) -> int:
    """Frames decoded before the first piece can play: the warm-up and the piece."""
    return round(WARMUP_S * frame_rate) + max(1, round(AHEAD_S * frame_rate))


def start_frame(position_s: float, waited_s: float, first_piece_s: float, frame_rate: float) -> int:
    """The frame a playing cursor will be in when the first piece is ready: the playhead at
    the key press (seconds), plus the time the request waited, the decode of the warm-up
    and the first piece, and a margin. The quick decode starts there, so that its first
    piece arrives with the cursor inside its first frame and is heard at once (a piece
    that starts at the key press's frame is partly behind the cursor by then, and the
    listener hears nothing new until the next piece; rounding up to the next frame would
    wait up to a frame more than the decode needs)."""
    ahead = max(waited_s, 0.0) + max(first_piece_s, 0.0) + LEAD_MARGIN_S
    return math.floor((max(position_s, 0.0) + ahead) * frame_rate)


def first_piece_cost(codec, threads: int = QUICK_THREADS) -> float:
    """Seconds to decode a first piece (warm-up and piece, all codebooks) on this machine
    on `threads`: the figure `start_frame` needs before a K switch has measured one."""
    import torch

    n = first_piece_frames(codec.frame_rate)
    codes = torch.zeros(1, codec.num_codebooks, n, dtype=torch.int64)
    with torch_threads(threads):
        # first-call work (allocations, kernels for the shape) untimed
        DecoderRunner(codec.model, chunk_frames=None).push(codes)
        runner = DecoderRunner(codec.model, chunk_frames=None)
        t0 = time.perf_counter()
        runner.push(codes)
    return time.perf_counter() - t0


def quick_decode(
    codec,
    comparison: Comparison,
    k: int,
    frame: int,
    part: str = "all",
    cancel: Callable[[], bool] | None = None,
    on_cost: Callable[[float], None] | None = None,
    threads: int = QUICK_THREADS,
) -> Iterator[tuple[int, np.ndarray, bool]]:
    """Yield (start sample, audio [C, n] float32, exact) pieces of the decode at K from frame
    `frame` to the end, the piece at `frame` first. part: as codec.session.operations.decode
    ("residual": the signal minus the decode). on_cost(seconds) is called once, with what
    the first piece (warm-up included) cost."""
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
    step = max(1, round(AHEAD_S * rate / fs))
    bounds = [w0, min(frames, f0 + step)]
    while bounds[-1] < frames:
        step = min(PIECE_FRAMES, math.ceil(step * PIECE_GROWTH))
        bounds.append(min(frames, bounds[-1] + step))
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        check_cancelled(cancel, "decoding")
        t0 = time.perf_counter()
        with torch_threads(threads):
            y = runner.push(prefix[..., a:b], decode_part)[:, 0].numpy()
        if i == 0 and on_cost is not None:
            on_cost(time.perf_counter() - t0)
        # the warm-up is dropped, unless it starts at the first frame: then all of it is the
        # exact decode, and the caller can keep it whole
        start = f0 if i == 0 and w0 > 0 else a
        y = y[:, (start - a) * fs : max(0, min(b * fs, n) - a * fs)]
        s0 = start * fs
        if part == "residual":
            y = comparison.x24[:, s0 : s0 + y.shape[1]] - y
        y.flags.writeable = False
        yield s0, y, w0 == 0
