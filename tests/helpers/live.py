"""Driving the live engine in tests: a streaming reference, a runner thread, waiting."""

from __future__ import annotations

import threading
import time

import numpy as np
import torch

from codec.model.threads import torch_threads


def reference(codec, x: np.ndarray, ks: list[int], threads: int) -> np.ndarray:
    """The streaming decode of x at K = ks[i] for frame i, on `threads` torch threads (the
    engine's count: another count rounds its matmuls differently)."""
    enc, dec = codec.stream_encoder(), codec.stream_decoder()
    out = []
    with torch_threads(threads):
        for i, k in enumerate(ks):
            frame = torch.from_numpy(x[i * 1920 : (i + 1) * 1920]).view(1, 1, -1)
            out.append(dec.step(enc.step(frame)[:, :k])[0, 0].numpy())
    return np.concatenate(out)


def start(engine):
    engine.open()
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("r", engine.run()))
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

    def stream_encoder(self):
        enc, outer = self._codec.stream_encoder(), self

        class Encoder:
            n = 0

            def step(self, x):
                if self.n == outer.stall_at:
                    outer.stalled.set()
                    outer.release.wait(30)
                self.n += 1
                return enc.step(x)

        return Encoder()


def wait_until(cond, timeout=30.0):
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, "condition not reached"
        time.sleep(0.002)
