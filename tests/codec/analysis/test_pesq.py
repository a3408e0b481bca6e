"""Wideband PESQ (the `pesq` package at 16 kHz): ordered by distortion, resampled from any
rate, NaN with a reason where the ITU code refuses, and part of channel_metrics."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import soxr

from codec.analysis import pesq_process
from codec.analysis.metrics import CHANNEL_METRIC_KEYS, PESQ, channel_metrics, pesq_wb
from tests.helpers.paths import SAMPLES
from tests.helpers.requirements import need_module


@pytest.fixture(scope="module")
def speech():
    """[T] float64 at 48 kHz and 16 kHz: 4 s of the sample English speech."""
    need_module("pesq")
    import soundfile as sf

    x, sr = sf.read(str(SAMPLES / "english_speech.flac"), dtype="float64")
    x = x[: 4 * sr]
    return soxr.resample(x, sr, 48_000), soxr.resample(x, sr, 16_000)


def test_more_noise_scores_lower(speech):
    x48, _ = speech
    rng = np.random.default_rng(0)
    n = rng.normal(size=len(x48)) * np.std(x48)
    scores = [pesq_wb(x48, x48 + a * n, 48_000).value for a in (0.0, 0.01, 0.1, 0.5)]
    assert scores[0] > 4.5  # identical speech: the top of the scale (4.64)
    assert scores == sorted(scores, reverse=True) and scores[-1] < 2.0


def test_any_rate_agrees_with_pesq_at_16k(speech):
    pesq = need_module("pesq")
    x48, x16 = speech
    rng = np.random.default_rng(1)
    n48 = 0.05 * np.std(x48) * rng.normal(size=len(x48))
    y48 = x48 + n48
    direct = pesq.pesq(
        16_000, x16.astype(np.float32), soxr.resample(y48, 48_000, 16_000).astype(np.float32), "wb"
    )
    assert pesq_wb(x48, y48, 48_000).value == pytest.approx(direct, abs=0.05)


def test_undefined_is_nan_with_a_reason(speech):
    x48, _ = speech
    short = pesq_wb(x48[:4000], x48[:4000], 48_000)  # 83 ms
    assert math.isnan(short.value) and f"{PESQ['min_seconds']} s" in short.reason
    silent = pesq_wb(np.zeros(48_000), x48[:48_000], 48_000)
    assert math.isnan(silent.value) and "silent" in silent.reason
    rng = np.random.default_rng(2)
    tone = 1e-4 * rng.normal(size=96_000)  # no speech in it at all
    s = pesq_wb(tone, tone, 48_000)
    assert math.isnan(s.value) == bool(s.reason)
    empty = pesq_wb(np.zeros(0), np.zeros(0), 48_000)
    assert math.isnan(empty.value) and empty.reason


def test_in_channel_metrics(speech):
    x48, _ = speech
    m = channel_metrics(x48[:96_000], 0.5 * x48[:96_000], 48_000)
    assert tuple(m) == CHANNEL_METRIC_KEYS and CHANNEL_METRIC_KEYS[-1] == "pesq_wb"
    assert m["pesq_wb"] > 4.0  # PESQ aligns levels: a gain alone costs little


def test_a_long_pair_is_scored_in_pieces_the_itu_code_can_take(monkeypatch):
    """Past PESQ["max_seconds"] the ITU code gets equal pieces (its utterance tables have a
    fixed size and it overflows them on long input), and the score is their mean."""
    pesq = need_module("pesq")
    import soundfile as sf

    x, sr = sf.read(str(SAMPLES / "english_speech.flac"), dtype="float64")
    x16 = soxr.resample(x, sr, 16_000)
    x16 = np.tile(x16, math.ceil(40 * 16_000 / len(x16)))[: 40 * 16_000]  # 40 s of speech
    y16 = x16 + 0.03 * np.std(x16) * np.random.default_rng(3).normal(size=len(x16))
    calls = []
    real = pesq_process.itu_pesq

    def recording(rate, ref, deg, mode):
        calls.append(len(ref))
        return real(rate, ref, deg, mode)

    monkeypatch.setattr(pesq_process, "itu_pesq", recording)
    got = pesq_wb(x16, y16, 16_000)
    assert len(calls) == 3 and max(calls) <= PESQ["max_seconds"] * 16_000
    assert sum(calls) == len(x16)  # consecutive pieces, nothing left out
    bounds = np.cumsum([0, *calls])
    pieces = [
        pesq.pesq(16_000, x16[a:b].astype(np.float32), y16[a:b].astype(np.float32), "wb")
        for a, b in itertools.pairwise(bounds)
    ]
    assert got.value == pytest.approx(np.mean(pieces), abs=1e-6) and not got.reason
