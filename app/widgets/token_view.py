"""The token heatmap: one row per codebook, one column per frame, on the shared time axis.

Colours come from the codebooks' geometry by default ("meaning": near entries, near
colours, so a repeated sound shows as a repeated colour; codec.analysis.tokens), or from the
id ("id", with a colour bar). The semantic codebook(s) stand apart above the acoustic ones;
rows not decoded at the current K are dimmed. Every size comes from the loaded codec's
CodecInfo, so any codec draws right. Long files draw at most a few thousand columns
(every n-th frame when zoomed out, codec.analysis.levels.code_columns).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from codec.analysis.levels import code_columns
from codec.model.info import CodecInfo
from codec.report.theme import PLAYHEAD

from .time_views import _TimeView


def semantic_note(info: CodecInfo | None) -> str:
    """What codebook 0 of this codec is, in one honest sentence."""
    if info is None:
        return ""
    if info.distilled:
        return f"Codebook 0 (semantic) was distilled from {info.distilled}."
    return (
        "Codebook 0 of this codec was not distilled from a speech model: it is not "
        "semantic in Mimi's sense (it is simply the first of the two quantizer groups)."
    )


def codebook_ticks(n: int, first: int) -> list[tuple[float, str]]:
    """Tick marks for codebook rows first..n-1: the first, every 4th or 8th, the last."""
    step = 4 if n <= 40 else 8  # about ten labels on the axis
    rows = sorted({first, n - 1, *range(step * ((first + step - 1) // step), n, step)})
    return [(r + 0.5, str(r)) for r in rows if first <= r < n]


class TokenHeatmap(_TimeView):
    """Codes [n_q, F] of one channel, coloured by token id."""

    hovered = Signal(str)

    def __init__(self, master: pg.PlotItem | None = None) -> None:
        super().__init__(master)
        self.cmap = pg.colormap.get("viridis")
        self.info: CodecInfo | None = None
        self.codes: np.ndarray | None = None  # [n_q, F] for the shown channel
        self.geometry = None  # codec.analysis.tokens.CodebookGeometry: colours by meaning
        self.usage: np.ndarray | None = None  # [n_q, S] occurrences of each entry here
        self.mode = "meaning"  # or "id"
        self.drawn_ids = np.zeros((0, 0), np.int64)  # the ids of the columns drawn
        self.k = 1
        self.lod: tuple[int, int, int] | None = None
        self.scene().sigMouseMoved.connect(self._moved)
        self._build()
        self.set_codes(None)

    @property
    def frame_s(self) -> float:
        return self.info.frame_seconds if self.info else 0.0

    @property
    def semantic(self) -> int:
        return self.info.semantic_codebooks if self.info else 1

    @property
    def codebook_size(self) -> int:
        return self.info.codebook_size if self.info else 0

    def _build(self) -> None:
        """The two plots, built once: linking plots made later would disturb the time axis
        they join (pyqtgraph maps linked ranges through the views' geometry)."""
        self.clear_plots()
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
        sem = self._add_plot(0, "semantic")
        sem.addItem(self.sem_img)
        sem.setMaximumHeight(60)
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
        self.empty_text = pg.TextItem("", color="#8a8a8a", anchor=(0.5, 0.5))
        ac.addItem(self.empty_text, ignoreBounds=True)
        self.colorbar = pg.ColorBarItem(
            values=(0, 1), colorMap=self.cmap, interactive=False, label="token id", width=14
        )
        self.colorbar.setImageItem([self.sem_img, self.ac_img])
        self.addItem(self.colorbar, row=1, col=1)
        for img in (self.sem_img, self.ac_img):
            img.setColorMap(self.cmap)

    def _set_codec(self, info: CodecInfo, n: int) -> None:
        """Axes and colour scale for n codebooks of `info`'s codec."""
        sem, ac = self.plots
        s = info.semantic_codebooks
        sem.getAxis("left").setTicks([codebook_ticks(s, 0)])
        ac.getAxis("left").setTicks([codebook_ticks(n, s)])
        sem.setYRange(0, s, padding=0)
        ac.setYRange(s, n, padding=0)
        self.colorbar.setLevels((0, info.codebook_size - 1))

    def _show_empty(self, empty: bool) -> None:
        """No codes: no axes, grid, playhead or colour bar; one line of text instead."""
        for p, line in zip(self.plots, self.playheads, strict=True):
            p.showAxis("left", not empty)
            p.showAxis("bottom", not empty)
            p.showGrid(x=not empty, y=False, alpha=0.15)
            p.getAxis("left").enableAutoSIPrefix(False)
            line.setVisible(not empty)
        self.colorbar.setVisible(not empty)
        self.k_line.setVisible(not empty)
        if empty:
            self.sem_img.clear()
            self.ac_img.clear()
            self.dim.setRect(QRectF())
            self.plots[1].setYRange(0, 1, padding=0)
            x0, x1 = self.plots[1].vb.viewRange()[0]
            self.empty_text.setPos((x0 + x1) / 2, 0.5)
        self.empty_text.setText("tokens appear here once the file is encoded" if empty else "")

    def clear_signal(self, text: str = "") -> None:
        self.set_codes(None)

    def set_mode(self, mode: str) -> None:
        """Colour by "meaning" (the codebooks' geometry) or by "id"."""
        if mode not in ("meaning", "id"):
            raise ValueError(mode)
        self.mode = mode
        self.lod = None
        if self.codes is not None:
            self.colorbar.setVisible(not self._by_meaning())
            self._draw_codes()

    def _by_meaning(self) -> bool:
        return self.mode == "meaning" and self.geometry is not None

    def set_codes(
        self,
        codes: np.ndarray | None,
        info: CodecInfo | None = None,
        geometry=None,
        usage: np.ndarray | None = None,
    ) -> None:
        """codes [n_q, F] of one channel with the codec that made them, or None to clear;
        geometry colours them by meaning; usage [n_q, S] counts each entry in the clip.

        Only the columns for the visible range are drawn: at most a few thousand, every
        n-th frame when zoomed out, every frame when zoomed in.
        """
        self.codes = codes
        self.info = info or self.info
        self.geometry = geometry if geometry is not None else self.geometry
        self.usage = usage
        self.lod = None  # (first frame, step, columns) drawn
        if codes is None or self.info is None:
            self._show_empty(True)
            return
        self._set_codec(self.info, codes.shape[0])
        self._show_empty(False)
        self.colorbar.setVisible(not self._by_meaning())
        if self.master is None:  # on its own: show the whole map (linked: the master's range)
            self.plots[1].setXRange(0, codes.shape[1] * self.frame_s, padding=0)
        self._draw_codes()
        self.set_k(self.k)

    def _draw_codes(self) -> None:
        """Redraw the images for the current visible range, when their columns change."""
        if self.codes is None or len(self.plots) < 2:
            return
        t0, t1 = self.plots[1].vb.viewRange()[0]
        img, first, step = code_columns(self.codes, t0 / self.frame_s, t1 / self.frame_s)
        lod = (first, step, img.shape[1])
        if lod == self.lod:
            return  # same columns as drawn: a pan within the padded range costs nothing
        self.lod = lod
        self.drawn_ids = img
        x0, width = first * self.frame_s, img.shape[1] * step * self.frame_s
        s = self.semantic
        if self._by_meaning():
            rgb = self.geometry.rgb(img)  # [n_q, n, 3] uint8
            self.sem_img.setImage(rgb[:s], autoLevels=False, levels=(0, 255))
            self.ac_img.setImage(rgb[s:], autoLevels=False, levels=(0, 255))
        else:
            levels = (0, self.codebook_size - 1)
            ids = img.astype(np.float32)
            self.sem_img.setImage(ids[:s], levels=levels, autoLevels=False)
            self.ac_img.setImage(ids[s:], levels=levels, autoLevels=False)
        self.sem_img.setRect(QRectF(x0, 0, width, s))
        self.ac_img.setRect(QRectF(x0, s, width, img.shape[0] - s))

    def drawn_code(self, row: int, frame: int) -> float | None:
        """The token id drawn for (codebook row, frame), or None when that frame is not
        drawn (zoomed out, columns show every n-th frame)."""
        col = self._column(frame)
        return None if col is None else float(self.drawn_ids[row, col])

    def drawn_colour(self, row: int, frame: int) -> tuple[int, ...] | None:
        """The RGB colour drawn for (codebook row, frame) when colouring by meaning."""
        col = self._column(frame)
        if col is None or not self._by_meaning():
            return None
        img = self.sem_img.image if row < self.semantic else self.ac_img.image
        r = row if row < self.semantic else row - self.semantic
        return tuple(int(v) for v in img[r, col])

    def _column(self, frame: int) -> int | None:
        if self.lod is None:
            return None
        first, step, n = self.lod
        col, off = divmod(frame - first, step)
        return None if off or not 0 <= col < n else col

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
        token = int(self.codes[row, frame])
        often = ""
        if self.usage is not None:
            n = int(self.usage[row, token])
            often = f" · entry used {n}x here ({100 * n / max(self.codes.shape[1], 1):.1f} %)"
        return (
            f"codebook {row} ({kind}) · t = {frame * self.frame_s:.2f} s (frame {frame}) · "
            f"token {token}{often}{used}"
        )

    def _moved(self, pos) -> None:
        for i, p in enumerate(self.plots):
            if p.sceneBoundingRect().contains(pos):
                v = p.vb.mapSceneToView(pos)
                text = self.describe(v.x(), v.y(), i)
                self.setToolTip(text)
                self.hovered.emit(text)
                return
