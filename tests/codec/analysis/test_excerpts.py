"""Metrics of long signals on excerpts: where the excerpts lie, and that an excerpt decoded
on its own after the warm-up equals the full decode there."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codec.analysis import excerpts
from codec.audio import load_audio, resample
from codec.session.operations import decode_signal
from tests.helpers.paths import SAMPLES


def test_excerpts_spread_evenly_from_start_to_end():
    r = excerpts.excerpt_frames(90_000, 12.5)  # two hours
    assert len(r) == excerpts.COUNT
    assert r[0][0] == 0 and r[-1][1] == 90_000
    assert all(f1 - f0 == round(excerpts.SECONDS * 12.5) for f0, f1 in r)
    gaps = np.diff([f0 for f0, _ in r])
    assert gaps.max() - gaps.min() <= 1
    assert "8 excerpts of 10 s (1.3 of 120.0 min)" in excerpts.describe(r, 90_000, 12.5)


def test_a_short_signal_is_one_excerpt():
    r = excerpts.excerpt_frames(100, 12.5)
    assert r == [(0, 100)] and excerpts.describe(r, 100, 12.5) == ""


def test_excerpt_decode_after_warm_up_equals_the_full_decode():
    """Demo codec (context 250 steps = 10 s), real speech: after the 20 s warm-up the
    excerpts match the full decode to float precision; without warm-up they do not (so
    the test can tell)."""
    from codec import load_codec

    codec = load_codec("demo", "cpu")
    a = load_audio(SAMPLES / "english_speech.flac")
    x = resample(a.samples, a.sample_rate, 24_000)
    x = np.concatenate([x, x[:, ::-1], x], axis=1)[:, :-555]  # ~40 s, partial last frame
    codes = codec.encode(torch.from_numpy(np.ascontiguousarray(x))[:, None]).numpy()
    full = decode_signal(codec, torch.from_numpy(codes[:, :8]), x.shape[1])
    ranges = excerpts.excerpt_frames(codes.shape[-1], codec.frame_rate, count=3, seconds=3.0)
    want = excerpts.take(full, ranges, codec.frame_size)
    got = excerpts.decode(codec, codes[:, :8], ranges, x.shape[1])
    assert got.shape == want.shape == excerpts.take(x, ranges, codec.frame_size).shape
    scale = np.abs(want).max()
    assert np.abs(got - want).max() < 1e-4 * scale
    cold = excerpts.decode(codec, codes[:, :8], ranges, x.shape[1], warmup_s=0.0)
    assert np.abs(cold - want).max() > 1e-2 * scale


@pytest.mark.parametrize("n", [1, 7])
def test_take_concatenates_the_ranges(n):
    x = np.arange(3 * 40, dtype=np.float32).reshape(3, 40)
    got = excerpts.take(x, [(0, 1), (3, 5)], n)
    np.testing.assert_array_equal(got, np.concatenate([x[:, :n], x[:, 3 * n : 5 * n]], 1))
