"""The codebook space: a 2-D map (principal components) of one codebook's entries.

Point size follows how often this clip uses each entry; a line follows the clip's path
through the map, frame by frame; the entry under the playhead is lit while it plays. A menu
picks the codebook (codebook 0, the semantic one, by default).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from codec.report.theme import BACKGROUND, PLAYHEAD

PATH_FRAMES = 250  # the path drawn: the last 20 s before the playhead (Mimi's rate)


class CodebookMap(QWidget):
    codebookChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.geometry = None
        self.codes: np.ndarray | None = None  # [n_q, F] of the shown channel
        self.usage: np.ndarray | None = None  # [n_q, S]
        self.codebook = 0
        self.frame_s = 0.0
        self.frame = -1
        self.box = QComboBox()
        self.box.currentIndexChanged.connect(self._picked)
        self.title = QLabel("Codebook space")
        self.plot = pg.PlotWidget(background=BACKGROUND)
        p = self.plot.getPlotItem()
        p.setAspectLocked(True)
        p.hideButtons()
        p.setLabel("bottom", "principal component 1")
        p.setLabel("left", "principal component 2")
        for axis in ("left", "bottom"):
            p.getAxis(axis).enableAutoSIPrefix(False)
        self.path = p.plot(pen=pg.mkPen((142, 202, 230, 90), width=1))
        self.points = pg.ScatterPlotItem(pen=None)
        p.addItem(self.points)
        self.now = pg.ScatterPlotItem(size=18, pen=pg.mkPen(PLAYHEAD, width=2), brush=None)
        p.addItem(self.now)
        self.empty = pg.TextItem("the codebook map appears once a file is coded", color="#8a8a8a")
        p.addItem(self.empty)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.box)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.plot, 1)

    def set_data(self, geometry, codes, usage, frame_s: float) -> None:
        """geometry: the codec's CodebookGeometry; codes [n_q, F] and usage [n_q, S] of the
        shown channel (None clears the clip, keeping the codec's map)."""
        self.geometry, self.codes, self.usage, self.frame_s = geometry, codes, usage, frame_s
        n = 0 if geometry is None else len(geometry.maps)
        if self.box.count() != n:
            self.box.blockSignals(True)
            self.box.clear()
            for q in range(n):
                self.box.addItem(f"codebook {q}" + (" (semantic)" if q == 0 else ""), q)
            self.box.blockSignals(False)
            self.codebook = min(self.codebook, max(n - 1, 0))
            self.box.setCurrentIndex(self.codebook)
        self._draw()

    def _picked(self, i: int) -> None:
        if i >= 0:
            self.codebook = i
            self._draw()
            self.codebookChanged.emit(i)

    def _draw(self) -> None:
        g, q = self.geometry, self.codebook
        if g is None:
            self.points.setData([], [])
            self.path.setData([], [])
            self.empty.setText("the codebook map appears once a model is loaded")
            return
        xy = g.maps[q]
        used = self.usage[q] if self.usage is not None else np.zeros(len(xy))
        sizes = 3 + 14 * np.sqrt(used / max(used.max(), 1))
        colours = [
            pg.mkBrush(*c, 230 if u else 60) for c, u in zip(g.colours[q], used, strict=True)
        ]
        self.points.setData(xy[:, 0], xy[:, 1], size=sizes, brush=colours)
        self.empty.setText("" if self.codes is not None else "no file coded yet")
        self.title.setText(
            f"Codebook {q}: {len(xy)} entries, {int(np.count_nonzero(used))} used in this clip"
        )
        self.frame = -1
        self.show_frame(max(self.frame, 0))

    def show_frame(self, frame: int) -> None:
        """Light the entry of `frame` (the playhead's) and draw the path up to it."""
        if self.codes is None or self.geometry is None or frame == self.frame:
            return
        frame = min(max(frame, 0), self.codes.shape[1] - 1)
        self.frame = frame
        xy = self.geometry.maps[self.codebook]
        seq = self.codes[self.codebook, max(0, frame - PATH_FRAMES) : frame + 1]
        self.path.setData(xy[seq, 0], xy[seq, 1])
        e = int(self.codes[self.codebook, frame])
        self.now.setData([xy[e, 0]], [xy[e, 1]])

    def set_playhead(self, seconds: float) -> None:
        if self.frame_s > 0:
            self.show_frame(int(seconds / self.frame_s))
