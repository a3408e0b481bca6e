"""A neutral timeline for a listening trial: where playback is, the loop, click to seek.

It draws no signal (no waveform, no level): the same empty bar whichever stimulus plays,
so it gives nothing away. The loop is a draggable region; `loopChanged(start, end)` in
seconds, or (0, 0) when looping is off.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor

from codec.report.theme import BACKGROUND, PLAYHEAD

LOOP_BRUSH = QColor(255, 209, 102, 50)


class Timeline(pg.PlotWidget):
    seekRequested = Signal(float)  # seconds
    loopChanged = Signal(float, float)  # seconds; (0, 0) = no loop

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=BACKGROUND)
        self.duration = 1.0
        p = self.getPlotItem()
        p.setMenuEnabled(False)
        p.setMouseEnabled(x=False, y=False)
        p.hideButtons()
        p.hideAxis("left")
        p.setLabel("bottom", "seconds")
        p.setYRange(0, 1, padding=0)
        self.setFixedHeight(62)
        self.playhead = pg.InfiniteLine(0, angle=90, movable=False, pen=pg.mkPen(PLAYHEAD, width=2))
        p.addItem(self.playhead, ignoreBounds=True)
        self.region = pg.LinearRegionItem(values=(0, 1), brush=QBrush(LOOP_BRUSH))
        self.region.setVisible(False)
        self.region.sigRegionChangeFinished.connect(self._region_moved)
        p.addItem(self.region, ignoreBounds=True)
        self.scene().sigMouseClicked.connect(self._clicked)
        self.setToolTip("click to move the playback position; drag the loop's edges")

    def set_duration(self, seconds: float) -> None:
        self.duration = max(float(seconds), 1e-3)
        self.getPlotItem().setXRange(0, self.duration, padding=0.01)
        self.region.setBounds((0, self.duration))

    def set_position(self, seconds: float) -> None:
        self.playhead.setValue(seconds)

    def set_loop(self, on: bool, start: float = 0.0, end: float = 0.0) -> None:
        """Show (and announce) the loop [start, end] s, or hide it."""
        if on:
            if end - start < 0.2:
                start, end = 0.0, self.duration
            self.region.setRegion((start, end))
        self.region.setVisible(on)
        self._region_moved()

    def loop(self) -> tuple[float, float] | None:
        if not self.region.isVisible():
            return None
        lo, hi = self.region.getRegion()
        return float(lo), float(hi)

    def _region_moved(self) -> None:
        lo_hi = self.loop()
        self.loopChanged.emit(*(lo_hi or (0.0, 0.0)))

    def _clicked(self, ev) -> None:
        vb = self.getPlotItem().vb
        if vb.sceneBoundingRect().contains(ev.scenePos()):
            t = vb.mapSceneToView(ev.scenePos()).x()
            self.seekRequested.emit(min(max(float(t), 0.0), self.duration))
