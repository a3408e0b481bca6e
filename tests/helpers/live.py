"""Driving the live engine in tests: a streaming reference, a runner thread, waiting."""

from __future__ import annotations

import threading
import time

import numpy as np
import torch


def reference(codec, x: np.ndarray, ks: list[int]) -> np.ndarray:
    enc, dec = codec.stream_encoder(), codec.stream_decoder()
    out = []
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
