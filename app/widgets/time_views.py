"""The time-aligned views: waveforms, spectrograms, token heatmap (pyqtgraph).

All plots share one time axis in seconds: they are X-linked to a master plot, so zooming or
panning one moves all. Each has a playhead line, and a click on any of them asks to seek.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from .lod import PeakPyramid, code_columns

ORIGINAL = "#8ecae6"  # light blue, as in codec write-ups
RECONSTRUCTION = "#fb8500"  # orange
DIFFERENCE = "#b0b0b0"
STREAM_DIFFERENCE = "#e056fd"  # violet: streaming minus offline decode
SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
PLAYHEAD = "#ffd166"


RIGHT_COLUMN = 90  # px reserved right of every plot (the heatmap's colour bar) to align axes


class _TimeView(pg.GraphicsLayoutWidget):
    """Base: a column of X-linked plots with playheads and click-to-seek."""

    seekRequested = Signal(float)  # seconds

    def __init__(self, master: pg.PlotItem | None = None) -> None:
        super().__init__()
        self.setBackground("#1e1e1e")
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


def _pyramid(y: np.ndarray, given: list[PeakPyramid] | None, c: int) -> PeakPyramid:
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

    def __init__(self) -> None:
        super().__init__()
        self.show_difference = False
        self._orig: np.ndarray | None = None
        self._recon: np.ndarray | None = None
        self._recon_envelopes: list[PeakPyramid] | None = None
        self._stream_diff: np.ndarray | None = None
        self.stream_scale = 1.0
        self._rate = 24_000
        self.curves: list[dict[str, pg.PlotDataItem]] = []
        # per lane and curve: the full signal's pyramid, or None when the curve is empty
        self.pyramids: list[dict[str, PeakPyramid | None]] = []
        self.stream_labels: list[pg.TextItem] = []
        self.loop_region: pg.LinearRegionItem | None = None

    def set_original(
        self, x: np.ndarray, rate: int, envelopes: list[PeakPyramid] | None = None
    ) -> None:
        """x [C, T] at `rate` Hz: rebuilds one lane per channel. envelopes: x's pyramids
        (app.lod.envelopes), when already built off the GUI thread."""
        self.clear_plots()
        self._orig, self._recon, self._rate = x, None, rate
        self._stream_diff = None
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
        self._rate = 24_000

    def setup(self, rate: int) -> None:
        self.clear_plots()
        self._rate = rate
        self.images = {}
        for row, (key, title) in enumerate((("A", "A (Hz)"), ("B", "B (Hz)"))):
            p = self._add_plot(row, title)
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


class TokenHeatmap(_TimeView):
    """Codes of one channel: the semantic row apart, acoustic rows 1..31, 80 ms per column."""

    hovered = Signal(str)

    def __init__(self, master: pg.PlotItem | None = None) -> None:
        super().__init__(master)
        self.cmap = pg.colormap.get("viridis")
        self.codes: np.ndarray | None = None  # [K, F] for the shown channel
        self.frame_s = 0.08
        self.semantic = 1
        self.k = 32
        self.codebook_size = 2048
        self.sem_img = pg.ImageItem(axisOrder="row-major")
        self.ac_img = pg.ImageItem(axisOrder="row-major")
        self.dim = QGraphicsRectItem()
        self.dim.setBrush(QBrush(QColor(0, 0, 0, 170)))
        self.dim.setPen(QPen(Qt.PenStyle.NoPen))
        self.dim.setZValue(10)
        self.k_line = pg.InfiniteLine(
            angle=0,
            movable=False,
            pen=pg.mkPen(PLAYHEAD, width=1),
            label="K",
            labelOpts={"position": 0.02, "color": PLAYHEAD},
        )
        self.colorbar: pg.ColorBarItem | None = None
        self.lod: tuple[int, int, int] | None = None
        self.scene().sigMouseMoved.connect(self._moved)
        self._build()

    def _build(self) -> None:
        self.clear_plots()
        sem = self._add_plot(0, "semantic")
        sem.addItem(self.sem_img)
        sem.setMaximumHeight(60)
        sem.getAxis("left").setTicks([[(0.5, "0")]])
        sem.setMouseEnabled(y=False)
        ac = self._add_plot(1, "acoustic codebook")
        ac.addItem(self.ac_img)
        ac.addItem(self.dim)
        ac.addItem(self.k_line, ignoreBounds=True)
        ac.setMouseEnabled(y=False)
        ac.setLabel("bottom", "time", units="s")
        ac.vb.sigXRangeChanged.connect(lambda *_: self._draw_codes())
        for p in (sem, ac):  # the images cover only the drawn range: never auto-range to it
            p.enableAutoRange(x=False)
        self.ci.layout.setRowStretchFactor(1, 6)
        ac.getAxis("left").setTicks(
            [[(i + 0.5, str(i)) for i in (1, 4, 8, 12, 16, 20, 24, 28, 31)]]
        )
        self.colorbar = pg.ColorBarItem(
            values=(0, self.codebook_size - 1),
            colorMap=self.cmap,
            interactive=False,
            label="token id",
            width=14,
        )
        self.colorbar.setImageItem([self.sem_img, self.ac_img])
        self.addItem(self.colorbar, row=1, col=1)
        for img in (self.sem_img, self.ac_img):
            img.setColorMap(self.cmap)

    def set_codes(
        self, codes: np.ndarray | None, frame_s: float, codebook_size: int, semantic: int = 1
    ) -> None:
        """codes [K, F] of one channel (or None to clear); frame_s: seconds per frame.

        Only the columns for the visible range are drawn (`lod.code_columns`): at most a few
        thousand, every n-th frame when zoomed out, every frame when zoomed in.
        """
        self.codes, self.frame_s = codes, frame_s
        self.codebook_size, self.semantic = codebook_size, semantic
        self.lod: tuple[int, int, int] | None = None  # (first frame, step, columns) drawn
        if codes is None:
            self.sem_img.clear()
            self.ac_img.clear()
            return
        if self.colorbar is not None:
            self.colorbar.setLevels((0, codebook_size - 1))
        self.plots[0].setYRange(0, semantic, padding=0)
        self.plots[1].setYRange(semantic, codes.shape[0], padding=0)
        if self.master is None:  # on its own: show the whole map (linked: the master's range)
            self.plots[1].setXRange(0, codes.shape[1] * frame_s, padding=0)
        self._draw_codes()
        self.set_k(self.k)

    def _draw_codes(self) -> None:
        """Redraw the images for the current visible range, when their columns change."""
        if self.codes is None or not self.plots:
            return
        t0, t1 = self.plots[1].vb.viewRange()[0]
        img, first, step = code_columns(self.codes, t0 / self.frame_s, t1 / self.frame_s)
        lod = (first, step, img.shape[1])
        if lod == self.lod:
            return  # same columns as drawn: a pan within the padded range costs nothing
        self.lod = lod
        levels = (0, self.codebook_size - 1)
        img = img.astype(np.float32)
        x0, width = first * self.frame_s, img.shape[1] * step * self.frame_s
        s = self.semantic
        self.sem_img.setImage(img[:s], levels=levels, autoLevels=False)
        self.sem_img.setRect(QRectF(x0, 0, width, s))
        self.ac_img.setImage(img[s:], levels=levels, autoLevels=False)
        self.ac_img.setRect(QRectF(x0, s, width, img.shape[0] - s))

    def drawn_code(self, row: int, frame: int) -> float | None:
        """The value drawn for (codebook row, frame), or None when that frame is not drawn."""
        if self.lod is None:
            return None
        first, step, n = self.lod
        col, off = divmod(frame - first, step)
        if off or not 0 <= col < n:
            return None
        img = self.sem_img.image if row < self.semantic else self.ac_img.image
        return float(img[row if row < self.semantic else row - self.semantic, col])

    def set_k(self, k: int) -> None:
        """Dim the rows at and above k (those not decoded)."""
        self.k = k
        if self.codes is None:
            self.dim.setRect(QRectF())
            return
        n = self.codes.shape[0]
        width = self.codes.shape[1] * self.frame_s
        lo = max(k, self.semantic)
        self.dim.setRect(QRectF(0, lo, width, max(n - lo, 0)))
        self.k_line.setValue(lo)

    def describe(self, t: float, row_y: float, plot_index: int) -> str:
        """Text for the cell under (t seconds, y): codebook, time and token id."""
        if self.codes is None:
            return ""
        frame = int(t / self.frame_s)
        row = int(row_y)
        if plot_index == 0:
            row = min(max(row, 0), self.semantic - 1)
        if not (0 <= frame < self.codes.shape[1] and 0 <= row < self.codes.shape[0]):
            return ""
        kind = "semantic" if row < self.semantic else "acoustic"
        used = "" if row < self.k else " (not decoded at this K)"
        return (
            f"codebook {row} ({kind}) · t = {frame * self.frame_s:.2f} s (frame {frame}) · "
            f"token {int(self.codes[row, frame])}{used}"
        )

    def _moved(self, pos) -> None:
        for i, p in enumerate(self.plots):
            if p.sceneBoundingRect().contains(pos):
                v = p.vb.mapSceneToView(pos)
                text = self.describe(v.x(), v.y(), i)
                self.setToolTip(text)
                self.hovered.emit(text)
                return
