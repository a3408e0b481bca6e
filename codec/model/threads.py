"""How many torch threads a small, repeated step should run on.

On a small CPU a streaming step (one 80 ms frame) or a quick decode of a few frames is
dominated by per-op overhead, and a second intra-op thread gains little. When anything else
keeps a core busy (the app's background metrics, another program), the threads of one op
wait for each other at every op: measured on a 2-core CPU with the other core busy, the
demo codec's streaming step took a median 50-64 ms on 2 threads (p95 118-134 ms) against
18 ms on 1 (p95 35-43 ms). So such steps run on the fewest threads that keep up, and
`fastest_threads` times the choice instead of guessing it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block on at most `n` torch intra-op threads, then restore the count.
    (The count is process-wide: use it where one thread does the torch work.)"""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, min(n, before)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fastest_threads(
    make_step: Callable[[], Callable[[], object]],
    warmup: int = 3,
    timed: int = 6,
    prefer_fewer: float = 1.15,
) -> tuple[int, dict[int, float]]:
    """Time a step on 1 thread and on the current count; return (threads, {threads: median
    ms}). `make_step()` gives a fresh step callable (its own state). Fewer threads win
    unless the others are `prefer_fewer` times faster: they hold up better under load."""
    most = torch.get_num_threads()
    times: dict[int, float] = {}
    for n in sorted({1, most}):
        with torch_threads(n):
            step = make_step()
            for _ in range(warmup):
                step()
            ts = []
            for _ in range(timed):
                t0 = time.perf_counter()
                step()
                ts.append(time.perf_counter() - t0)
        times[n] = float(np.median(ts) * 1000)
    best = 1 if times[1] <= prefer_fewer * times[most] else most
    return best, times
