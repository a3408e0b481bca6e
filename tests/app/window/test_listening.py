"""Blind listening tests in the app: ABX and MUSHRA runs, blinding, resuming, results."""

from __future__ import annotations

import csv
import json
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtWidgets import QSlider

from codec.analysis.metrics import integrated_loudness
from codec.listening.session import Session
from tests.helpers.cli import run_cli
from tests.helpers.listening import naming_conditions
from tests.helpers.requirements import need_module
from tests.helpers.signals import write_tone
from tests.helpers.window import open_and_code


def _clip(qtbot, w, tmp_path, name="clip.wav", seconds=2.0, channels=1):
    src = tmp_path / name
    write_tone(src, seconds=seconds, sr=24_000, channels=channels)
    open_and_code(qtbot, w, src)
    return src


def _run(qtbot, w):
    qtbot.waitUntil(lambda: w.listening.run is not None, timeout=60_000)
    return w.listening.run


def _start_abx(qtbot, w, trials=10, seed=1234, a="reference", b="K8"):
    d = w.listening.abx_dialog()
    assert d.match.isChecked()  # loudness matching is on by default
    d.trials.setValue(trials)
    d.seed.setValue(seed)
    d.assessor.setText("ann")
    d.cond_a.setCurrentText(a)
    d.cond_b.setCurrentText(b)
    assert "p < 0.05 needs" in d.need.text()
    d.start_btn.click()
    return _run(qtbot, w)


def test_menu(window):
    menus = {a.text(): a.menu() for a in window.menuBar().actions()}
    lm = menus["&Listening test"]
    names = [a.text() for a in lm.actions() if a.text()]
    assert names == ["&ABX test…", "&MUSHRA test…", "Open &results…"]


def test_abx_ten_trials_blind_and_scored(qtbot, window, tmp_path):
    w = window
    _clip(qtbot, w, tmp_path)
    run = _start_abx(qtbot, w)
    s, out = run.session, None
    assert run.window.isModal() and not w.player.playing
    mapping = []  # which condition played as A, trial by trial
    for i in range(10):
        page = run.page
        assert page.trial_label.text() == f"Trial {i + 1} of 10"
        assert naming_conditions(run.window) == []  # no text names a condition
        assert not page.answer_buttons["A"].isEnabled()  # X not heard yet
        t = s.current()
        st = s.stimuli(0)
        assert np.array_equal(run.player.source(0), st.played(t["a"]).T)
        x = st.played(t["a"] if t["x"] == "A" else t["b"])
        assert np.array_equal(run.player.source(2), x.T)
        mapping.append(t["a"])
        page.buttons["A"].click()
        out = w.backend_fake.last("output")
        out.pump(2400)
        page.buttons["X"].click()  # the same position, no gap: X continues from 2400
        block = out.pump(1000)
        assert np.allclose(block[:, 0], x[0, 2400:3400])
        if i == 1:  # a late block: the listener is told, until the next trial
            assert run.window.note.isHidden()
            out.pump(480, SimpleNamespace(output_underflow=True))
            qtbot.waitUntil(lambda: not run.window.note.isHidden())
            assert "gap" in run.window.note.text() and "listen again" in run.window.note.text()
        elif i == 2:
            assert run.window.note.isHidden()
        assert page.answer_buttons["A"].isEnabled()
        page.answer_buttons["A" if i % 3 else "B"].click()
    assert len(set(mapping)) == 2  # A was sometimes the original, sometimes K8
    # loudness matched: the two conditions play equally loud
    st = s.stimuli(0)
    lufs = [integrated_loudness(st.played(c), 24_000) for c in ("reference", "K8")]
    assert abs(lufs[0] - lufs[1]) < 0.1 and st.gains_db["K8"] != 0
    qtbot.waitUntil(lambda: w.listening.results is not None and w.listening.results.isVisible())
    panel = w.listening.results.panel
    with open(s.csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    correct = sum(int(r["correct"]) for r in rows)
    assert len(rows) == 10 and {r["pair"] for r in rows} == {"reference vs K8"}
    assert [r["correct"] == "1" for r in rows] == [
        ("A" if i % 3 else "B") == p["x"] for i, p in enumerate(s.plan)
    ]
    cli = run_cli("listening-stats", str(s.csv_path), "--json")
    assert cli.returncode == 0, cli.stderr
    pair = json.loads(cli.stdout)["abx"]["pairs"]["reference vs K8"]
    assert (pair["trials"], pair["correct"]) == (10, correct)
    assert pair["verdict"] in panel.summary.toPlainText()  # the same figures as the CLI
    assert panel.stats["abx"]["pairs"]["reference vs K8"]["p_value"] == pytest.approx(
        pair["p_value"]
    )


def test_abx_order_changes_with_the_seed(qtbot, window, tmp_path):
    w = window
    _clip(qtbot, w, tmp_path)
    plans = []
    for seed in (1, 2):
        run = _start_abx(qtbot, w, trials=12, seed=seed)
        plans.append(run.session.plan)
        run.window.close()  # put aside (saved, resumable)
        qtbot.waitUntil(lambda: w.listening.run is None)
    assert plans[0] != plans[1]
    assert all({t["x"] for t in p} == {"A", "B"} for p in plans)


SCORES = {"reference": 100.0, "anchor35": 20.0, "anchor70": 40.0, "K1": 30.0, "K8": 80.0}


def _rate_all(qtbot, run, values) -> None:
    page = run.page
    for pos in range(len(page.sliders)):
        page.play_buttons[pos].click()
        s: QSlider = page.sliders[pos]
        for _ in range(int(values[pos]) // 5):
            s.triggerAction(QSlider.SliderAction.SliderPageStepAdd)


@pytest.mark.slow  # about 13 s: two items, then every stimulus measured
def test_mushra_two_items(qtbot, window, tmp_path):
    w = window
    d = w.listening.mushra_dialog()
    for k, box in d.k_boxes.items():
        box.setChecked(k in (1, 8))
    _clip(qtbot, w, tmp_path, "one.wav")
    w.listening.add_item()
    _clip(qtbot, w, tmp_path, "two.wav", seconds=1.5, channels=2)
    w.bar.loop_btn.setChecked(True)  # a selection: the loop region
    w.waveform.loop_region.setRegion((0.25, 1.25))
    w.listening.add_item()
    assert d.items.count() == 2 and "two.wav, 0.25 to 1.25 s" in d.items.item(1).text()
    d.assessor.setText("bob")
    d.start_btn.click()
    run = _run(qtbot, w)
    s = run.session
    assert s.design.conditions == ["reference", "anchor35", "anchor70", "K1", "K8"]
    orders = []
    allowed = {run.page.hint.text(), "Reference", run.page.ref_btn.toolTip()}
    for n in range(2):
        page = run.page
        assert page.item_label.text() == f"Item {n + 1} of 2"
        labels = [b.text() for b in page.play_buttons]
        assert labels == ["1", "2", "3", "4", "5"]
        assert naming_conditions(run.window, allowed) == []
        order = s.current()["order"]
        orders.append(order)
        st = s.stimuli(s.current()["item"])
        for pos, cond in enumerate(order):  # the stimuli play in the shuffled order
            assert np.array_equal(run.player.source(pos + 1), st.played(cond).T)
        assert not page.next_btn.isEnabled()
        _rate_all(qtbot, run, [SCORES[c] for c in order])
        pos = order.index("reference")
        page.sliders[pos].triggerAction(QSlider.SliderAction.SliderPageStepSub)  # 95
        assert page.next_btn.isEnabled()
        page.next_btn.click()
    assert orders[0] != orders[1]  # a fresh random order per item
    qtbot.waitUntil(lambda: w.listening.results is not None and w.listening.results.isVisible())
    with open(s.csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10
    assert {r["condition"] for r in rows} == {"reference", "anchor35", "anchor70", "K1", "K8"}
    first = {r["condition"]: float(r["score"]) for r in rows if r["trial"] == "1"}
    assert first == SCORES | {"reference": 95.0}
    labels = {r["label"]: r["condition"] for r in rows if r["trial"] == "1"}
    assert [labels[str(i + 1)] for i in range(5)] == orders[0]  # what was shown as what
    cli = run_cli("listening-stats", str(s.csv_path), "--json")
    assert cli.returncode == 0, cli.stderr
    want = json.loads(cli.stdout)["mushra"]["conditions"]
    panel = w.listening.results.panel
    for cond, (mean, lo, hi) in panel.plotted().items():
        assert mean == pytest.approx(want[cond]["mean"])
        assert [lo, hi] == pytest.approx(want[cond]["ci95"], nan_ok=True)
    # the objective scores of the same stimuli arrive beside the listeners' means
    qtbot.waitUntil(
        lambda: all(panel.table.item(r, 5).text() != "…" for r in range(5)), timeout=120_000
    )
    headers = [panel.table.horizontalHeaderItem(c).text() for c in range(panel.table.columnCount())]
    assert "STOI" in headers and any("PESQ (wideband, 16 kHz)" in h for h in headers)


def test_mushra_resumes_where_it_stopped(qtbot, window, tmp_path):
    w = window
    _clip(qtbot, w, tmp_path)
    d = w.listening.mushra_dialog()
    for k, box in d.k_boxes.items():
        box.setChecked(k == 4)
    w.listening.add_item()
    d.start_btn.click()
    run = _run(qtbot, w)
    folder = run.session.folder
    run.page.play_buttons[0].click()
    run.page.sliders[0].triggerAction(QSlider.SliderAction.SliderPageStepAdd)
    run.page.play_buttons[1].click()
    cond0 = run.session.current()["order"][0]
    run.window.close()  # the app goes away mid-item: everything given so far is on disk
    qtbot.waitUntil(lambda: w.listening.run is None)
    assert Session.open(folder).draft["scores"] == {cond0: 5.0}
    d = w.listening.mushra_dialog()
    assert d.resume_list.count() == 1
    d.resume_btn.click()
    run = _run(qtbot, w)
    page = run.page
    assert page.values[0].text() == "5" and page.touched == [True, False, False, False]
    assert "Still to play: 2 · still to rate: 3" in page.status.text()
    _rate_all(qtbot, run, [90, 20, 40, 60])
    page.next_btn.click()
    qtbot.waitUntil(lambda: w.listening.run is None)
    assert Session.open(folder).finished


def test_webmushra_export_from_the_app(qtbot, window, tmp_path):
    yaml = need_module("yaml")
    w = window
    _clip(qtbot, w, tmp_path)
    d = w.listening.mushra_dialog()
    w.listening.add_item()
    out = tmp_path / "web"
    out.mkdir()
    w.listening.export_webmushra(d.config(), str(out), "t1")
    qtbot.waitUntil(lambda: (out / "configs" / "t1.yaml").exists(), timeout=60_000)
    cfg = yaml.safe_load((out / "configs" / "t1.yaml").read_text())
    page = cfg["pages"][1]
    assert set(page["stimuli"]) == {"anchor35", "anchor70", "K1", "K2", "K4", "K8", "K16", "K32"}
    assert all((out / p).exists() for p in page["stimuli"].values())
