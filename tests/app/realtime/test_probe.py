"""The latency probe: a chirp found twice in what came back, or a clear reason why not."""

from __future__ import annotations

import numpy as np
import pytest

from app.realtime.probe import ProbeError, ProbeRun, chirp, find_arrivals

RATE = 24_000


def room(delays: list[int], gains: list[float], n: int, noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    p = chirp(RATE)
    x = noise * rng.standard_normal(n).astype(np.float32)
    for d, g in zip(delays, gains, strict=True):
        x[d : d + len(p)] += g * p
    return x, p


def test_two_arrivals_are_found_to_the_sample_in_noise():
    x, p = room([1234, 1234 + 2711], [0.8, 0.25], RATE, noise=0.02)
    i1, i2, clarity = find_arrivals(x, p, min_gap=int(0.06 * RATE))
    assert (i1, i2) == (1234, 1234 + 2711)
    assert clarity > 6


def test_not_heard_and_heard_once_say_so():
    x, p = room([], [], RATE, noise=0.05)
    with pytest.raises(ProbeError, match="not heard"):
        find_arrivals(x, p, 1440)
    x, p = room([3000], [0.8], RATE, noise=0.005)
    with pytest.raises(ProbeError, match="once"):
        find_arrivals(x, p, 1440)


def test_a_run_reports_the_loop_delay_in_input_indices():
    """The run plays the chirp once; the loop (delay d) returns it, the monitor plays that
    back and it comes in again one loop later; whatever came in before is ignored."""
    d, block = 2160, 120  # 90 ms
    run = ProbeRun(RATE, readout_ms=91.0)
    played = np.zeros(0, np.float32)
    heard = np.zeros(0, np.float32)
    index = 5000  # input samples before the measurement began
    while not run.done:
        out = run.mix(heard[-block:] if len(heard) >= block else np.zeros(block, np.float32))
        played = np.concatenate([played, out])
        k = len(heard)
        # what the mic hears now is what was played d samples ago
        src = played[k - d : k - d + block] if k >= d else np.zeros(block, np.float32)
        src = np.pad(src, (0, block - len(src)))
        heard = np.concatenate([heard, src])
        run.record(src, index + k)
    res = run.result()
    # the monitor plays each input block one block later: the loop is d + block
    assert abs(res.latency_ms - 1000 * (d + block) / RATE) < 0.1
    assert res.first >= index and res.second - res.first == d + block
    assert res.readout_ms == 91.0
