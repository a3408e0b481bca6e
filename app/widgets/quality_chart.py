"""Quality versus codebook count: one metric per K for the shown channel (pyqtgraph).

X is K on a log2 axis (1, 2, 4 ... up to the codec's count, evenly spaced; the sweep is
denser at small K). Points appear as the background sweep measures them; the current K is
a vertical line and a ring. Clicking near a point asks for that K. It opens on a perceptual
metric (STOI for speech, log-mel distance otherwise); the menu has the rest.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from codec.report.theme import BACKGROUND, PLAYHEAD, RECONSTRUCTION

# metric key -> (menu label, axis label, which way is better)
METRICS = {
    "si_sdr": ("SI-SDR", "SI-SDR (dB)", "higher is better"),
    "si_sdr_aligned": ("SI-SDR, delay-aligned", "SI-SDR aligned (dB)", "higher is better"),
    "mel_distance": ("log-mel distance", "log-mel distance", "lower is better"),
    "mrstft_distance": ("MR-STFT distance", "MR-STFT distance", "lower is better"),
    "stoi": ("STOI", "STOI", "higher is better"),
    "pesq_wb": ("PESQ (wideband, 16 kHz; speech)", "PESQ WB (MOS-LQO)", "higher is better"),
    "loudness_diff_lu": ("loudness B - A", "loudness B - A (LU)", "0 is best"),
}
CLICK_RADIUS_PX = 14


class QualityChart(QWidget):
    """A metric (chosen in a combo box) against K; `kClicked(k)` when a point is clicked."""

    kClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.metric = "stoi"
        self._chosen = False  # True once the user picked a metric: then it stays
        self.channel = 0
        self.k = 1
        self.num_codebooks = 0
        self._by_k: dict[int, list[dict]] = {}
        self.combo = QComboBox()
        self.combo.setToolTip("the metric drawn against the number of codebooks K")
        for key, (label, _, _) in METRICS.items():
            self.combo.addItem(label, key)
        self.combo.setCurrentIndex(self.combo.findData(self.metric))
        self.combo.activated.connect(self._metric_chosen)
        self.combo.currentIndexChanged.connect(self._metric_changed)
        self.status = QLabel("")
        self.status.setStyleSheet("color:#555;")
        self.plot = pg.PlotWidget(background=BACKGROUND)
        p = self.plot.getPlotItem()
        p.setMenuEnabled(False)
        p.setMouseEnabled(x=False, y=False)
        p.hideButtons()
        p.showGrid(x=True, y=True, alpha=0.15)
        p.setLabel("bottom", "codebooks K")
        p.getAxis("left").setWidth(48)
        p.getAxis("left").enableAutoSIPrefix(False)  # STOI 0.75 is 0.75, not 750 x 0.001
        self.empty = pg.TextItem("", color="#8a8a8a", anchor=(0.5, 0.5))
        p.addItem(self.empty, ignoreBounds=True)
        self.curve = p.plot(
            pen=pg.mkPen(RECONSTRUCTION, width=2),
            symbol="o",
            symbolSize=8,
            symbolBrush=RECONSTRUCTION,
            symbolPen=None,
        )
        self.k_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(PLAYHEAD, width=1))
        p.addItem(self.k_line, ignoreBounds=True)
        self.k_ring = pg.ScatterPlotItem(
            size=16, pen=pg.mkPen(PLAYHEAD, width=2), brush=None, symbol="o"
        )
        p.addItem(self.k_ring)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.plot.setToolTip("click a point to listen at that K")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("Quality vs K")
        top.addWidget(self.title, 1)
        top.addWidget(self.combo)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.status)
        self._redraw()

    # ---- data --------------------------------------------------------------------------
    def set_codebooks(self, n: int) -> None:
        """The loaded codec's number of codebooks: the K axis runs 1..n."""
        self.num_codebooks = n
        p = self.plot.getPlotItem()
        ticks = [2**i for i in range(int(math.log2(n)) + 1)] + ([n] if n & (n - 1) else [])
        p.getAxis("bottom").setTicks([[(math.log2(k), str(k)) for k in ticks]])
        p.setXRange(-0.2, math.log2(n) + 0.2, padding=0)
        self._redraw()

    def set_default_metric(self, key: str) -> None:
        """The metric to open on (STOI for speech, log-mel otherwise) unless the user chose."""
        if not self._chosen and key in METRICS:
            self.combo.setCurrentIndex(self.combo.findData(key))

    def clear(self) -> None:
        self._by_k = {}
        self._redraw()

    def set_measurement(self, k: int, channels: list[dict]) -> None:
        """The metrics at k: one dict per channel (codec.analysis.metrics.compare)."""
        self._by_k[k] = channels
        self._redraw()

    def set_channel(self, channel: int) -> None:
        self.channel = channel
        self._redraw()

    def set_k(self, k: int) -> None:
        self.k = k
        self._redraw()

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def points(self) -> dict[int, float]:
        """{K: value} of the shown metric and channel, finite values only (what is drawn)."""
        out = {}
        for k in sorted(self._by_k):
            chans = self._by_k[k]
            if self.channel < len(chans):
                v = float(chans[self.channel].get(self.metric, float("nan")))
                if math.isfinite(v):
                    out[k] = v
        return out

    def point_scene_pos(self, k: int):
        """Where the point for k is drawn, in the plot's scene (for tests and tooltips)."""
        vb = self.plot.getPlotItem().vb
        return vb.mapViewToScene(pg.Point(math.log2(k), self.points()[k]))

    # ---- drawing -----------------------------------------------------------------------
    def _metric_chosen(self) -> None:
        self._chosen = True

    def _metric_changed(self) -> None:
        self.metric = self.combo.currentData()
        self._redraw()

    def _redraw(self) -> None:
        pts = self.points()
        _, axis, better = METRICS[self.metric]
        p = self.plot.getPlotItem()
        p.setLabel("left", axis)
        self.title.setText(f"Quality vs K · channel {self.channel + 1}")
        self.plot.setToolTip(f"{axis}: {better}. Click a point to listen at that K.")
        xs = np.log2(np.array(list(pts), dtype=float)) if pts else np.zeros(0)
        ys = np.array(list(pts.values()), dtype=float)
        self.curve.setData(xs, ys)
        for axis_name in ("left", "bottom"):
            p.getAxis(axis_name).setStyle(showValues=bool(pts))
        self.k_line.setVisible(bool(pts))
        p.showGrid(x=bool(pts), y=bool(pts), alpha=0.15)
        if not pts:
            n = self.num_codebooks or 1
            self.empty.setText("quality per K appears here as it is measured")
            self.empty.setPos(math.log2(n) / 2, 0.5)
            p.setYRange(0, 1, padding=0)
        else:
            self.empty.setText("")
        self.k_line.setValue(math.log2(max(self.k, 1)))
        if self.k in pts:
            self.k_ring.setData([math.log2(self.k)], [pts[self.k]])
        else:
            self.k_ring.setData([], [])
        if len(ys):
            lo, hi = float(ys.min()), float(ys.max())
            pad = max(0.08 * (hi - lo), 0.05 * max(abs(lo), abs(hi)), 1e-3)
            p.setYRange(lo - pad, hi + pad, padding=0)

    def _clicked(self, ev) -> None:
        pts = self.points()
        if not pts:
            return
        vb = self.plot.getPlotItem().vb
        pos = ev.scenePos()
        best, best_d = None, float("inf")
        for k, v in pts.items():
            sp = vb.mapViewToScene(pg.Point(math.log2(k), v))
            d = math.hypot(sp.x() - pos.x(), sp.y() - pos.y())
            if d < best_d:
                best, best_d = k, d
        if best is not None and best_d <= CLICK_RADIUS_PX:
            self.kClicked.emit(best)
