"""A 2 ms timer on the GUI thread that records the gaps between its ticks: how long the
window went without answering (a stall shows as one long gap)."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer


class GapTimer:
    def __init__(self, interval_ms: int = 2) -> None:
        self.gaps: list[float] = []  # seconds between consecutive ticks
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
