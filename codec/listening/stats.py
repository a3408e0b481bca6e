"""Statistics of listening tests: pure functions on rows (no files, no Qt).

MUSHRA (ITU-R BS.1534-3):
  * post-screening: an assessor is excluded who rates the hidden reference below 90 for
    more than 15 % of the items they rated, or the 7 kHz anchor above 90 for more than
    15 % (SCREEN). "Below 90" and "above 90" are strict: a score of exactly 90 passes.
    An item is one presentation, (session, item): an item heard twice counts twice.
  * then, per condition over the kept ratings (pooled over items and assessors), and per
    item and condition: n, mean, median, sample standard deviation s, and the 95 %
    confidence interval mean +- t(0.975, n - 1) * s / sqrt(n) (undefined for n < 2).
ABX: per pair, trials, correct and the one-sided binomial p = P(X >= correct | n, 1/2),
exactly (integer arithmetic), with every assessor's trials pooled and also per assessor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .conditions import ANCHOR70, REFERENCE, sorted_conditions

SCREEN = {"reference_below": 90.0, "anchor_above": 90.0, "max_share": 0.15}
ALPHA = 0.05


@dataclass(frozen=True)
class Rating:
    """One MUSHRA rating: `score` 0..100 by `assessor` of `condition` in `item`."""

    assessor: str
    item: str
    condition: str
    score: float
    session: str = ""
    seconds: float = float("nan")  # time listened to this stimulus


@dataclass(frozen=True)
class AbxAnswer:
    """One ABX trial: `correct` is 1 when X was identified, else 0."""

    assessor: str
    pair: str
    trial: int
    correct: int
    session: str = ""


@dataclass(frozen=True)
class Exclusion:
    """An assessor left out by the post-screening, and why (one sentence per rule)."""

    assessor: str
    reasons: tuple[str, ...]
    items: int
    reference_low: int
    anchor_high: int

    def to_dict(self) -> dict:
        return {
            "assessor": self.assessor,
            "reasons": list(self.reasons),
            "items": self.items,
            "reference_below_90": self.reference_low,
            "anchor70_above_90": self.anchor_high,
        }


@dataclass(frozen=True)
class Summary:
    """n, mean, median, sample standard deviation and the 95 % t interval of scores."""

    n: int
    mean: float
    median: float
    sd: float
    ci95: tuple[float, float]

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "mean": self.mean,
            "median": self.median,
            "sd": self.sd,
            "ci95": [self.ci95[0], self.ci95[1]],
        }


# ---- MUSHRA -------------------------------------------------------------------------------
def t_quantile_975(df: int) -> float:
    """The 97.5 % quantile of Student's t with df degrees of freedom (NaN for df < 1)."""
    if df < 1:
        return float("nan")
    from scipy.special import stdtrit

    return float(stdtrit(df, 0.975))


def summarize(scores) -> Summary:
    """Summary of a list of scores; NaN where undefined (empty; s and the CI for n < 2)."""
    a = np.asarray([float(s) for s in scores], np.float64)
    n = int(a.size)
    nan = float("nan")
    if n == 0:
        return Summary(0, nan, nan, nan, (nan, nan))
    mean, median = float(a.mean()), float(np.median(a))
    if n < 2:
        return Summary(n, mean, median, nan, (nan, nan))
    sd = float(a.std(ddof=1))
    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
    return Summary(n, mean, median, sd, (mean - half, mean + half))


def _units(ratings: list[Rating]) -> dict[str, dict[tuple[str, str], dict[str, list[float]]]]:
    """{assessor: {(session, item): {condition: [scores]}}}."""
    out: dict[str, dict[tuple[str, str], dict[str, list[float]]]] = {}
    for r in ratings:
        unit = out.setdefault(r.assessor, {}).setdefault((r.session, r.item), {})
        unit.setdefault(r.condition, []).append(float(r.score))
    return out


def screen(ratings: list[Rating]) -> tuple[list[Rating], list[Exclusion]]:
    """(the ratings of the assessors kept, the exclusions), per SCREEN."""
    below, above = SCREEN["reference_below"], SCREEN["anchor_above"]
    # exact: 3 of 20 items is 15 % and not "more than 15 %" (0.15 * 20 in binary is not 3)
    share = Fraction(str(SCREEN["max_share"]))
    excluded: list[Exclusion] = []
    for assessor, units in sorted(_units(ratings).items()):
        n = len(units)
        ref_low = sum(any(s < below for s in u.get(REFERENCE, [])) for u in units.values())
        anc_high = sum(any(s > above for s in u.get(ANCHOR70, [])) for u in units.values())
        reasons = []
        if ref_low > share * n:
            reasons.append(
                f"rated the hidden reference below {below:g} in {ref_low} of {n} items "
                f"({100 * ref_low / n:.1f} % > {float(100 * share):g} %)"
            )
        if anc_high > share * n:
            reasons.append(
                f"rated the 7 kHz anchor above {above:g} in {anc_high} of {n} items "
                f"({100 * anc_high / n:.1f} % > {float(100 * share):g} %)"
            )
        if reasons:
            excluded.append(Exclusion(assessor, tuple(reasons), n, ref_low, anc_high))
    gone = {e.assessor for e in excluded}
    return [r for r in ratings if r.assessor not in gone], excluded


def mushra_stats(ratings: list[Rating]) -> dict:
    """Post-screening, then per condition and per item: the JSON-ready summary
    {"excluded", "assessors", "kept_assessors", "ratings", "kept_ratings",
    "conditions": {name: Summary dict}, "items": {item: {name: Summary dict}}}."""
    kept, excluded = screen(ratings)
    by_cond: dict[str, list[float]] = {}
    by_item: dict[str, dict[str, list[float]]] = {}
    for r in kept:
        by_cond.setdefault(r.condition, []).append(r.score)
        by_item.setdefault(r.item, {}).setdefault(r.condition, []).append(r.score)
    return {
        "excluded": [e.to_dict() for e in excluded],
        "assessors": sorted({r.assessor for r in ratings}),
        "kept_assessors": sorted({r.assessor for r in kept}),
        "ratings": len(ratings),
        "kept_ratings": len(kept),
        "conditions": {c: summarize(by_cond[c]).to_dict() for c in sorted_conditions(by_cond)},
        "items": {
            item: {c: summarize(v[c]).to_dict() for c in sorted_conditions(v)}
            for item, v in sorted(by_item.items())
        },
    }


# ---- ABX ----------------------------------------------------------------------------------
def binomial_p(correct: int, trials: int) -> float:
    """One-sided P(X >= correct) for X ~ Binomial(trials, 1/2), exact (1.0 for correct <= 0)."""
    if trials <= 0:
        return float("nan")
    c = max(0, int(correct))
    tail = sum(math.comb(trials, i) for i in range(c, trials + 1))
    return float(Fraction(tail, 2**trials))


def min_correct(trials: int, alpha: float = ALPHA) -> int | None:
    """The fewest correct answers out of `trials` with p < alpha (None if none suffices)."""
    for c in range(trials + 1):
        if binomial_p(c, trials) < alpha:
            return c
    return None


def format_p(p: float) -> str:
    if not math.isfinite(p):
        return "p = n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def verdict(correct: int, trials: int, alpha: float = ALPHA) -> str:
    """Plain words, e.g. "12/16, p = 0.038: a difference was heard"."""
    p = binomial_p(correct, trials)
    words = (
        "a difference was heard"
        if p < alpha
        else "no difference shown (the answers could be guesses)"
    )
    return f"{correct}/{trials}, {format_p(p)}: {words}"


def _abx_counts(answers: list[AbxAnswer]) -> dict:
    trials = len(answers)
    correct = sum(int(a.correct) for a in answers)
    return {
        "trials": trials,
        "correct": correct,
        "p_value": binomial_p(correct, trials),
        "verdict": verdict(correct, trials),
    }


def abx_stats(answers: list[AbxAnswer]) -> dict:
    """{"pairs": {pair: {"trials", "correct", "p_value", "verdict",
    "assessors": {assessor: the same four}}}}, pairs in the order first met."""
    pairs: dict[str, list[AbxAnswer]] = {}
    for a in answers:
        pairs.setdefault(a.pair, []).append(a)
    out = {}
    for pair, rows in pairs.items():
        d = _abx_counts(rows)
        per: dict[str, list[AbxAnswer]] = {}
        for a in rows:
            per.setdefault(a.assessor, []).append(a)
        d["assessors"] = {who: _abx_counts(v) for who, v in sorted(per.items())}
        out[pair] = d
    return {"pairs": out}


def all_stats(ratings: list[Rating], answers: list[AbxAnswer]) -> dict:
    """{"mushra": mushra_stats, "abx": abx_stats}: what `listening-stats --json` prints."""
    return {"mushra": mushra_stats(ratings), "abx": abx_stats(answers)}
