"""The statistics of listening tests as text: what `listening-stats` prints and the results
panel shows above its plot (the same numbers, rounded the same way)."""

from __future__ import annotations

import math

from .stats import ALPHA, min_correct


def _num(v, fmt: str = "{:.1f}") -> str:
    return "n/a" if v is None or not math.isfinite(v) else fmt.format(v)


def ci_text(s: dict) -> str:
    lo, hi = s["ci95"]
    return "n/a" if not (math.isfinite(lo) and math.isfinite(hi)) else f"{lo:.1f} to {hi:.1f}"


def condition_table(conditions: dict[str, dict], indent: str = "  ") -> list[str]:
    lines = [f"{indent}{'condition':<16}{'n':>5}{'mean':>8}{'median':>8}  95 % CI"]
    for name, s in conditions.items():
        lines.append(
            f"{indent}{name:<16}{s['n']:>5}{_num(s['mean']):>8}{_num(s['median']):>8}  {ci_text(s)}"
        )
    return lines


def mushra_lines(m: dict) -> list[str]:
    if not m["ratings"]:
        return []
    n_items = len(m["items"])
    lines = [
        f"MUSHRA: {m['ratings']} ratings from {len(m['assessors'])} assessor(s); "
        f"kept {m['kept_ratings']} from {len(m['kept_assessors'])} after post-screening "
        f"(BS.1534-3), {n_items} item(s)"
    ]
    for e in m["excluded"]:
        lines.append(f"  excluded {e['assessor']}: {'; '.join(e['reasons'])}")
    if not m["kept_ratings"]:
        lines.append("  no ratings left after post-screening")
        return lines
    lines.append("  all items:")
    lines += condition_table(m["conditions"], "    ")
    for item, conds in m["items"].items():
        lines.append(f"  item {item}:")
        lines += condition_table(conds, "    ")
    return lines


def abx_lines(a: dict) -> list[str]:
    if not a["pairs"]:
        return []
    lines = ["ABX (one-sided binomial test against guessing):"]
    for pair, d in a["pairs"].items():
        need = min_correct(d["trials"], ALPHA)
        bar = f"; p < {ALPHA:g} needs {need} of {d['trials']}" if need is not None else ""
        lines.append(f"  {pair}: {d['verdict']}{bar}")
        if len(d["assessors"]) > 1:
            for who, s in d["assessors"].items():
                lines.append(f"    {who}: {s['verdict']}")
    return lines


def text(stats: dict) -> str:
    """The whole summary of all_stats(...) as lines of text."""
    lines = mushra_lines(stats["mushra"])
    if lines and stats["abx"]["pairs"]:
        lines.append("")
    lines += abx_lines(stats["abx"])
    return "\n".join(lines) if lines else "no ratings and no ABX answers"
