"""The time-aligned views: waveforms and spectrograms (pyqtgraph); the token views are in
app.widgets.token_view.

All plots share one time axis in seconds: they are X-linked to a master plot, so zooming or
panning one moves all. Each has a playhead line, and a click on any of them asks to seek.
Before there is anything to show, a view shows one line of text and no axes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from codec.analysis.levels import PeakPyramid
from codec.report.theme import (
    BACKGROUND,
    DIFFERENCE,
    ORIGINAL,
    PLAYHEAD,
    STREAM_DIFFERENCE,
)

SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


RIGHT_COLUMN = 90  # px reserved right of every plot (the heatmap's colour bar) to align axes


class _TimeView(pg.GraphicsLayoutWidget):
    """Base: a column of X-linked plots with playheads and click-to-seek."""

    seekRequested = Signal(float)  # seconds

    def __init__(self, master: pg.PlotItem | None = None) -> None:
        super().__init__()
        self.setBackground(BACKGROUND)
        self.master = master
        self.plots: list[pg.PlotItem] = []
        self.playheads: list[pg.InfiniteLine] = []
        self.scene().sigMouseClicked.connect(self._clicked)

    def _add_plot(self, row: int, title: str = "") -> pg.PlotItem:
        p = self.addPlot(row=row, col=0)
        p.setMenuEnabled(False)
        p.showGrid(x=True, y=False, alpha=0.15)
        p.getAxis("left").setWidth(56)
        if title:
            p.setLabel("left", title)
        link_to = self.master or (self.plots[0] if self.plots else None)
        if link_to is not None and link_to is not p:
            p.setXLink(link_to)
        line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(PLAYHEAD, width=1))
        line.setZValue(100)
        p.addItem(line, ignoreBounds=True)
        self.plots.append(p)
        self.playheads.append(line)
        return p

    def clear_plots(self) -> None:
        self.clear()
        self.plots, self.playheads = [], []
        self.addLabel("", row=0, col=1)
        self.ci.layout.setColumnFixedWidth(1, RIGHT_COLUMN)

    def show_placeholder(self, text: str) -> None:
        """Nothing to draw yet: one line of text, no axes."""
        self.clear()
        self.plots, self.playheads = [], []
        self.placeholder = self.addLabel(text, row=0, col=0, color="#8a8a8a")

    placeholder = None

    def link_to(self, master: pg.PlotItem) -> None:
        """Share `master`'s time axis (zoom and pan move both)."""
        self.master = master
        for p in self.plots:
            if p is not master:
                p.setXLink(master)

    def set_playhead(self, seconds: float) -> None:
        for line in self.playheads:
            line.setValue(seconds)

    def _clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.double():
            return
        for p in self.plots:
            if p.sceneBoundingRect().contains(ev.scenePos()):
                t = p.vb.mapSceneToView(ev.scenePos()).x()
                self.seekRequested.emit(max(0.0, float(t)))
                return


def _pyramid(y: np.ndarray, given, c: int) -> PeakPyramid:
    """Channel c's pyramid from `given` when it was built for this very signal, else one
    built here (on the GUI thread: 0.3 s for two hours)."""
    if given is not None and c < len(given):
        p = given[c]
        if len(p.y) == len(y) and np.may_share_memory(p.y, y):
            return p
    return PeakPyramid(np.asarray(y, np.float32))


class WaveformView(_TimeView):
    """One lane per channel: original (light blue) and reconstruction (orange) overlaid.

    Long signals stay responsive: each curve keeps a `PeakPyramid` and, on every change of
    the visible range, is given only the raw samples in view (zoomed in) or a min/max
    envelope of at most a few thousand blocks (zoomed out), never the whole signal.
    """

    CURVES = ("original", "reconstruction", "difference", "stream")

    def __init__(self, rate: int = 0) -> None:
        super().__init__()
        self.show_difference = False
        self._orig: np.ndarray | None = None
        self._recon: np.ndarray | None = None
        self._recon_envelopes: list[PeakPyramid] | None = None
        self._stream_diff: np.ndarray | None = None
        self.stream_scale = 1.0
        self._rate = rate
        self.curves: list[dict[str, pg.PlotDataItem]] = []
        # per lane and curve: the full signal's pyramid, or None when the curve is empty
        self.pyramids: list[dict[str, PeakPyramid | None]] = []
        self.stream_labels: list[pg.TextItem] = []
        self.loop_region: pg.LinearRegionItem | None = None
        self.show_placeholder("Open a file or record the microphone to see its waveform")

    def clear_signal(self, text: str) -> None:
        """Back to the empty state (no file)."""
        self._orig = self._recon = self._stream_diff = None
        self.curves, self.pyramids, self.stream_labels = [], [], []
        self.loop_region = None
        self.show_placeholder(text)

    def set_original(
        self, x: np.ndarray, rate: int, envelopes: list[PeakPyramid] | None = None
    ) -> None:
        """x [C, T] at `rate` Hz: rebuilds one lane per channel. envelopes: x's pyramids
        (app.lod.envelopes), when already built off the GUI thread."""
        self.clear_plots()
        self._orig, self._recon, self._rate = x, None, rate
        self._stream_diff = None
        self.loop_region = None
        self.curves, self.pyramids, self.stream_labels = [], [], []
        duration = x.shape[1] / rate
        for c in range(x.shape[0]):
            p = self._add_plot(c, f"ch {c + 1}" if x.shape[0] > 1 else "amplitude")
            p.setYRange(-1, 1, padding=0.02)
            # draws nothing; gives auto-range the whole file's extent, as curves hold a part
            p.plot([0.0, duration], [0.0, 0.0], pen=None)
            curves = {
                "original": p.plot(pen=pg.mkPen(ORIGINAL, width=1), skipFiniteCheck=True),
                # slightly transparent, so the original shows where they differ
                "reconstruction": p.plot(pen=pg.mkPen(QColor(251, 133, 0, 190), width=1)),
                "difference": p.plot(pen=pg.mkPen(DIFFERENCE, width=1)),
                "stream": p.plot(pen=pg.mkPen(STREAM_DIFFERENCE, width=1)),
            }
            self.curves.append(curves)
            self.pyramids.append({name: None for name in self.CURVES})
            self.pyramids[c]["original"] = _pyramid(x[c], envelopes, c)
            label = pg.TextItem("", color=STREAM_DIFFERENCE, anchor=(0, 0))
            label.setPos(0, 1)
            p.addItem(label, ignoreBounds=True)
            self.stream_labels.append(label)
            p.vb.sigXRangeChanged.connect(lambda *_, c=c: self._refresh(c))
        if self.plots:
            self.plots[-1].setLabel("bottom", "time", units="s")
            self.plots[0].setXRange(0, duration, padding=0)
        self._refresh_all()

    def _refresh_all(self) -> None:
        for c in range(len(self.curves)):
            self._refresh(c)

    def _refresh(self, c: int) -> None:
        """Give lane c's curves the points for its visible range (see `PeakPyramid.view`)."""
        if c >= len(self.plots):
            return
        t0, t1 = self.plots[c].vb.viewRange()[0]
        i0, i1 = int(np.floor(t0 * self._rate)), int(np.ceil(t1 * self._rate)) + 1
        for name, curve in self.curves[c].items():
            pyr = self.pyramids[c][name]
            if pyr is None:
                curve.setData([], [])
                continue
            x, y, _ = pyr.view(i0, i1)
            curve.setData(x / self._rate, y, skipFiniteCheck=True)

    def lod_block(self, channel: int = 0, name: str = "original") -> int:
        """Samples per drawn min/max block in the current view (1: raw samples)."""
        pyr = self.pyramids[channel][name]
        if pyr is None:
            return 0
        t0, t1 = self.plots[channel].vb.viewRange()[0]
        return pyr.view(int(np.floor(t0 * self._rate)), int(np.ceil(t1 * self._rate)) + 1)[2]

    def set_reconstruction(
        self, y: np.ndarray | None, envelopes: list[PeakPyramid] | None = None
    ) -> None:
        """y [C, T]: the decode, or None; envelopes: its pyramids, when already built."""
        self._recon, self._recon_envelopes = y, envelopes
        self._redraw_extra()

    def set_show_difference(self, on: bool) -> None:
        self.show_difference = on
        self._redraw_extra()

    def _redraw_extra(self) -> None:
        if self._orig is None:
            return
        n = self._orig.shape[1]
        for c, pyr in enumerate(self.pyramids):
            pyr["reconstruction"] = pyr["difference"] = None
            if self._recon is not None:
                y = np.asarray(self._recon[c, :n], np.float32)
                pyr["reconstruction"] = _pyramid(y, self._recon_envelopes, c)
                if self.show_difference:
                    pyr["difference"] = PeakPyramid(y - self._orig[c, : len(y)])
        self._refresh_all()

    def set_stream_difference(self, d: np.ndarray | None) -> None:
        """d [C, T]: streaming minus offline decode, drawn in violet; None removes it.

        The difference is usually tiny (float rounding), so it is drawn magnified by a power
        of ten that brings its peak to about half of full scale; the lane says by how much.
        """
        self._stream_diff = d
        peak = float(np.abs(d).max()) if d is not None and d.size else 0.0
        # x 1 .. x 1e6: a difference of 1e-9 is rounding noise and should look flat
        mag = 10.0 ** np.floor(np.log10(0.5 / peak)) if peak > 0 else 1.0
        self.stream_scale = float(min(max(mag, 1.0), 1e6))
        if self._orig is None:
            return
        n = self._orig.shape[1]
        for c, pyr in enumerate(self.pyramids):
            if d is None:
                pyr["stream"] = None
                self.stream_labels[c].setText("")
                continue
            pyr["stream"] = PeakPyramid(d[c, :n] * np.float32(self.stream_scale))
            exp = round(np.log10(self.stream_scale))
            gain = "" if exp == 0 else f" × 10{str(exp).translate(SUPERSCRIPT)}"
            self.stream_labels[c].setText(f"streaming − offline{gain}")
        self._refresh_all()

    def stream_trace(self, channel: int = 0) -> np.ndarray | None:
        """The whole streaming-minus-offline trace of a lane as drawn (scaled), or None."""
        pyr = self.pyramids[channel]["stream"] if channel < len(self.pyramids) else None
        return None if pyr is None or len(pyr.y) == 0 else pyr.y

    def lane_count(self) -> int:
        return len(self.plots)

    def set_loop(self, on: bool, start: float = 0.0, end: float = 0.0) -> None:
        if self.loop_region is not None:
            self.plots[0].removeItem(self.loop_region)
            self.loop_region = None
        if on and self.plots:
            self.loop_region = pg.LinearRegionItem(
                values=(start, end), brush=QBrush(QColor(255, 209, 102, 40))
            )
            self.plots[0].addItem(self.loop_region)


class SpectrogramView(_TimeView):
    """Spectrograms of the original and the reconstruction for one channel."""

    def __init__(self, master: pg.PlotItem | None = None) -> None:
        super().__init__(master)
        self.cmap = pg.colormap.get("inferno")
        self.images: dict[str, pg.ImageItem] = {}
        self._rate = 0
        self.show_placeholder("spectrograms of A and B appear here")

    def clear_signal(self, text: str) -> None:
        self.images = {}
        self.show_placeholder(text)

    def setup(self, rate: int) -> None:
        self.clear_plots()
        self._rate = rate
        self.images = {}
        for row, (key, title) in enumerate((("A", "A (Hz)"), ("B", "B (Hz)"))):
            p = self._add_plot(row, title)
            p.setYRange(0, rate / 2, padding=0)
            img = pg.ImageItem(axisOrder="row-major")
            img.setColorMap(self.cmap)
            p.addItem(img)
            self.images[key] = img
        self.plots[-1].setLabel("bottom", "time", units="s")

    def set_image(self, key: str, spec_db: np.ndarray | None, sec_per_col: float) -> None:
        img = self.images.get(key)
        if img is None:
            return
        if spec_db is None:
            img.clear()
            return
        top = float(spec_db.max())
        img.setImage(spec_db, levels=(top - 90, top), autoLevels=False)
        img.setRect(QRectF(0, 0, spec_db.shape[1] * sec_per_col, self._rate / 2))
