"""The live loop's streaming resampler against scipy's one-shot polyphase resampler."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from app.realtime.resampler import LiveResampler


def tone_mix(rate: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 3100 * t + 1.0)
    return (x * np.hanning(len(t))).astype(np.float32)


@pytest.mark.parametrize(
    ("rin", "rout"), [(48_000, 24_000), (24_000, 48_000), (44_100, 24_000), (24_000, 44_100)]
)
def test_matches_scipy_and_is_aligned(rin, rout):
    x = tone_mix(rin, 0.5)
    r = LiveResampler(rin, rout)
    y = np.concatenate([r.process(x), r.process(np.zeros(rin // 100, np.float32))])
    ref = signal.resample_poly(x.astype(np.float64), rout, rin)  # zero-phase, whole signal
    n = len(ref)
    assert len(y) >= n
    err = np.abs(y[:n] - ref).max()
    assert err < 3e-3, err  # same filter family, different lengths: close, not equal
    assert r.delay_s < 0.0015


@pytest.mark.parametrize(("rin", "rout"), [(48_000, 24_000), (44_100, 24_000), (24_000, 44_100)])
def test_chunking_does_not_change_the_output_and_chunks_are_even(rin, rout):
    x = tone_mix(rin, 0.64)
    whole = LiveResampler(rin, rout).process(x)
    r = LiveResampler(rin, rout)
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.integers(0, len(x), 40))
    parts = [r.process(p) for p in np.split(x, cuts)]
    assert np.array_equal(np.concatenate(parts), whole)
    # an 80 ms frame in gives 80 ms out, give or take one sample (after the first)
    r = LiveResampler(rin, rout)
    frame = int(0.08 * rin)
    sizes = [len(r.process(x[i : i + frame])) for i in range(0, len(x) - frame + 1, frame)]
    want = 0.08 * rout
    assert all(abs(s - want) <= 1 for s in sizes[1:]), sizes
