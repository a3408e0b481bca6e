"""Cyclic garbage is collected on the GUI thread only (app/gui_gc.py).

Before this, a collection run by the codec worker (while it built a model) destroyed a
closed window's QObjects and deadlocked against the GUI thread, which was deleting widgets
at the same time: QObject::~QObject waiting for the GIL in the worker, ~QAction waiting
for Qt's lock in the GUI thread. These tests check the rule that prevents it.
"""

from __future__ import annotations

import gc
import threading
import weakref

import pytest


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def make_cycles(n: int) -> list[weakref.ref]:
    return [weakref.ref(Node()) for _ in range(n)]


@pytest.fixture()
def gc_enabled_at_start():
    """Start as a plain Python process would (automatic collection on); restore after."""
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_the_app_collects_cycles_on_its_own_thread_only(qtbot, gc_enabled_at_start):
    from app.gui_gc import GuiThreadCollector
    from app.launch import make_app

    app = make_app()
    collector = app.findChild(GuiThreadCollector)
    assert collector is not None and collector.timer.isActive()
    assert not gc.isenabled()  # no thread collects by itself any more

    collected_in: list[str] = []

    def note(phase: str, info: dict) -> None:
        if phase == "start":
            collected_in.append(threading.current_thread().name)

    gc.callbacks.append(note)
    try:
        refs: list[weakref.ref] = []
        # a worker thread making far more cycles than the first generation's threshold
        t = threading.Thread(target=lambda: refs.extend(make_cycles(20_000)), name="worker")
        t.start()
        t.join()
        assert "worker" not in collected_in
        assert sum(r() is not None for r in refs) == len(refs)  # not collected there ...
        # ... but by the GUI thread's timer, without anyone calling gc.collect()
        qtbot.waitUntil(lambda: all(r() is None for r in refs), timeout=10_000)
        assert collected_in and set(collected_in) == {"MainThread"}
    finally:
        gc.callbacks.remove(note)


def test_installing_twice_keeps_one_collector(qtbot):
    from app.gui_gc import GuiThreadCollector, install
    from app.launch import make_app

    app = make_app()
    first = install(app)
    assert install(app) is first
    assert len(app.findChildren(GuiThreadCollector)) == 1


def test_the_collector_follows_cpythons_generation_rule(qtbot, gc_enabled_at_start):
    """Nothing is collected below the first threshold; the oldest generation past its
    threshold is collected (a young collection would leave an old cycle alive)."""
    from app.gui_gc import GuiThreadCollector

    c = GuiThreadCollector(interval_ms=60_000)  # checked by hand here, not by the timer
    try:
        gc.collect()
        c.thresholds = (10_000_000, 10, 10)
        refs = make_cycles(1000)
        c.check()
        assert all(r() is not None for r in refs)  # below the threshold: left alone
        c.thresholds = (100, 1_000_000, 1_000_000)
        c.check()
        assert all(r() is None for r in refs)  # young cycles: a young collection
        # cycles that survived a collection while alive sit in the oldest generation
        alive = [Node() for _ in range(1000)]
        gc.collect(1)
        refs = [weakref.ref(n) for n in alive]
        del alive
        gc.collect(0)
        assert all(r() is not None for r in refs)  # a young collection misses them
        c.thresholds = (-1, -1, -1)  # every generation past its threshold
        c.check()
        assert all(r() is None for r in refs)
    finally:
        c.timer.stop()
        c.deleteLater()
