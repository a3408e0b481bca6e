"""The Compare tab: the time views (waveform, spectrograms, tokens) on one time axis, with
the quality chart, the metrics of K and the token statistics beside them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from .contributions_view import MODES, ContributionsView
from .metrics_panel import MetricsPanel
from .quality_chart import QualityChart
from .time_views import SpectrogramView, WaveformView
from .token_panel import TokenPanel
from .token_view import TokenHeatmap

EMPTY = "Open a file (File ▸ Open, drag and drop) or record the microphone."


class CompareView(QSplitter):
    def __init__(self) -> None:
        super().__init__(Qt.Orientation.Horizontal)
        self.info = QLabel(EMPTY)
        self.info.setStyleSheet("padding:4px;")
        self.stream_label = QLabel("")
        self.stream_label.setWordWrap(True)
        self.stream_label.setStyleSheet("color:#9b1fb8;padding:0 4px;")  # the trace's violet
        self.stream_label.hide()
        self.waveform = WaveformView()
        self.spectro = SpectrogramView()
        self.heatmap = TokenHeatmap()
        self.contributions = ContributionsView()
        self.hover_label = QLabel(" ")
        self.heatmap.hovered.connect(self.hover_label.setText)
        self.views = QSplitter(Qt.Orientation.Vertical)
        for v in self.time_views():
            self.views.addWidget(v)
        self.views.setSizes([210, 190, 290, 170])
        self.colour_box = QComboBox()
        self.colour_box.addItem("tokens coloured by meaning", "meaning")
        self.colour_box.addItem("tokens coloured by id", "id")
        self.colour_box.setToolTip(
            "by meaning: each codebook's entries coloured by where their vectors lie (near "
            "entries, near colours: a repeated sound shows as a repeated colour); by id: the "
            "entry's number, an arbitrary label"
        )
        self.colour_box.currentIndexChanged.connect(
            lambda: self.heatmap.set_mode(self.colour_box.currentData())
        )
        self.share_box = QComboBox()
        for key, (label, _tip) in MODES.items():
            self.share_box.addItem(f"codebooks: {label} of the latent", key)
        self.share_box.currentIndexChanged.connect(
            lambda: self.contributions.set_mode(self.share_box.currentData())
        )
        self.semantic_label = QLabel("")
        self.semantic_label.setWordWrap(True)
        self.semantic_label.setStyleSheet("color:#777;")
        left = QWidget()
        lay = QVBoxLayout(left)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.info)
        lay.addWidget(self.stream_label)  # above the waveforms that carry its trace
        lay.addWidget(self.views, 1)
        row = QHBoxLayout()
        row.addWidget(self.hover_label, 1)
        row.addWidget(self.colour_box)
        row.addWidget(self.share_box)
        lay.addLayout(row)
        lay.addWidget(self.semantic_label)
        self.chart = QualityChart()
        self.metrics_panel = MetricsPanel()
        self.token_panel = TokenPanel()
        side = QSplitter(Qt.Orientation.Vertical)
        for w in (self.chart, self.metrics_panel, self.token_panel):
            side.addWidget(w)
        side.setSizes([230, 270, 320])  # beside waveform, spectrograms, heatmap
        side.setMinimumWidth(330)
        self.addWidget(left)
        self.addWidget(side)
        self.setStretchFactor(0, 1)
        self.setSizes([1000, 380])

    def time_views(self) -> tuple:
        return (self.waveform, self.spectro, self.heatmap, self.contributions)
