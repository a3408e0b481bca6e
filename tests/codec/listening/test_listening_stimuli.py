"""Stimuli: the BS.1534-3 anchors' spectra, excerpts, decodes equal to the full decode,
loudness matching without clipping, the objective scores."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import correlate, welch

from codec.analysis.metrics import integrated_loudness, peak_dbfs
from codec.listening import conditions as cn
from codec.listening import objective, stimuli
from codec.session import operations as ops
from codec.session.comparison import Comparison
from tests.helpers.requirements import need
from tests.helpers.signals import speechlike

SR = 24_000


def _band_energy(x: np.ndarray, rate: int, lo: float, hi: float) -> float:
    f, p = welch(x, rate, nperseg=8192)
    return float(p[(f >= lo) & (f < hi)].sum())


@pytest.mark.parametrize(("name", "cutoff"), [("anchor35", 3500.0), ("anchor70", 7000.0)])
@pytest.mark.parametrize("signal", ["noise", "speechlike"])
def test_anchor_stop_band_is_40_db_down(name, cutoff, signal):
    rng = np.random.default_rng(3)
    x = (
        0.3 * rng.normal(size=(1, 6 * SR))
        if signal == "noise"
        else speechlike(6.0, SR, seed=2)[0].numpy()
    ).astype(np.float32)
    c = Comparison("x", x, SR)
    y = stimuli.render(None, c, name, 0, x.shape[1])
    assert y.shape == x.shape
    above = _band_energy(y[0], SR, cutoff, SR / 2) / _band_energy(x[0], SR, cutoff, SR / 2)
    assert 10 * math.log10(above) <= -40.0
    # the pass band (below the 200 Hz transition) is kept within 0.1 dB
    lo_band = cutoff - stimuli.ANCHOR_FILTER["transition_hz"] - 50
    kept = _band_energy(y[0], SR, 50, lo_band) / _band_energy(x[0], SR, 50, lo_band)
    assert abs(10 * math.log10(kept)) < 0.1
    # zero phase: the anchor is not delayed against the reference
    xc = correlate(y[0], x[0], mode="full", method="fft")
    assert int(np.argmax(xc)) - (x.shape[1] - 1) == 0


def test_excerpt_range():
    assert stimuli.excerpt_range(10 * SR, SR, 1.0, 3.0) == (SR, 3 * SR)
    assert stimuli.excerpt_range(20 * SR, SR, 2.0, 19.0) == (2 * SR, 14 * SR)  # 12 s at most
    assert stimuli.excerpt_range(5 * SR, SR, -1.0, 9.0) == (0, 5 * SR)
    with pytest.raises(ValueError, match="at least"):
        stimuli.excerpt_range(5 * SR, SR, 1.0, 1.2)


def test_loudness_matching_is_exact_and_never_clips():
    x = speechlike(3.0, SR, seed=1)[0].numpy()
    sigs = {"reference": x, "quiet": 0.05 * x, "loud": 3.0 * x, "silent": np.zeros_like(x)}
    target = integrated_loudness(x, SR)
    g = stimuli.loudness_gains(sigs, SR, target)
    played = {n: y * 10 ** (g[n] / 20) for n, y in sigs.items()}
    levels = [integrated_loudness(played[n], SR) for n in ("reference", "quiet", "loud")]
    assert max(levels) - min(levels) < 0.01  # all equally loud
    assert max(peak_dbfs(y) for y in played.values()) <= stimuli.MATCH_CEILING_DBFS + 1e-6
    assert g["silent"] == g["reference"]  # silence only shares the common cut


def _coded(tiny, seconds: float = 3.0, seed: int = 0) -> Comparison:
    c = Comparison("clip.wav", speechlike(seconds, SR, seed=seed)[0].numpy(), SR)
    ops.encode(tiny, c)
    return c


def test_codec_conditions_equal_the_full_decode(tiny):
    c = _coded(tiny)
    st = stimuli.build(tiny, c, "clip", 0.7, 2.4, ["reference", "K2", "K8"], match_loudness=False)
    s0, s1 = round(0.7 * SR), round(2.4 * SR)
    assert st.num_samples == s1 - s0 and st.gains_db == {"reference": 0, "K2": 0, "K8": 0}
    for k in (2, 8):
        full = ops.decode_signal(tiny, c.codes[:, :k], c.num_samples)
        assert np.allclose(st.signals[f"K{k}"], full[:, s0:s1], atol=2e-5)
    assert np.array_equal(st.signals["reference"], c.x24[:, s0:s1])
    # a decode already cached in the comparison is used as it is
    y8 = ops.decode(tiny, c, 8)
    again = stimuli.render(tiny, c, "K8", s0, s1)
    assert np.array_equal(again, y8[:, s0:s1])


def test_part_conditions_decode_one_group(tiny):
    need(cn.part_decoding_available(), "decode_signal(..., part=...) is missing")
    c = _coded(tiny, seed=4)
    for name, k, part in (("semantic", 1, "semantic"), ("acoustic@K8", 8, "acoustic")):
        y = stimuli.render(tiny, c, name, 0, c.num_samples)
        want = ops.decode_signal(tiny, c.codes[:, :k], c.num_samples, part=part)
        assert np.allclose(y, want, atol=2e-5)
    assert "semantic" in cn.abx_choices(32) and "acoustic@K8" in cn.abx_choices(32)


def test_played_applies_gain_and_fades():
    x = np.ones((1, SR), np.float32)
    st = stimuli.Stimuli("i", SR, {"reference": x}, {"reference": -6.0})
    y = st.played("reference")
    n = round(stimuli.FADE_S * SR)
    assert y[0, 0] < 0.01 and y[0, -1] < 0.01
    assert y[0, SR // 2] == pytest.approx(10 ** (-6 / 20), rel=1e-6)
    assert y[0, n] == pytest.approx(10 ** (-6 / 20), rel=1e-6)


def test_condition_names():
    assert cn.parse_condition("original").name == "reference"
    assert cn.parse_condition("anchor35").cutoff_hz == 3500
    k = cn.parse_condition("K16")
    assert (k.kind, k.k, k.part) == ("codec", 16, "all")
    a = cn.parse_condition("acoustic@K8")
    assert (a.k, a.part) == (8, "acoustic")
    for bad in ("K0", "K", "k8", "acoustic@K1", "anchor50"):
        with pytest.raises(ValueError):
            cn.parse_condition(bad)
    with pytest.raises(ValueError, match="8 codebooks"):
        cn.parse_condition("K16", num_codebooks=8)
    assert cn.mushra_conditions([32, 1, 8]) == [
        "reference",
        "anchor35",
        "anchor70",
        "K1",
        "K8",
        "K32",
    ]
    with pytest.raises(ValueError, match="at most 12"):
        cn.mushra_conditions(range(1, 12))


def test_objective_scores(tiny):
    x = speechlike(3.0, SR, seed=5)[0].numpy()
    rng = np.random.default_rng(0)
    noisy = (x + 0.02 * rng.normal(size=x.shape)).astype(np.float32)
    same = objective.measure(x, x, SR)
    worse = objective.measure(x, noisy, SR)
    assert same["stoi"] > 0.99 and same["mel_distance"] == 0 and same["loudness_diff_lu"] == 0
    assert worse["stoi"] < same["stoi"] and worse["mel_distance"] > 0
    assert same["pesq_wb"] > worse["pesq_wb"] and same["pesq_note"] == ""
    short = objective.measure(x[:, :1000], x[:, :1000], SR)
    assert math.isnan(short["pesq_wb"]) and "shorter" in short["pesq_note"]
    avg = objective.by_condition(
        {"i1": {"K8": {"stoi": 0.5, "pesq_wb": None}}, "i2": {"K8": {"stoi": 0.7, "pesq_wb": 2.0}}}
    )
    assert avg["K8"]["stoi"] == pytest.approx(0.6) and avg["K8"]["pesq_wb"] == 2.0
