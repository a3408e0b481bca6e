"""Sessions: the seeded plan, answers on disk as they are given, resuming after a kill."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from codec.listening.session import Design, Session, draw_plan, unfinished
from codec.listening.stimuli import Stimuli
from tests.helpers.paths import ROOT

SR = 24_000


def _items(n_items: int, conditions: list[str], seconds: float = 0.5) -> list[Stimuli]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n_items):
        sig = {
            c: (0.1 * rng.normal(size=(1, round(seconds * SR)))).astype(np.float32)
            for c in conditions
        }
        out.append(Stimuli(f"item{i}", SR, sig, {c: -1.0 for c in conditions}, "clip.flac", 0, 0.5))
    return out


def _abx(tmp_path, seed=7, trials=16, name="s") -> Session:
    d = tmp_path / name
    d.mkdir()
    design = Design("abx", "ann", seed, ["K8", "K16"], trials=trials)
    return Session.create(d, design, _items(1, ["K8", "K16"]))


MUSHRA = ["reference", "anchor35", "anchor70", "K1", "K4"]


def _mushra(tmp_path, seed=3, items=2, name="m") -> Session:
    d = tmp_path / name
    d.mkdir()
    return Session.create(d, Design("mushra", "bob", seed, list(MUSHRA)), _items(items, MUSHRA))


def test_plan_follows_the_seed(tmp_path):
    a = Design("abx", "x", 1, ["K8", "K16"], trials=40)
    assert draw_plan(a) == draw_plan(Design("abx", "y", 1, ["K8", "K16"], trials=40))
    plan, other = draw_plan(a), draw_plan(Design("abx", "x", 2, ["K8", "K16"], trials=40))
    assert plan != other
    # both the A/B assignment and X change from trial to trial
    assert {t["a"] for t in plan} == {"K8", "K16"} and {t["x"] for t in plan} == {"A", "B"}
    m = Design("mushra", "x", 5, list(MUSHRA), items=[{}, {}, {}])
    orders = [tuple(t["order"]) for t in draw_plan(m)]
    assert len(set(orders)) == 3 and all(sorted(o) == sorted(MUSHRA) for o in orders)
    assert orders != [
        tuple(t["order"])
        for t in draw_plan(Design("mushra", "x", 6, list(MUSHRA), items=[{}, {}, {}]))
    ]


def test_abx_answers_are_on_disk_at_once(tmp_path):
    s = _abx(tmp_path, trials=4)
    plan = s.plan
    for i, label in enumerate(["A", "B", "B"]):
        row = s.answer_abx(label, seconds=2.5)
        assert row["correct"] == int(label == plan[i]["x"])
        with open(s.csv_path, newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == i + 1  # written before the next answer
        assert rows[-1]["pair"] == "K8 vs K16" and rows[-1]["x"] in ("K8", "K16")
        assert rows[-1]["a"] == plan[i]["a"] and rows[-1]["correct"] in ("0", "1")
    again = Session.open(s.folder)
    assert again.position == 3 and again.progress() == "trial 4 of 4"
    assert again.plan == plan  # the plan was saved, not redrawn
    again.answer_abx("A")
    assert again.finished and Session.open(s.folder).finished
    with pytest.raises(ValueError):
        again.answer_abx("A")
    st = Session.open(s.folder).stimuli(0)
    assert st.gains_db == {"K8": -1.0, "K16": -1.0} and st.signals["K8"].shape == (1, SR // 2)


def test_mushra_draft_and_commit(tmp_path):
    s = _mushra(tmp_path)
    order = s.current()["order"]
    s.played(order[0], 1.0)
    s.rate(order[0], 90)
    with pytest.raises(ValueError, match="not played"):
        s.commit_item()
    resumed = Session.open(s.folder)  # killed here: the ratings so far come back
    assert resumed.draft["scores"] == {order[0]: 90.0} and order[0] in resumed.draft["seconds"]
    for c in order:
        resumed.played(c, 2.0)
        resumed.rate(c, 50)
    rows = resumed.commit_item()
    assert [r["condition"] for r in rows] == order
    assert [r["label"] for r in rows] == [str(i + 1) for i in range(len(order))]
    assert resumed.progress() == "item 2 of 2" and resumed.draft == {}
    with open(resumed.csv_path, newline="") as f:
        assert len(list(csv.DictReader(f))) == len(MUSHRA)
    with pytest.raises(ValueError):
        resumed.rate(order[0], 101)


def test_unfinished_lists_what_can_be_resumed(tmp_path):
    a = _abx(tmp_path, trials=1, name="a")
    b = _mushra(tmp_path, name="b")
    a.answer_abx("A")
    assert [s.folder for s in unfinished(tmp_path)] == [b.folder]


CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from codec.listening.session import Session
s = Session.open({folder!r})
print("ready", flush=True)
while not s.finished:
    s.answer_abx("A", 1.0)
    print("answered", s.position, flush=True)
    time.sleep(0.02)
"""


def test_killed_mid_test_resumes(tmp_path):
    s = _abx(tmp_path, trials=200)
    code = CHILD.format(root=str(ROOT), folder=str(s.folder))
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    answered = 0
    t0 = time.monotonic()
    while answered < 25:
        line = p.stdout.readline()
        assert line, "the child stopped early"
        if line.startswith("answered"):
            answered = int(line.split()[1])
        assert time.monotonic() - t0 < 120
    os.kill(p.pid, signal.SIGKILL)  # mid-test, wherever it is
    p.wait()
    back = Session.open(s.folder)
    state = json.loads((s.folder / "session.json").read_text())
    assert back.position >= 25 and back.position == len(state["answers"])
    with open(back.csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == back.position  # the CSV agrees with the JSON
    assert [int(r["trial"]) for r in rows] == list(range(1, back.position + 1))
    assert not list(s.folder.glob(".*.part"))  # a write the kill cut short is cleared
    back.answer_abx("B")
    assert Session.open(s.folder).position == len(rows) + 1


def test_bad_designs(tmp_path):
    with pytest.raises(ValueError):
        Design("abx", "x", 1, ["K8", "K8"], trials=4)
    with pytest.raises(ValueError):
        Design("abx", "x", 1, ["K8", "K16"], trials=0)
    with pytest.raises(ValueError):
        Design("pairs", "x", 1, ["K8"])
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "session.json").write_text("{")
    with pytest.raises(ValueError, match="not a readable"):
        Session.open(tmp_path / "junk")
