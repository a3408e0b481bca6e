"""The metrics of the current K for the shown channel, as a small read-only table.

Columns: the metric, the original (A) where it has its own value (levels), and the codec
output (B). Values come from codec.analysis.metrics.compare; NaN (undefined, e.g. STOI of a clip
under 0.4 s) shows as "n/a".
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

# (row label, key for A or None, key for B, unit/format, tooltip)
ROWS = (
    ("SI-SDR", None, "si_sdr", "{:+.1f} dB", "scale-invariant signal-to-distortion ratio"),
    (
        "SI-SDR aligned",
        None,
        "si_sdr_aligned",
        "{:+.1f} dB",
        "SI-SDR after undoing the delay found by cross-correlation",
    ),
    ("delay", None, "lag_samples", "lag", "B's delay against A (positive = late)"),
    ("log-mel dist.", None, "mel_distance", "{:.3f}", "mean |log10 mel A - log10 mel B|"),
    ("MR-STFT dist.", None, "mrstft_distance", "{:.3f}", "multi-resolution STFT distance"),
    ("STOI", None, "stoi", "{:.3f}", "short-time objective intelligibility, 0..1"),
    (
        "PESQ WB (speech)",
        None,
        "pesq_wb",
        "{:.2f}",
        "PESQ (wideband, 16 kHz; ITU-T P.862.2), MOS-LQO 1 to 4.64. Defined for speech "
        "only; n/a where the ITU code finds no utterance or the clip is under 0.25 s",
    ),
    ("loudness", "lufs_ref", "lufs_est", "{:.1f} LUFS", "integrated loudness, BS.1770"),
    ("loudness B-A", None, "loudness_diff_lu", "{:+.1f} LU", "B's loudness minus A's"),
    ("peak", "peak_dbfs_ref", "peak_dbfs_est", "{:.1f} dBFS", "sample peak"),
    ("crest factor", "crest_db_ref", "crest_db_est", "{:.1f} dB", "peak-to-RMS ratio"),
)


def format_value(key: str, value: float | None, fmt: str, rate: int) -> str:
    if value is None:
        return "…"
    if not math.isfinite(value):
        return "∞" if value > 0 else "n/a"
    if fmt == "lag":
        return f"{value:+.0f} smp ({1000 * value / rate:+.1f} ms)"
    return fmt.format(value)


class MetricsPanel(QWidget):
    """Metrics of one K and one channel; `show_metrics(None)` while they are measured."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Metrics")
        self.table = QTableWidget(len(ROWS), 3)
        self.table.setHorizontalHeaderLabels(["", "A original", "B codec"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.verticalHeader().setDefaultSectionSize(19)
        hdr = self.table.horizontalHeader()
        hdr.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        hdr.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        hdr.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for r, (label, _, _, _, tip) in enumerate(ROWS):
            item = QTableWidgetItem(label)
            item.setToolTip(tip)
            self.table.setItem(r, 0, item)
            for c in (1, 2):
                cell = QTableWidgetItem("")
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, cell)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.table, 1)

    def show_metrics(
        self,
        k: int | None,
        metrics: dict | None,
        channel: int = 0,
        rate: int = 1,
        scope: str = "",
    ) -> None:
        """metrics: one channel's dict from codec.analysis.metrics.compare, or None (not yet known).

        scope: how they were measured when not on the whole signal (codec.analysis.excerpts).
        """
        if k is None:
            self.title.setText("Metrics")
        else:
            state = "" if metrics is not None else " · measuring…"
            where = f" · {scope}" if scope else ""
            self.title.setText(f"Metrics at K = {k} · channel {channel + 1}{where}{state}")
        for r, (_, key_a, key_b, fmt, _) in enumerate(ROWS):
            for col, key in ((1, key_a), (2, key_b)):
                if key is None or k is None:
                    text = ""
                else:
                    v = None if metrics is None else metrics.get(key)
                    text = format_value(key, v, fmt, rate)
                self.table.item(r, col).setText(text)

    def value_text(self, row_label: str, column: int = 2) -> str:
        """The text shown in a row (by its label) and column (1 = A, 2 = B)."""
        for r, row in enumerate(ROWS):
            if row[0] == row_label:
                return self.table.item(r, column).text()
        raise KeyError(row_label)
