"""Driving the live engine in tests: a streaming reference, a runner thread, waiting."""

from __future__ import annotations

import threading
import time

import numpy as np
import torch

from codec.model.threads import torch_threads


def reference(codec, x: np.ndarray, ks: list[int], threads: int, hops: bool = True) -> np.ndarray:
    """The hop-by-hop streaming decode of x at K = ks[i] for frame i (what the engine runs;
    tests/codec/model/test_hop_stream.py checks it against the frame stream and the batch
    decode), on `threads` torch threads (the engine's count: another count rounds its
    matmuls differently). hops=False: whole frames, as the engine codes them where hops
    would not keep up."""
    stream = codec.hop_stream()
    out = []
    with torch_threads(threads):
        for i, k in enumerate(ks):
            frame = torch.from_numpy(x[i * 1920 : (i + 1) * 1920]).view(1, 1, -1)
            for h in frame.split(stream.hop if hops else 1920, dim=-1):
                codes = stream.encode(h, levels=k)
            out.extend(y[0, 0].numpy() for y in stream.decode(codes, whole=not hops))
    return np.concatenate(out)


def start(engine):
    engine.open()
    box = {}
    # a daemon: a test that fails before stopping the engine must not hang the run at exit
    t = threading.Thread(target=lambda: box.setdefault("r", engine.run()), daemon=True)
    t.start()
    return t, box


def wait_frames(engine, n, timeout=30.0):
    t0 = time.monotonic()
    while engine.stats.frames < n:
        assert time.monotonic() - t0 < timeout, "live engine stalled"
        time.sleep(0.002)


def pump_frames(stream, engine, n: int, wait: bool = True) -> None:
    """Pump a duplex fake stream for n codec frames' worth of blocks. With `wait`, after
    each block the engine takes it in (and codes any frame it completes) before the next
    callback: compute costs no time, so the engine's own delay is exactly one frame (plus
    what a resampler holds back)."""
    per_frame = 1920 * round(stream.samplerate) // 24_000
    assert per_frame % stream.blocksize == 0
    for _ in range(n * per_frame // stream.blocksize):
        stream.pump()
        if wait:
            wait_until(lambda: engine.consumed == stream.pos)


class StallingCodec:
    """A codec whose streaming encoder blocks at frame `stall_at` until `release` is set:
    an injected stall (a busy machine, a page fault) at a known frame."""

    def __init__(self, codec, stall_at: int) -> None:
        self._codec, self.stall_at = codec, stall_at
        self.release = threading.Event()
        self.stalled = threading.Event()  # set once the encoder is waiting

    def __getattr__(self, name):
        return getattr(self._codec, name)

    def hop_stream(self):
        stream, outer = self._codec.hop_stream(), self

        class Stream:
            hop, hops = stream.hop, stream.hops

            @property
            def pending(self):
                return stream.pending

            def encode(self, x, levels=None):
                if stream.frames == outer.stall_at and stream.pending == 0:
                    outer.stalled.set()
                    outer.release.wait(30)
                return stream.encode(x, levels)

            def all_codes(self):
                return stream.all_codes()

            def decode(self, codes, whole=False):
                return stream.decode(codes, whole)

        return Stream()


def wait_until(cond, timeout=30.0):
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, "condition not reached"
        time.sleep(0.002)
