"""A new codebook count heard at once: decode where the listener is, before the exact decode.

Decoding a whole file at a new K takes a while (a 10-minute file: seconds with the demo
codec, tens of seconds with the full-size Mimi on a small CPU), and the listener wants the
new K now. So a fresh decoder starts a little before the playhead, gives the part just
ahead of the playhead first (`AHEAD_S`), then carries on to the end in pieces; the caller
then makes the exact decode from the start and swaps it in.

The decoder remembers two things, and the fresh one is given both before the playhead:
its convolutions reach back a few frames (`WARMUP_S` of full decode, thrown away), and its
transformer's attention reaches back 10 s (Mimi's window). The attention's memory is fed
to the transformer alone (`DecoderRunner.remember`, no SEANet decoder), as many frames as
fit in `MEMORY_BUDGET_S` on this machine, up to the whole window: then the quick part is
the exact decode up to float rounding and the deeper layers' longer reach (measured with
the demo codec 7 minutes into a file, K = 3: 0.5-1 % from the exact decode, against 40-60 %
with the convolutions' warm-up alone). Where the warm-up reaches back to the first frame
the quick part is the exact decode.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import check_cancelled
from ..model.runner import DecoderRunner, as_tensor
from ..model.threads import torch_threads
from .comparison import Comparison

# decoded in full before the playhead and thrown away: the convolutions' state. Measured
# 7 minutes into a file, the attention's memory given (K = 3, first 0.2 s of the quick part
# against the exact decode, relative difference): demo codec 0.25 (2 frames), 0.01 (4),
# 0.005 (6); full-size random weights 0.38, 0.004, 0.004
WARMUP_S = 0.48
# seconds of the first piece's decode spent on the attention's memory, at most (the
# transformer over frames before the warm-up; measured on one thread of a slow 2-core
# VM: the demo codec's whole 10 s window in 26 ms, full-size Mimi 3.6 ms a frame)
MEMORY_BUDGET_S = 0.04
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


@dataclass(frozen=True)
class QuickPlan:
    """How a K switch's first piece is decoded on this machine: `memory_frames` frames
    given to the attention only, then the warm-up and the piece in full; `cost_s`, the
    seconds all of that takes (what `start_frame` needs)."""

    memory_frames: int
    cost_s: float


def first_piece_frames(frame_rate: float) -> int:
    """Frames decoded in full before the first piece can play: the warm-up and the piece."""
    return round(WARMUP_S * frame_rate) + max(1, round(AHEAD_S * frame_rate))


def window_frames(codec) -> int:
    """Frames the decoder's attention reaches back (its window, in codec frames)."""
    cfg = codec.model.cfg
    return math.ceil(cfg.context / cfg.resample_stride)


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


def plan_first_piece(codec, threads: int = QUICK_THREADS) -> QuickPlan:
    """Time the attention's memory per frame and a first piece on `threads` here: the
    memory is as many frames as `MEMORY_BUDGET_S` allows, up to the window."""
    import torch

    n, probe = first_piece_frames(codec.frame_rate), 8
    codes = torch.zeros(1, codec.num_codebooks, probe + n, dtype=torch.int64)
    with torch_threads(threads):
        # first-call work (allocations, kernels for the shapes) untimed
        warm = DecoderRunner(codec.model, chunk_frames=None)
        warm.remember(codes[..., :probe])
        warm.push(codes[..., :n])
        runner = DecoderRunner(codec.model, chunk_frames=None)
        t0 = time.perf_counter()
        runner.remember(codes[..., :probe])
        per_frame = (time.perf_counter() - t0) / probe
        memory = min(window_frames(codec), int(MEMORY_BUDGET_S / max(per_frame, 1e-6)))
        codes = torch.zeros(1, codec.num_codebooks, memory + n, dtype=torch.int64)
        runner = DecoderRunner(codec.model, chunk_frames=None)
        t0 = time.perf_counter()
        runner.remember(codes[..., :memory])
        runner.push(codes[..., memory:])
    return QuickPlan(memory, time.perf_counter() - t0)


def quick_decode(
    codec,
    comparison: Comparison,
    k: int,
    frame: int,
    part: str = "all",
    cancel: Callable[[], bool] | None = None,
    on_cost: Callable[[float], None] | None = None,
    threads: int = QUICK_THREADS,
    memory_frames: int | None = None,
) -> Iterator[tuple[int, np.ndarray, bool]]:
    """Yield (start sample, audio [C, n] float32, exact) pieces of the decode at K from frame
    `frame` to the end, the piece at `frame` first. part: as codec.session.operations.decode
    ("residual": the signal minus the decode). on_cost(seconds) is called once, with what
    the first piece (memory and warm-up included) cost. memory_frames: frames before the
    warm-up given to the attention only (QuickPlan; None: the whole window)."""
    import torch

    codes = comparison.codes
    if codes is None:
        raise ValueError("nothing is encoded yet")
    frames, fs, rate = codes.shape[-1], codec.frame_size, codec.sample_rate
    f0 = min(max(int(frame), 0), frames - 1)
    w0 = max(0, f0 - round(WARMUP_S * rate / fs))
    memory = window_frames(codec) if memory_frames is None else max(0, int(memory_frames))
    m0 = max(0, w0 - memory)
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
            if i == 0:  # the attention's memory (nothing before the first frame)
                runner.remember(prefix[..., m0:w0], decode_part)
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
