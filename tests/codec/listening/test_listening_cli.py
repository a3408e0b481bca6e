"""`listening-stats`: text and JSON from our CSVs, checked against scipy; one-line errors."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from scipy import stats as sps

from codec.listening.results import ABX_COLUMNS, MUSHRA_COLUMNS, csv_text
from tests.helpers.cli import assert_one_line_error, run_cli


def _files(tmp_path):
    rng = np.random.default_rng(11)
    rows = []
    for a in ("ann", "bob", "cy", "dee"):
        for item in ("speech_0-10s", "music_0-8s"):
            for cond, mu in (
                ("reference", 98),
                ("anchor35", 20),
                ("anchor70", 45),
                ("K8", 67),
                ("K16", 80),
            ):
                s = float(np.clip(round(rng.normal(mu, 7)), 0, 100))
                if cond == "reference":
                    s = 60.0 if a == "dee" else max(s, 90.0)  # dee fails the post-screening
                if cond == "anchor70":
                    s = min(s, 90.0)
                rows.append(
                    {"assessor": a, "session": a, "item": item, "condition": cond, "score": s}
                )
    mushra = tmp_path / "mushra.csv"
    mushra.write_text(csv_text(rows, MUSHRA_COLUMNS))
    abx = [
        {"assessor": "ann", "pair": "K8 vs K16", "trial": t, "correct": int(t <= 12)}
        for t in range(1, 17)
    ]
    abx_path = tmp_path / "abx.csv"
    abx_path.write_text(csv_text(abx, ABX_COLUMNS))
    return mushra, abx_path, rows


def test_json_matches_scipy(tmp_path):
    mushra, abx, rows = _files(tmp_path)
    r = run_cli("listening-stats", str(mushra), str(abx), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    m = out["mushra"]
    assert [e["assessor"] for e in m["excluded"]] == ["dee"]
    assert "hidden reference below 90 in 2 of 2 items" in m["excluded"][0]["reasons"][0]
    kept = [r for r in rows if r["assessor"] != "dee"]
    for cond in ("reference", "anchor35", "anchor70", "K8", "K16"):
        x = np.array([r["score"] for r in kept if r["condition"] == cond])
        lo, hi = sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
        got = m["conditions"][cond]
        assert got["n"] == 6
        assert got["mean"] == pytest.approx(x.mean())
        assert got["median"] == pytest.approx(np.median(x))
        assert got["ci95"] == pytest.approx([lo, hi])
        xi = np.array(
            [r["score"] for r in kept if r["condition"] == cond and r["item"] == "music_0-8s"]
        )
        lo, hi = sps.t.interval(0.95, len(xi) - 1, loc=xi.mean(), scale=sps.sem(xi))
        assert m["items"]["music_0-8s"][cond]["ci95"] == pytest.approx([lo, hi])
    pair = out["abx"]["pairs"]["K8 vs K16"]
    assert (pair["trials"], pair["correct"]) == (16, 12)
    assert pair["p_value"] == pytest.approx(sps.binomtest(12, 16, alternative="greater").pvalue)


def test_text(tmp_path):
    mushra, abx, _ = _files(tmp_path)
    r = run_cli("listening-stats", str(mushra), str(abx))
    assert r.returncode == 0, r.stderr
    assert "K8 vs K16: 12/16, p = 0.038: a difference was heard" in r.stdout
    assert "excluded dee: rated the hidden reference below 90" in r.stdout
    assert "item music_0-8s:" in r.stdout


@pytest.mark.parametrize("case", ["missing", "not_results", "bad_score", "bad_correct", "empty"])
def test_errors_are_one_line(tmp_path, capsys, case):
    p = tmp_path / "r.csv"
    if case == "not_results":
        p.write_text("a,b\n1,2\n")
    elif case == "bad_score":
        p.write_text("assessor,item,condition,score\nann,i,K8,120\n")
    elif case == "bad_correct":
        p.write_text("assessor,pair,trial,correct\nann,K8 vs K16,1,yes\n")
    elif case == "empty":
        p.write_text("assessor,item,condition,score\n")
    pattern = {
        "missing": "No such file",
        "not_results": "is not a listening-test results file",
        "bad_score": "outside 0..100",
        "bad_correct": "correct must be 0 or 1",
        "empty": "no ratings",
    }[case]
    from codec.cli import run  # in-process: the same handler as main.py's, faster

    rc = run(["listening-stats", str(p)])
    err = capsys.readouterr().err
    assert_one_line_error(subprocess.CompletedProcess([], rc, "", err), pattern)
