"""What each codebook adds: a level-by-frame image on the shared time axis, with each
level's average beside it.

Two readings of one analysis (codec.analysis.tokens.Contributions): "share", the norm of
each level's vector in the latent relative to the latent's own norm (codebook 0's
P_sem(e_0), level q's P_ac(e_q)); and "residual", what the first k + 1 levels still leave
of the latent (row k), i.e. what K = k + 1 codebooks miss. Built once, like the token view,
and linked to the waveform's time axis.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from codec.analysis.levels import MAX_COLUMNS
from codec.model.info import CodecInfo
from codec.report.theme import PLAYHEAD

from .time_views import RIGHT_COLUMN, _TimeView
from .token_view import codebook_ticks

MODES = {
    "share": ("share", "each level's vector norm / the latent's norm"),
    "residual": ("left over", "norm of the latent minus the first k + 1 levels' sum"),
}


class ContributionsView(_TimeView):
    def __init__(self, master: pg.PlotItem | None = None) -> None:
        super().__init__(master)
        self.mode = "share"
        self.info: CodecInfo | None = None
        self.contrib = None  # Contributions of the shown channel
        self.k = 1
        self.cmap = pg.colormap.get("magma")
        self.clear()  # not clear_plots: the right-hand column holds the averages here
        self.plots, self.playheads = [], []
        self.ci.layout.setColumnFixedWidth(1, RIGHT_COLUMN)
        p = self._add_plot(0, "codebook")
        p.setMouseEnabled(y=False)
        p.enableAutoRange(x=False)
        p.setLabel("bottom", "time", units="s")
        p.getAxis("left").enableAutoSIPrefix(False)
        self.img = pg.ImageItem(axisOrder="row-major")
        self.img.setColorMap(self.cmap)
        p.addItem(self.img)
        self.k_line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(PLAYHEAD, width=1))
        p.addItem(self.k_line, ignoreBounds=True)
        self.empty_text = pg.TextItem("", color="#8a8a8a", anchor=(0.5, 0.5))
        p.addItem(self.empty_text, ignoreBounds=True)
        self.avg = self.addPlot(row=0, col=1)
        self.avg.setMouseEnabled(x=False, y=False)
        self.avg.hideButtons()
        self.avg.getAxis("left").hide()
        self.avg.getAxis("bottom").enableAutoSIPrefix(False)
        self.avg.setYLink(p)
        self.bars = pg.BarGraphItem(x0=0, y=[], height=0.8, width=[], brush="#fb8500")
        self.avg.addItem(self.bars)
        self.set_contributions(None)

    def clear_signal(self, text: str = "") -> None:
        self.set_contributions(None)

    def set_contributions(self, contrib, info: CodecInfo | None = None) -> None:
        """contrib: codec.analysis.tokens.Contributions of one channel, or None (empty)."""
        self.contrib, self.info = contrib, info or self.info
        p = self.plots[0]
        empty = contrib is None or self.info is None
        for axis in ("left", "bottom"):
            p.showAxis(axis, not empty)
        self.avg.setVisible(not empty)
        self.k_line.setVisible(not empty)
        self.playheads[0].setVisible(not empty)
        if empty:
            self.img.clear()
            p.setYRange(0, 1, padding=0)
            x0, x1 = p.vb.viewRange()[0]
            self.empty_text.setPos((x0 + x1) / 2, 0.5)
            self.empty_text.setText("what each codebook adds appears here once the file is coded")
            return
        self.empty_text.setText("")
        n = contrib.norms.shape[0]
        p.getAxis("left").setTicks([codebook_ticks(n, 0)])
        p.setYRange(0, n, padding=0)
        self._draw()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(mode)
        self.mode = mode
        if self.contrib is not None:
            self._draw()

    def set_k(self, k: int) -> None:
        self.k = k
        self.k_line.setValue(k)

    def values(self) -> np.ndarray:
        """[n_q, F]: what is drawn, relative to the latent's norm per frame."""
        c = self.contrib
        rows = c.norms if self.mode == "share" else c.residual
        return rows / np.maximum(c.latent_norm, 1e-12)[None]

    def averages(self) -> np.ndarray:
        c = self.contrib
        return c.mean_norm if self.mode == "share" else c.mean_residual

    def _draw(self) -> None:
        v = self.values().astype(np.float32)
        hi = float(np.percentile(v, 99)) or 1.0
        frames = v.shape[1]
        if frames > MAX_COLUMNS:  # a long file: the screen shows a few thousand columns
            per = -(-frames // MAX_COLUMNS)
            pad = (-frames) % per
            v = np.pad(v, ((0, 0), (0, pad)), mode="edge").reshape(v.shape[0], -1, per).mean(2)
        self.img.setImage(v, levels=(0.0, hi), autoLevels=False)
        frame_s = self.info.frame_seconds
        self.img.setRect(QRectF(0, 0, frames * frame_s, v.shape[0]))
        if self.master is None:
            self.plots[0].setXRange(0, v.shape[1] * frame_s, padding=0)
        avg = self.averages()
        self.bars.setOpts(y=np.arange(len(avg)) + 0.5, width=avg, x0=0, height=0.8)
        self.avg.setXRange(0, max(float(avg.max()), 1e-6) * 1.05, padding=0)
        label, tip = MODES[self.mode]
        self.plots[0].setLabel("left", f"codebook {label}")
        self.setToolTip(f"{label}: {tip}; beside it, each codebook's average over the clip")
        self.set_k(self.k)
