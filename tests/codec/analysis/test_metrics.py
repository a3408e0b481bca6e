"""Metrics on signals with known answers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from codec.analysis.metrics import (
    CHANNEL_METRIC_KEYS,
    LOUDNESS,
    channel_metrics,
    compare,
    crest_factor_db,
    integrated_loudness,
    loudness_match_gain_db,
    mel_distance,
    mrstft_distance,
    peak_dbfs,
    si_sdr,
    si_sdr_aligned,
    stoi,
    token_stats,
)
from codec.analysis.token_stats import TOKEN_STAT_KEYS
from tests.helpers.signals import speechlike


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


# --- channel_metrics / compare / loudness / token statistics (issue 5) ------------------

SR = 24_000


def _sine(seconds: float, amp: float, f: float = 997.0, sr: int = SR) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    return amp * np.sin(2 * np.pi * f * t)


def test_channel_metrics_keys_and_identity():
    x = _sig(seed=7)
    m = channel_metrics(x, x, SR)
    assert tuple(m) == CHANNEL_METRIC_KEYS
    assert set(m) == {
        "si_sdr",
        "si_sdr_aligned",
        "lag_samples",
        "mel_distance",
        "mrstft_distance",
        "stoi",
        "lufs_ref",
        "lufs_est",
        "loudness_diff_lu",
        "peak_dbfs_ref",
        "peak_dbfs_est",
        "crest_db_ref",
        "crest_db_est",
        "pesq_wb",
    }
    assert all(isinstance(v, float) for v in m.values())
    assert m["si_sdr"] > 100 and m["si_sdr_aligned"] > 100 and m["lag_samples"] == 0
    assert m["mel_distance"] == 0.0 and m["mrstft_distance"] == 0.0
    assert m["loudness_diff_lu"] == 0.0 and m["lufs_ref"] == m["lufs_est"]
    assert m["peak_dbfs_ref"] == m["peak_dbfs_est"] and m["stoi"] > 0.99


def test_channel_metrics_noise_at_10_db_and_delay():
    x = _sig(seed=2)
    rng = np.random.default_rng(4)
    n = rng.normal(size=len(x))
    xc = x - x.mean()
    n *= np.sqrt(np.dot(xc, xc) / np.dot(n, n) / 10)
    assert abs(channel_metrics(x, x + n, SR)["si_sdr"] - 10.0) < 0.2
    late = np.concatenate([np.zeros(241), x])[: len(x)]
    m = channel_metrics(x, late, SR)
    assert m["lag_samples"] == 241 and m["si_sdr_aligned"] > 40 and m["si_sdr"] < 10
    early = x[97:]
    assert channel_metrics(x, early, SR)["lag_samples"] == -97  # trimmed to the same length


def test_mrstft_grows_with_distortion():
    x = _sig(seed=8)
    rng = np.random.default_rng(2)
    light = x + 0.01 * rng.normal(size=len(x))
    heavy = x + 0.1 * rng.normal(size=len(x))
    assert 0 < mrstft_distance(x, light) < mrstft_distance(x, heavy)


def test_sine_levels_match_bs1770():
    # BS.1770: a 997 Hz sine at 0 dBFS peak reads -3.01 LUFS; its crest factor is 3.01 dB.
    x = _sine(3.0, 0.5)
    assert abs(integrated_loudness(x, SR) - (-3.01 - 6.02)) < 0.1
    assert abs(peak_dbfs(x) - (-6.02)) < 0.01
    assert abs(crest_factor_db(x) - 3.01) < 0.01


def test_minus_6_db_gain():
    x = _sig(seed=9)
    quiet = x * 10 ** (-6 / 20)
    m = channel_metrics(x, quiet, SR)
    assert abs(m["loudness_diff_lu"] - (-6.0)) < 0.1
    assert abs(m["peak_dbfs_est"] - m["peak_dbfs_ref"] - (-6.0)) < 0.01
    assert abs(m["crest_db_est"] - m["crest_db_ref"]) < 0.01  # gain does not change crest
    assert m["si_sdr"] > 100  # scale-invariant
    stereo = np.stack([x, _sig(seed=10)])
    stereo_quiet = stereo * 10 ** (-6 / 20)
    assert abs(loudness_match_gain_db(stereo, stereo_quiet, SR) - 6.0) < 0.1
    per_channel = compare(stereo, stereo_quiet, SR)
    assert len(per_channel) == 2
    assert all(abs(m["loudness_diff_lu"] + 6.0) < 0.1 for m in per_channel)


def test_silence_reads_floors_not_nan():
    z = np.zeros(SR)
    x = _sig(1.0, seed=11)
    assert integrated_loudness(z, SR) == LOUDNESS["floor_lufs"]
    assert peak_dbfs(z) == LOUDNESS["floor_dbfs"] and crest_factor_db(z) == 0.0
    assert loudness_match_gain_db(z[None], x[None], SR) == 0.0
    assert loudness_match_gain_db(x[None], z[None], SR) == 0.0
    for ref, est in ((z, z), (x, z), (z, x)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # no 0/0 or log(0) on the way
            m = channel_metrics(ref, est, SR)
        undefined = ("stoi", "pesq_wb", "si_sdr", "si_sdr_aligned")  # of silence: NaN or inf
        finite = {k: v for k, v in m.items() if k not in undefined}
        assert all(np.isfinite(v) for v in finite.values()), m
    assert np.isnan(channel_metrics(z, x, SR)["stoi"])  # STOI of a silent reference: undefined


def test_short_clips_do_not_crash():
    # Shorter than pyloudnorm's 400 ms block: measured as one block over the whole clip.
    short = _sine(0.2, 0.5)
    assert abs(integrated_loudness(short, SR) - integrated_loudness(_sine(3.0, 0.5), SR)) < 0.5
    for n in (1, 50, 2_000, 9_000):
        x = _sig(1.0, seed=12)[:n]
        m = channel_metrics(x, 0.5 * x, SR)
        assert np.isnan(m["stoi"])  # pystoi needs >= STOI_MIN_SECONDS
        assert all(np.isfinite(m[k]) for k in ("lufs_ref", "lufs_est", "mel_distance"))
        assert all(np.isfinite(m[k]) for k in ("mrstft_distance", "peak_dbfs_est"))
    m = channel_metrics(np.zeros(0), np.zeros(0), SR)  # empty: no exception
    assert np.isnan(m["si_sdr"])


def test_token_stats_four_of_2048_uniform():
    used = np.array([3, 700, 1500, 2047])
    cyclic = np.tile(used, 250)  # changes at every frame
    runs = np.repeat(used, 250)  # changes 3 times in 999 transitions
    constant = np.full(1000, 5)
    stats = token_stats(np.stack([cyclic, runs, constant]), 2048, 12.5)
    assert [s["codebook"] for s in stats] == [0, 1, 2]
    for s in stats:
        assert set(s) == set(TOKEN_STAT_KEYS)
        assert s["nominal_bitrate"] == 137.5  # log2(2048) x 12.5
    for s in stats[:2]:
        assert s["used_share"] == 4 / 2048
        assert abs(s["entropy_bits"] - 2.0) < 1e-12
        assert abs(s["ideal_bitrate"] - 25.0) < 1e-9
    assert stats[0]["change_rate"] == 1.0
    assert abs(stats[1]["change_rate"] - 3 / 999) < 1e-12
    assert stats[2]["entropy_bits"] == 0.0 and stats[2]["change_rate"] == 0.0
    assert stats[2]["used_share"] == 1 / 2048


def test_token_stats_demo_size_and_bad_input():
    rng = np.random.default_rng(0)
    stats = token_stats(rng.integers(0, 256, size=(2, 5)), 256, 12.5)
    assert stats[0]["nominal_bitrate"] == 100.0  # 8 bits x 12.5 frames/s
    assert 0 < stats[0]["entropy_bits"] <= np.log2(5) + 1e-12
    one = token_stats(np.zeros((1, 1), int), 256, 12.5)[0]
    assert np.isnan(one["change_rate"]) and one["entropy_bits"] == 0.0
    with pytest.raises(ValueError):
        token_stats(np.array([[0, 256]]), 256, 12.5)
    with pytest.raises(ValueError):
        token_stats(np.zeros(4, int), 256, 12.5)


def test_channel_metrics_stop_between_metrics_when_cancelled(monkeypatch):
    """cancel() is asked before each metric: once true, no further metric runs (a window
    closing mid-way through a long file's metrics waits only for the one in hand)."""
    from codec.analysis import metrics
    from codec.errors import Cancelled

    ran, stop = [], [False]
    real_stoi = metrics.stoi

    def stoi(*args):
        ran.append("stoi")
        stop[0] = True  # e.g. the window closes while STOI runs
        return real_stoi(*args)

    monkeypatch.setattr(metrics, "stoi", stoi)
    monkeypatch.setattr(metrics, "pesq_wb", lambda *a: pytest.fail("measured after cancel"))
    x = np.random.default_rng(2).standard_normal(SR).astype(np.float32) * 0.1
    with pytest.raises(Cancelled):
        metrics.channel_metrics(x, x, SR, cancel=lambda: stop[0])
    assert ran == ["stoi"]
    monkeypatch.undo()
    assert metrics.channel_metrics(x, x, SR, cancel=lambda: False)["si_sdr"] > 100
