"""Objective scores of a test's stimuli, shown beside the listeners' means.

Each condition of an item is measured against the item's reference with the app's own
metrics (codec.analysis.metrics): STOI, log-mel distance, loudness difference and
wideband PESQ (speech only). They are measured on the codec's output as decoded, before
loudness matching (what the codec did, as in the main window), per channel, then averaged
over channels. Signals are [C, n] float32 at `rate` Hz.
"""

from __future__ import annotations

import math

import numpy as np

from ..analysis.metrics import PESQ, integrated_loudness, mel_distance, pesq_wb, stoi

# key -> (column title, format, which way is better)
OBJECTIVE = {
    "stoi": ("STOI", "{:.3f}", "higher is better"),
    "pesq_wb": (f"{PESQ['label']}, speech", "{:.2f}", "higher is better"),
    "mel_distance": ("log-mel distance", "{:.3f}", "lower is better"),
    "loudness_diff_lu": ("loudness vs reference (LU)", "{:+.1f}", "0 is best"),
}


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def measure(ref: np.ndarray, est: np.ndarray, rate: int) -> dict:
    """The OBJECTIVE keys of est [C, n] against ref [C, n], averaged over channels, plus
    "pesq_note": why PESQ is undefined ('' when it is not)."""
    r = np.atleast_2d(np.asarray(ref, np.float64))
    e = np.atleast_2d(np.asarray(est, np.float64))
    per: dict[str, list[float]] = {k: [] for k in OBJECTIVE}
    notes = []
    for c in range(r.shape[0]):
        per["stoi"].append(stoi(r[c], e[c], rate))
        per["mel_distance"].append(mel_distance(r[c], e[c], rate))
        score = pesq_wb(r[c], e[c], rate)
        per["pesq_wb"].append(score.value)
        if score.reason:
            notes.append(score.reason)
    out: dict = {k: _mean(v) for k, v in per.items()}
    out["loudness_diff_lu"] = integrated_loudness(e, rate) - integrated_loudness(r, rate)
    out["pesq_note"] = notes[0] if notes and not math.isfinite(out["pesq_wb"]) else ""
    return out


def by_condition(objective: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """{item: {condition: scores}} -> {condition: scores averaged over items}."""
    conds: dict[str, dict[str, list[float]]] = {}
    notes: dict[str, str] = {}
    for per_item in objective.values():
        for cond, scores in per_item.items():
            d = conds.setdefault(cond, {k: [] for k in OBJECTIVE})
            for k in OBJECTIVE:
                v = scores.get(k)
                d[k].append(float("nan") if v is None else float(v))
            if scores.get("pesq_note"):
                notes.setdefault(cond, scores["pesq_note"])
    out = {}
    for cond, d in conds.items():
        out[cond] = {k: _mean(v) for k, v in d.items()}
        out[cond]["pesq_note"] = (
            notes.get(cond, "") if not math.isfinite(out[cond]["pesq_wb"]) else ""
        )
    return out
