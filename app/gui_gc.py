"""Python's cyclic garbage collector, run on the GUI thread only.

CPython runs a collection in whichever thread happens to allocate past the threshold. In
this app that is usually the codec worker or the metrics thread, which allocate the most.
A collection there can free the last Python reference to a Qt object that belongs to
another thread (a closed window's worker, timers, plot items). Qt objects must be
destroyed in their own thread; done elsewhere, a destructor races the GUI thread and can
crash or deadlock it (pyqtgraph's GarbageCollector exists for the same reason).

So automatic collection is switched off and a GUI-thread timer collects instead, by the
same generation thresholds CPython uses. Reference counting still frees everything that
is not in a cycle at once, in any thread; only cycles wait for the timer.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QTimer


class GuiThreadCollector(QObject):
    """Disables automatic gc and collects on a timer in the thread that creates it."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        """Collect the oldest generation whose count passed its threshold (CPython's rule)."""
        counts = gc.get_count()
        gen = -1
        for g in range(3):
            if counts[g] > self.thresholds[g]:
                gen = g
            else:
                break
        if gen >= 0:
            gc.collect(gen)


def install(app: QCoreApplication) -> GuiThreadCollector:
    """Once per application: collect garbage on the GUI thread only. Returns the collector
    (owned by app)."""
    found = app.findChild(GuiThreadCollector)
    if found is None:
        return GuiThreadCollector(app)
    gc.disable()  # whoever switched it back on since, threads must not collect
    return found
