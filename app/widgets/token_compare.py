"""Two clips, token by token: for each codebook, clip A's row above clip B's on the aligned
axis (one column per aligned frame pair), coloured by meaning, with each codebook's
agreement (share of equal ids) and distance in codebook space beside it."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from codec.report.theme import BACKGROUND

GAP = 0.35  # blank height between codebooks, in rows


def paired_rows(geometry, result) -> np.ndarray:
    """RGB image [n_q * 2, P, 3]: per codebook, A's tokens then B's, along the alignment."""
    i, j = result.alignment.pairs[:, 0], result.alignment.pairs[:, 1]
    a, b = geometry.rgb(result.codes_a[:, i]), geometry.rgb(result.codes_b[:, j])
    out = np.empty((2 * a.shape[0], a.shape[1], 3), np.uint8)
    out[0::2], out[1::2] = a, b
    return out


class TokenCompareView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result = None
        self.summary = QLabel(
            "Compare tokens with… opens a second clip (say, the same words in "
            "another voice) and aligns it to this one."
        )
        self.summary.setWordWrap(True)
        self.plot = pg.PlotWidget(background=BACKGROUND)
        p = self.plot.getPlotItem()
        p.hideButtons()
        p.setMouseEnabled(y=False)
        p.invertY(True)
        p.setLabel("bottom", "aligned frame pairs")
        p.setLabel("left", "codebook (A above B)")
        p.getAxis("left").enableAutoSIPrefix(False)
        self.img = pg.ImageItem(axisOrder="row-major")
        p.addItem(self.img)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["cb", "agree", "distance"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(18)
        self.table.setToolTip(
            "agree: share of aligned frames with equal token ids; distance: mean distance "
            "between the two entries, in units of the codebook's mean distance between "
            "different entries (0 = equal, about 1 = unrelated)"
        )
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.plot)
        split.addWidget(self.table)
        split.setSizes([700, 230])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.summary)
        lay.addWidget(split, 1)

    def show_result(self, geometry, result, name_a: str) -> None:
        """result: a codec.analysis.tokens.TokenComparison (None clears)."""
        self.result = result
        if result is None or geometry is None:
            self.img.clear()
            self.table.setRowCount(0)
            return
        al = result.alignment
        how = (
            f"a whole-frame offset of {al.offset_frames} frames"
            if al.method == "offset"
            else "dynamic time warping"
        )
        scope = f" ({al.scope})" if al.scope else ""
        self.summary.setText(
            f"A = {name_a} (channel {result.channel + 1}), B = {result.name}: aligned by {how} "
            f"over {len(al.pairs)} frame pairs{scope}, mean similarity {al.similarity:.2f}."
        )
        rgb = paired_rows(geometry, result)
        n = rgb.shape[0] // 2
        # a thin gap between codebooks: draw each pair of rows, then leave space
        rows = []
        blank = np.full((1, rgb.shape[1], 3), 30, np.uint8)
        for q in range(n):
            rows += [rgb[2 * q : 2 * q + 2], blank]
        img = np.concatenate(rows)
        self.img.setImage(img, autoLevels=False, levels=(0, 255))
        self.img.setRect(QRectF(0, 0, img.shape[1], img.shape[0]))
        ticks = [(3 * q + 1, str(q)) for q in range(0, n, 4 if n > 8 else 1)]
        self.plot.getPlotItem().getAxis("left").setTicks([ticks])
        self.plot.getPlotItem().setYRange(0, img.shape[0], padding=0)
        self.plot.getPlotItem().setXRange(0, img.shape[1], padding=0)
        self.table.setRowCount(len(result.rows))
        for r, row in enumerate(result.rows):
            cells = (str(row["index"]), f"{100 * row['agreement']:.1f} %", f"{row['distance']:.2f}")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)

    def agreement_text(self, codebook: int) -> str:
        return self.table.item(codebook, 1).text()
