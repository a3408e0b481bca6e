"""Token statistics per codebook for the shown channel (codec.analysis.token_stats).

A table beside the heatmap, one row per codebook as in the heatmap (0 = semantic): share of
the codebook's entries used, entropy in bits per token, and how often the token changes
from one frame to the next. Rows not decoded at the current K are greyed. The summary line
compares the ideal (entropy-coded) bitrate of the first K codebooks with the nominal one.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from codec.model.info import CodecInfo

COLUMNS = (
    ("cb", "codebook (0 = semantic)"),
    ("used", "share of the codebook's entries that occur in this clip"),
    ("H bits", "entropy of the tokens, bits per token (log2 N = nominal)"),
    ("change", "share of frames where the token differs from the previous frame"),
)
DIM = QBrush(QColor(130, 130, 130))


class TokenPanel(QWidget):
    """Per-codebook statistics of codes [K, F] of one channel."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stats: list[dict] = []
        self.k = 1
        self.title = QLabel("Token statistics")
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([c for c, _ in COLUMNS])
        for i, (_, tip) in enumerate(COLUMNS):
            self.table.horizontalHeaderItem(i).setToolTip(tip)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(18)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)

    def set_codes(
        self, codes: np.ndarray | None, info: CodecInfo | None = None, channel: int = 0
    ) -> None:
        """codes [K, F] of one channel made by the codec `info` describes, or None to clear."""
        from codec.analysis.token_stats import token_stats

        self.stats = (
            []
            if codes is None or info is None
            else token_stats(codes, info.codebook_size, info.frame_rate)
        )
        self.title.setText(
            "Token statistics" if codes is None else f"Token statistics · channel {channel + 1}"
        )
        self.table.setRowCount(len(self.stats))
        for r, st in enumerate(self.stats):
            change = st["change_rate"]
            cells = (
                str(st["codebook"]),
                f"{100 * st['used_share']:.1f} %",
                f"{st['entropy_bits']:.2f}",
                "n/a" if not math.isfinite(change) else f"{100 * change:.0f} %",
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.set_k(self.k)

    def set_k(self, k: int) -> None:
        """Grey the codebooks at and above k and sum the bitrates of the first k."""
        self.k = k
        for r in range(self.table.rowCount()):
            for c in range(self.table.columnCount()):
                item = self.table.item(r, c)
                if item is not None:
                    item.setForeground(DIM if r >= k else QBrush())
        used = self.stats[:k]
        if not used:
            self.summary.setText("")
            return
        ideal = sum(s["ideal_bitrate"] for s in used) / 1000
        nominal = sum(s["nominal_bitrate"] for s in used) / 1000
        self.summary.setText(
            f"K = {k}: {ideal:.2f} kbps with ideal entropy coding of this clip, "
            f"{nominal:.2f} kbps as sent ({100 * ideal / nominal:.0f} %)"
        )
