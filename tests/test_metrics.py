"""Metrics on signals with known answers."""

from __future__ import annotations

import numpy as np

from codec.metrics import mel_distance, si_sdr, si_sdr_aligned, stoi

from .helpers import speechlike


def _sig(seconds=2.0, seed=0) -> np.ndarray:
    return speechlike(seconds, seed=seed)[0, 0].numpy().astype(np.float64)


def test_identical_signals():
    x = _sig()
    assert si_sdr(x, x) > 100
    assert mel_distance(x, x, 24_000) == 0.0
    assert stoi(x, x, 24_000) > 0.99


def test_white_noise_at_10_db():
    x = _sig()
    rng = np.random.default_rng(0)
    n = rng.normal(size=len(x))
    xc = x - x.mean()
    n *= np.sqrt(np.dot(xc, xc) / np.dot(n, n) / 10)  # exactly 10 dB below
    assert abs(si_sdr(x, x + n) - 10.0) < 0.2


def test_known_delay_is_found():
    x = _sig(seed=3)
    delayed = np.concatenate([np.zeros(137), x])[: len(x)]
    raw = si_sdr(x, delayed)
    aligned, lag = si_sdr_aligned(x, delayed)
    assert lag == 137 and aligned > 40 and raw < 10


def test_more_distortion_scores_worse():
    x = _sig(seed=5)
    rng = np.random.default_rng(1)
    light = x + 0.01 * rng.normal(size=len(x))
    heavy = x + 0.1 * rng.normal(size=len(x))
    assert mel_distance(x, light, 24_000) < mel_distance(x, heavy, 24_000)
    assert stoi(x, light, 24_000) > stoi(x, heavy, 24_000)
