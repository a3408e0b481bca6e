"""Listening-test statistics against independent computations (scipy), including the
BS.1534-3 post-screening's edges."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from codec.listening.stats import (
    AbxAnswer,
    Rating,
    abx_stats,
    binomial_p,
    min_correct,
    mushra_stats,
    screen,
    summarize,
    verdict,
)

CONDS = ("reference", "anchor35", "anchor70", "K1", "K4", "K16")
MEANS = {"reference": 97, "anchor35": 20, "anchor70": 45, "K1": 30, "K4": 55, "K16": 80}


def _panel(rng, assessors: int, items: int) -> list[Rating]:
    """Plausible ratings that pass the post-screening: reference 90-100, anchor70 <= 60."""
    out = []
    for a in range(assessors):
        for i in range(items):
            for c in CONDS:
                lo, hi = (90, 100) if c == "reference" else (0, 100)
                s = float(np.clip(round(rng.normal(MEANS[c], 8)), lo, hi))
                out.append(Rating(f"a{a}", f"item{i}", c, s, session=f"s{a}"))
    return out


def _scipy_summary(x) -> tuple[float, float, float, float]:
    x = np.asarray(x, float)
    lo, hi = sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    return x.mean(), float(np.median(x)), lo, hi


def test_per_condition_and_per_item_match_scipy():
    rng = np.random.default_rng(1)
    ratings = _panel(rng, assessors=5, items=3)
    m = mushra_stats(ratings)
    assert m["excluded"] == [] and m["kept_ratings"] == len(ratings)
    for c in CONDS:
        x = [r.score for r in ratings if r.condition == c]
        mean, median, lo, hi = _scipy_summary(x)
        got = m["conditions"][c]
        assert got["n"] == 15
        assert got["mean"] == pytest.approx(mean, abs=1e-9)
        assert got["median"] == pytest.approx(median, abs=1e-9)
        assert got["ci95"] == pytest.approx([lo, hi], abs=1e-9)
        assert got["sd"] == pytest.approx(np.std(x, ddof=1), abs=1e-9)
        for item in ("item0", "item1", "item2"):
            xi = [r.score for r in ratings if r.condition == c and r.item == item]
            mean, median, lo, hi = _scipy_summary(xi)
            gi = m["items"][item][c]
            assert gi["n"] == 5
            assert gi["mean"] == pytest.approx(mean, abs=1e-9)
            assert gi["ci95"] == pytest.approx([lo, hi], abs=1e-9)
    # the order of the results: reference, anchors (7 kHz first), then K ascending
    assert list(m["conditions"]) == ["reference", "anchor70", "anchor35", "K1", "K4", "K16"]


def test_t_quantile_is_students():
    s = summarize([50.0, 60.0])  # n = 2: t(0.975, 1) = 12.706...
    half = sps.t.ppf(0.975, 1) * np.std([50, 60], ddof=1) / math.sqrt(2)
    assert s.ci95 == pytest.approx((55 - half, 55 + half), abs=1e-9)
    assert sps.t.ppf(0.975, 14) == pytest.approx(2.1448, abs=1e-4)
    x = list(range(15))
    assert summarize(x).ci95[1] - 7 == pytest.approx(
        2.1448 * np.std(x, ddof=1) / math.sqrt(15), abs=1e-3
    )


def test_undefined_intervals():
    one = summarize([70.0])
    assert one.n == 1 and one.mean == 70 and math.isnan(one.sd) and all(map(math.isnan, one.ci95))
    none = summarize([])
    assert none.n == 0 and math.isnan(none.mean)


def _assessor(name: str, items: int, ref_scores=None, anchor_scores=None) -> list[Rating]:
    """One assessor: the hidden reference and the 7 kHz anchor per item as given."""
    out = []
    for i in range(items):
        ref = ref_scores[i] if ref_scores else 100.0
        anc = anchor_scores[i] if anchor_scores else 40.0
        out += [
            Rating(name, f"item{i}", "reference", ref),
            Rating(name, f"item{i}", "anchor70", anc),
            Rating(name, f"item{i}", "K8", 70.0),
        ]
    return out


def test_screening_edges():
    # a score of exactly 90 is not "below 90" (reference) nor "above 90" (anchor)
    edge = _assessor("edge", 4, ref_scores=[90.0] * 4, anchor_scores=[90.0] * 4)
    # 3 of 20 items is 15 %: not more than 15 %, kept; 4 of 20 (20 %) is excluded
    three = _assessor("three", 20, ref_scores=[89.9] * 3 + [100.0] * 17)
    four = _assessor("four", 20, ref_scores=[89.9] * 4 + [100.0] * 16)
    # 1 of 7 items = 14.3 % kept; 1 of 6 = 16.7 % excluded (reference below, anchor above)
    seven = _assessor("seven", 7, ref_scores=[0.0] + [95.0] * 6)
    six = _assessor("six", 6, anchor_scores=[90.5] + [50.0] * 5)
    # both rules broken: two reasons
    both = _assessor("both", 2, ref_scores=[10.0, 100.0], anchor_scores=[100.0, 20.0])
    ratings = edge + three + four + seven + six + both
    kept, excluded = screen(ratings)
    gone = {e.assessor: e for e in excluded}
    assert set(gone) == {"four", "six", "both"}
    assert gone["four"].reference_low == 4 and gone["four"].items == 20
    assert "hidden reference below 90 in 4 of 20 items" in gone["four"].reasons[0]
    assert "7 kHz anchor above 90 in 1 of 6 items" in gone["six"].reasons[0]
    assert len(gone["both"].reasons) == 2
    assert {r.assessor for r in kept} == {"edge", "three", "seven"}
    # the statistics use only the kept ratings
    m = mushra_stats(ratings)
    assert [e["assessor"] for e in m["excluded"]] == ["both", "four", "six"]
    x = [r.score for r in kept if r.condition == "reference"]
    mean, _, lo, hi = _scipy_summary(x)
    assert m["conditions"]["reference"]["n"] == len(x) == 4 + 20 + 7
    assert m["conditions"]["reference"]["mean"] == pytest.approx(mean)
    assert m["conditions"]["reference"]["ci95"] == pytest.approx([lo, hi])


def test_screening_counts_items_per_session():
    # the same item heard in two sessions is two items: 1 failure in 2 is 50 %
    r = [
        Rating("x", "item0", "reference", 50.0, session="s1"),
        Rating("x", "item0", "reference", 100.0, session="s2"),
    ]
    _, excluded = screen(r)
    assert excluded and excluded[0].items == 2 and excluded[0].reference_low == 1


@pytest.mark.parametrize("trials", [1, 5, 10, 16, 20, 31])
def test_binomial_p_matches_scipy(trials):
    for correct in range(trials + 1):
        want = sps.binomtest(correct, trials, 0.5, alternative="greater").pvalue
        assert binomial_p(correct, trials) == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_minimum_correct_and_plain_words():
    assert (min_correct(10), min_correct(16), min_correct(20)) == (9, 12, 15)
    assert min_correct(4) is None  # 4/4 has p = 0.0625
    assert verdict(12, 16) == "12/16, p = 0.038: a difference was heard"
    assert verdict(11, 16).startswith("11/16, p = 0.105: no difference")
    assert verdict(20, 20) == "20/20, p < 0.001: a difference was heard"


def test_abx_per_pair_and_assessor():
    rows = [AbxAnswer("ann", "K8 vs K16", t, int(t <= 12)) for t in range(1, 17)]
    rows += [AbxAnswer("bob", "K8 vs K16", t, int(t % 2)) for t in range(1, 11)]
    rows += [AbxAnswer("ann", "reference vs K8", t, 1) for t in range(1, 11)]
    a = abx_stats(rows)["pairs"]
    assert list(a) == ["K8 vs K16", "reference vs K8"]
    k = a["K8 vs K16"]
    assert (k["trials"], k["correct"]) == (26, 17)
    assert k["p_value"] == pytest.approx(sps.binomtest(17, 26, 0.5, alternative="greater").pvalue)
    assert k["assessors"]["ann"]["p_value"] == pytest.approx(0.0384063720703125)
    assert k["assessors"]["bob"]["correct"] == 5
    assert a["reference vs K8"]["p_value"] == pytest.approx(2.0**-10)
