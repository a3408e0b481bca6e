"""The results of listening tests: the summary, a plot and a table (what `listening-stats`
prints, from the same numbers).

Plot (pyqtgraph): MUSHRA mean and 95 % confidence interval per condition, over all items
(white, large) and per item (colours, small, side by side), on the 0-100 scale with its
five bands. Table: per condition n, mean, median and the interval, and beside them the
objective scores of the same stimuli where the session measured them (STOI, wideband
PESQ for speech, log-mel distance, loudness against the reference). ABX pairs and the
post-screening's exclusions are in the summary text.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from codec.listening import report
from codec.listening.conditions import describe, sorted_conditions
from codec.listening.objective import OBJECTIVE
from codec.listening.stats import min_correct
from codec.report.theme import BACKGROUND, CHANNEL_COLOURS, FOREGROUND

from .mushra import BANDS

STAT_COLUMNS = ("condition", "n", "mean", "median", "95 % CI")


def _describe(name: str) -> str:
    try:
        return describe(name)
    except ValueError:  # a name from elsewhere (webMUSHRA's C1, ...)
        return name


def _fmt(v, fmt: str) -> str:
    return "n/a" if v is None or not math.isfinite(v) else fmt.format(v)


class ResultsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stats: dict | None = None
        self.objective: dict = {}
        self.title = QLabel("Listening test results")
        self.title.setStyleSheet("font-size: 15px; font-weight: bold;")
        self.abx = QLabel("")  # the ABX verdicts, in plain words, above everything else
        self.abx.setStyleSheet("font-size: 13px;")
        self.abx.setWordWrap(True)
        self.sources = QLabel("")
        self.sources.setWordWrap(True)
        self.sources.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.summary.setFont(mono)
        self.plot = pg.PlotWidget(background=BACKGROUND)
        p = self.plot.getPlotItem()
        p.setMenuEnabled(False)
        p.setMouseEnabled(x=False, y=False)
        p.hideButtons()
        p.setLabel("left", "MUSHRA score (mean, 95 % CI)")
        p.getAxis("left").setTicks([[(v, str(v)) for v in range(0, 101, 20)]])
        p.addLegend(offset=(-10, -10))  # bottom right, where the scores seldom are
        self.table = QTableWidget(0, len(STAT_COLUMNS) + len(OBJECTIVE))
        headers = [*STAT_COLUMNS, *(t for t, _, _ in OBJECTIVE.values())]
        self.table.setHorizontalHeaderLabels(headers)
        for col, (_, _, better) in enumerate(OBJECTIVE.values(), start=len(STAT_COLUMNS)):
            self.table.horizontalHeaderItem(col).setToolTip(
                f"objective score of the same stimuli before loudness matching; {better}"
            )
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.plot)
        split.addWidget(self.table)
        split.addWidget(self.summary)
        split.setSizes([420, 220, 180])
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.abx)
        lay.addWidget(self.sources)
        lay.addWidget(split, 1)

    # ---- content ------------------------------------------------------------------------------
    def show_results(self, stats: dict, objective: dict | None = None, sources=()) -> None:
        """stats: codec.listening.stats.all_stats(...); objective: {condition: scores}
        (codec.listening.objective.by_condition), when known; sources: the files read."""
        self.stats, self.objective = stats, dict(objective or {})
        self.sources.setText("from " + ", ".join(str(s) for s in sources) if sources else "")
        self.summary.setPlainText(report.text(stats))
        self.abx.setText("\n".join(report.abx_lines(stats["abx"])))
        self.abx.setVisible(bool(stats["abx"]["pairs"]))
        self._fill_table()
        self._draw()

    def set_objective(self, objective: dict) -> None:
        """Objective scores arrived (or grew) while the panel is shown."""
        if self.stats is not None:
            self.objective = dict(objective)
            self._fill_table()

    def _conditions(self) -> list[str]:
        m = self.stats["mushra"] if self.stats else {"conditions": {}}
        return list(m["conditions"])

    def _fill_table(self) -> None:
        """A row per condition rated (MUSHRA) or measured (an ABX pair's, too)."""
        conds = self.stats["mushra"]["conditions"] if self.stats else {}
        names = sorted_conditions([*conds, *self.objective]) if self.stats else []
        self.table.setRowCount(len(names))
        for r, name in enumerate(names):
            s = conds.get(name)
            cells = [name, *(["", "", "", ""] if s is None else self._stat_cells(s))]
            obj = self.objective.get(name)
            for key, (_, fmt, _) in OBJECTIVE.items():
                cells.append("…" if obj is None else _fmt(obj.get(key), fmt))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setToolTip(_describe(name))
                else:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(r, c, item)
            if obj is not None and obj.get("pesq_note"):
                col = len(STAT_COLUMNS) + list(OBJECTIVE).index("pesq_wb")
                self.table.item(r, col).setToolTip(f"PESQ undefined: {obj['pesq_note']}")

    @staticmethod
    def _stat_cells(s: dict) -> list[str]:
        return [
            str(s["n"]),
            _fmt(s["mean"], "{:.1f}"),
            _fmt(s["median"], "{:.1f}"),
            report.ci_text(s),
        ]

    def _draw(self) -> None:
        p = self.plot.getPlotItem()
        p.clear()
        if p.legend is not None:
            p.legend.clear()
        p.setLabel("left", "MUSHRA score (mean, 95 % CI)")
        conds = self._conditions()
        p.getAxis("bottom").setTicks([[(i, c) for i, c in enumerate(conds)]])
        p.setXRange(-0.8, max(len(conds) - 0.4, 0.6), padding=0)
        p.setYRange(0, 100, padding=0.02)
        for v in (20, 40, 60, 80):
            p.addItem(pg.InfiniteLine(v, angle=0, pen=pg.mkPen("#444444", width=1)))
        for i, band in enumerate(BANDS):
            t = pg.TextItem(band, color="#8a8a8a", anchor=(0, 0.5))
            t.setPos(-0.78, 90 - 20 * i)
            p.addItem(t)
        if not conds:
            if self.stats and self.stats["abx"]["pairs"]:
                self._draw_abx(p)
            return
        items = self.stats["mushra"]["items"]
        width = 0.5 / max(len(items), 1)
        for j, (item, per) in enumerate(items.items()):
            dx = -0.25 + width * (j + 0.5)
            colour = CHANNEL_COLOURS[j % len(CHANNEL_COLOURS)]
            self._series(p, conds, per, dx, colour, 7, f"item {item}")
        self._series(p, conds, self.stats["mushra"]["conditions"], 0.0, FOREGROUND, 12, "all items")

    def _draw_abx(self, p) -> None:
        """No MUSHRA ratings: each ABX pair's share of correct answers, with chance (50 %)
        and the share p < 0.05 needs."""
        pairs = self.stats["abx"]["pairs"]
        p.clear()
        p.setLabel("left", "ABX: correct answers (%)")
        p.getAxis("bottom").setTicks([[(i, name) for i, name in enumerate(pairs)]])
        p.setXRange(-0.8, max(len(pairs) - 0.4, 0.6), padding=0)
        p.addItem(
            pg.InfiniteLine(
                50, angle=0, pen=pg.mkPen("#888888", width=1, style=Qt.PenStyle.DashLine)
            )
        )
        t = pg.TextItem("chance", color="#8a8a8a", anchor=(0, 1))
        t.setPos(-0.78, 50)
        p.addItem(t)
        shares = [100 * d["correct"] / d["trials"] for d in pairs.values()]
        bars = pg.BarGraphItem(
            x=list(range(len(pairs))), height=shares, width=0.5, brush=FOREGROUND
        )
        p.addItem(bars)
        for i, d in enumerate(pairs.values()):
            need = min_correct(d["trials"])
            if need is not None:
                line = pg.PlotDataItem(
                    [i - 0.3, i + 0.3],
                    [100 * need / d["trials"]] * 2,
                    pen=pg.mkPen(CHANNEL_COLOURS[0], width=2),
                )
                p.addItem(line)
            label = pg.TextItem(f"{d['correct']}/{d['trials']}", color=FOREGROUND, anchor=(0.5, 1))
            label.setPos(i, shares[i])
            p.addItem(label)

    @staticmethod
    def _series(p, conds, per: dict, dx: float, colour: str, size: int, name: str) -> None:
        xs, ys, lo, hi = [], [], [], []
        for i, c in enumerate(conds):
            s = per.get(c)
            if s is None or not math.isfinite(s["mean"]):
                continue
            xs.append(i + dx)
            ys.append(s["mean"])
            a, b = s["ci95"]
            lo.append(s["mean"] - a if math.isfinite(a) else 0.0)
            hi.append(b - s["mean"] if math.isfinite(b) else 0.0)
        if not xs:
            return
        x, y = np.array(xs), np.array(ys)
        bars = pg.ErrorBarItem(
            x=x, y=y, bottom=np.array(lo), top=np.array(hi), beam=0.04, pen=pg.mkPen(colour)
        )
        p.addItem(bars)
        p.plot(x, y, pen=None, symbol="o", symbolSize=size, symbolBrush=colour, name=name)

    def plotted(self) -> dict[str, tuple[float, float, float]]:
        """{condition: (mean, CI low, CI high)} of the "all items" series (for tests)."""
        out = {}
        for c, s in (self.stats["mushra"]["conditions"] if self.stats else {}).items():
            out[c] = (s["mean"], *s["ci95"])
        return out


class ResultsWindow(QWidget):
    """A top-level window holding a ResultsPanel."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Listening test results")
        self.panel = ResultsPanel()
        lay = QVBoxLayout(self)
        lay.addWidget(self.panel)
        self.resize(1100, 860)
