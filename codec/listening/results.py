"""Results files: our CSV (one row per rating), and reading webMUSHRA's results CSV.

MUSHRA (ours): MUSHRA_COLUMNS, at least assessor,item,condition,score; condition names
  `reference`, `anchor35`, `anchor70`, `K<k>` (codec.listening.conditions); `label` is
  the neutral label the stimulus had on screen and `trial` the item's place in the
  session; `seconds_listened` how long the stimulus played.
ABX (ours): ABX_COLUMNS, at least assessor,pair,trial,correct (`correct` 0 or 1, `pair`
  e.g. "K8 vs K16"), plus what was played: which condition was A and which B, what X was
  and what the listener answered.
webMUSHRA: the `mushra.csv` its service/write.php writes (session_test_id, participant
  columns, session_uuid, trial_id, rating_stimulus, rating_score, rating_time,
  rating_comment): see codec.listening.webmushra.

`read_results` tells the three apart by their header. Files are written through
codec.audio.atomic (a reader never sees half a file).
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .stats import AbxAnswer, Rating

MUSHRA_COLUMNS = (
    "assessor",
    "session",
    "item",
    "trial",
    "condition",
    "label",
    "score",
    "seconds_listened",
    "source",
    "start_s",
    "end_s",
    "timestamp",
)
ABX_COLUMNS = (
    "assessor",
    "session",
    "pair",
    "trial",
    "correct",
    "a",
    "b",
    "x",
    "answer",
    "item",
    "seconds_listened",
    "timestamp",
)
MUSHRA_REQUIRED = {"assessor", "item", "condition", "score"}
ABX_REQUIRED = {"assessor", "pair", "trial", "correct"}


def csv_text(rows: Iterable[dict], columns: Sequence[str]) -> str:
    """CSV with a header of `columns` and one line per row (missing keys empty)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: _cell(r.get(k, "")) for k in columns})
    return buf.getvalue()


def _cell(v) -> str:
    if isinstance(v, float):
        return "" if not math.isfinite(v) else repr(round(v, 6))
    return str(v)


def _number(text: str, what: str, where: str) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {what} is not a number: {text!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{where}: {what} is not a finite number: {text!r}")
    return v


def _optional(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def parse_mushra(rows: list[dict], path: str) -> list[Rating]:
    out = []
    for i, r in enumerate(rows, start=2):
        where = f"{path}:{i}"
        score = _number(r.get("score", ""), "score", where)
        if not 0 <= score <= 100:
            raise ValueError(f"{where}: score {score:g} is outside 0..100")
        if not r.get("condition") or not r.get("item"):
            raise ValueError(f"{where}: a rating needs an item and a condition")
        out.append(
            Rating(
                assessor=r.get("assessor") or "anonymous",
                item=r["item"],
                condition=r["condition"],
                score=score,
                session=r.get("session", "") or "",
                seconds=_optional(r.get("seconds_listened", "")),
            )
        )
    return out


def parse_abx(rows: list[dict], path: str) -> list[AbxAnswer]:
    out = []
    for i, r in enumerate(rows, start=2):
        where = f"{path}:{i}"
        correct = r.get("correct", "").strip()
        if correct not in ("0", "1"):
            raise ValueError(f"{where}: correct must be 0 or 1, got {correct!r}")
        if not r.get("pair"):
            raise ValueError(f"{where}: an ABX answer needs a pair")
        out.append(
            AbxAnswer(
                assessor=r.get("assessor") or "anonymous",
                pair=r["pair"],
                trial=int(_number(r.get("trial", ""), "trial", where)),
                correct=int(correct),
                session=r.get("session", "") or "",
            )
        )
    return out


def read_csv(path: str | os.PathLike) -> tuple[list[str], list[dict]]:
    """(header, rows) of a CSV file; ValueError for an empty file."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{p} is a folder, not a results CSV")
    with open(p, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        if not header:
            raise ValueError(f"{p} is empty: no CSV header")
        reader.fieldnames = header
        rows = [dict(r) for r in reader if any((v or "").strip() for v in r.values())]
    return header, rows


def kind_of(header: Sequence[str]) -> str:
    """'mushra', 'abx' or 'webmushra' by the columns present; '' when none fits."""
    h = set(header)
    if h >= MUSHRA_REQUIRED:
        return "mushra"
    if h >= ABX_REQUIRED:
        return "abx"
    from .webmushra import RESULT_REQUIRED

    if h >= RESULT_REQUIRED:
        return "webmushra"
    return ""


def read_results(paths: Sequence[str | os.PathLike]) -> tuple[list[Rating], list[AbxAnswer]]:
    """Every MUSHRA rating and ABX answer in the files (any mix of the three formats)."""
    ratings: list[Rating] = []
    answers: list[AbxAnswer] = []
    for path in paths:
        header, rows = read_csv(path)
        kind = kind_of(header)
        if kind == "mushra":
            ratings += parse_mushra(rows, str(path))
        elif kind == "abx":
            answers += parse_abx(rows, str(path))
        elif kind == "webmushra":
            from .webmushra import parse_results

            ratings += parse_results(rows, str(path))
        else:
            raise ValueError(
                f"{path} is not a listening-test results file: it needs the columns "
                "assessor,item,condition,score (MUSHRA), assessor,pair,trial,correct (ABX) "
                "or webMUSHRA's trial_id,rating_stimulus,rating_score"
            )
    return ratings, answers
