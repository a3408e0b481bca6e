"""How the Compare tab follows the comparison controller: each announcement is passed to the
views that show it. Reading only: nothing here changes the comparison."""

from __future__ import annotations

from PySide6.QtCore import QObject

from codec.session.comparison import decode_key

from ..widgets.compare_view import EMPTY, CompareView
from ..widgets.token_view import semantic_note
from .compare import CompareController


class ViewBinding(QObject):
    def __init__(self, compare: CompareController, view: CompareView) -> None:
        super().__init__()
        self.compare, self.view = compare, view
        compare.comparisonChanged.connect(self._comparison)
        compare.analysisReset.connect(self._reset)
        compare.codesChanged.connect(self._codes)
        compare.kChanged.connect(self._k)
        compare.channelChanged.connect(self._channel)
        compare.reconstructionChanged.connect(self._reconstruction)
        compare.measured.connect(self._measured)
        compare.sweepStatus.connect(view.chart.set_status)
        compare.streamChecked.connect(self._stream)
        compare.infoText.connect(view.info.setText)
        compare.tokensAnalysed.connect(lambda _a: self._codes())

    # ---- a new file -------------------------------------------------------------------------
    def _comparison(self, c) -> None:
        v = self.view
        if c is None:
            for tv in v.time_views():
                tv.clear_signal(EMPTY)
            v.info.setText(EMPTY)
            return
        views = c.source_views
        v.waveform.set_original(c.x24, c.codec_rate, views.envelopes if views else None)
        v.spectro.setup(c.codec_rate)
        for tv in (v.spectro, v.heatmap, v.contributions):
            tv.link_to(v.waveform.plots[0])
        v.heatmap.set_codes(None)
        v.contributions.set_contributions(None)
        self._spectrum("A", views)
        v.chart.set_default_metric("stoi" if views is not None and views.speech else "mel_distance")
        self._reset()
        self._measured_all()
        self._show_metrics()

    def _reset(self) -> None:
        v = self.view
        v.chart.clear()
        v.chart.set_status("")
        v.token_panel.set_codes(None)
        v.metrics_panel.show_metrics(None, None)

    def _codes(self) -> None:
        c, v = self.compare.comparison, self.view
        if c is None or c.codes is None:
            v.heatmap.set_codes(None)
            v.contributions.set_contributions(None)
            v.token_panel.set_codes(None)
            v.waveform.set_reconstruction(None)
            v.spectro.set_image("B", None, 0)
            return
        ch, info, tokens = self.compare.channel, self.compare.info, self.compare.tokens
        usage = tokens.usage[ch] if tokens is not None else None
        v.heatmap.set_codes(c.codes[ch], info, self.compare.geometry, usage)
        v.heatmap.set_k(self.compare.k)
        v.contributions.set_contributions(tokens.contrib[ch] if tokens else None, info)
        v.contributions.set_k(self.compare.k)
        v.token_panel.set_codes(c.codes[ch], info, ch)
        v.semantic_label.setText(semantic_note(info))

    # ---- K and channel ------------------------------------------------------------------------
    def _k(self, k: int) -> None:
        v = self.view
        v.heatmap.set_k(k)
        v.contributions.set_k(k)
        v.chart.set_k(k)
        v.token_panel.set_k(k)
        self._show_metrics()

    def _channel(self, ch: int) -> None:
        c, v = self.compare.comparison, self.view
        self._codes()
        v.chart.set_channel(ch)
        self._show_metrics()
        if c is not None:
            self._spectrum("A", c.source_views)
            self._spectrum("B", c.views(decode_key(self.compare.k, self.compare.part)))

    def _spectrum(self, key: str, views) -> None:
        ch = self.compare.channel
        if views is None or ch >= len(views.spectrograms):
            self.view.spectro.set_image(key, None, 0)
        else:
            self.view.spectro.set_image(key, views.spectrograms[ch], views.seconds_per_column)

    def _reconstruction(self, k: int) -> None:
        c, v = self.compare.comparison, self.view
        if c is None or k != self.compare.k:
            return
        key = decode_key(k, self.compare.part)
        views = c.views(key)
        v.waveform.set_reconstruction(c.reconstruction(key), views.envelopes if views else None)
        self._spectrum("B", views)

    # ---- measurements ---------------------------------------------------------------------------
    def _measured(self, k: int) -> None:
        c = self.compare.comparison
        m = None if c is None else c.measurement(k)
        if m is not None:
            self.view.chart.set_measurement(k, [dict(ch) for ch in m.channels])
        if k == self.compare.k:
            self._show_metrics()

    def _measured_all(self) -> None:
        c = self.compare.comparison
        for k in [] if c is None else c.measurements():
            self._measured(k)

    def _show_metrics(self) -> None:
        c, k, ch = self.compare.comparison, self.compare.k, self.compare.channel
        if c is None or c.codes is None:
            self.view.metrics_panel.show_metrics(None, None)
            return
        m = c.measurement(k)
        metrics = dict(m.channels[ch]) if m is not None and ch < len(m.channels) else None
        self.view.metrics_panel.show_metrics(k, metrics, ch, c.codec_rate, m.scope if m else "")

    # ---- streaming vs offline --------------------------------------------------------------------
    def _stream(self, check, text: str) -> None:
        v = self.view
        v.waveform.set_stream_difference(None if check is None else check.difference)
        v.stream_label.setText(text)
        v.stream_label.setVisible(self.compare.stream_on)
