"""The main window: builds the widgets and connects them to the controllers.

It holds no state of the comparison: the controllers own it (app.window.compare: the file,
K, channel, streaming check; .transport: A/B, loop, loudness; .model; .exports; .live) and
announce changes, which the widgets follow. All coding runs in the codec worker.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from codec.session.policy import DEFAULT_POLICY, LongFilePolicy

from ..realtime.devices import AudioBackend, SoundDeviceBackend, has_input, has_output
from ..widgets.compare_view import CompareView
from ..widgets.live_panel import LivePanel
from ..widgets.messages import MessageBar
from ..widgets.tokens_tab import TokensTab
from ..widgets.transport_bar import TransportBar
from ..worker.codec_worker import WorkerThread
from . import menus
from .compare import DEFAULT_K, CompareController
from .exports import ExportController
from .listening import ListeningController
from .live import LiveController
from .model import ModelController
from .tokens import TokensController
from .transport import TransportController
from .view_binding import ViewBinding

AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.mp3 *.aiff *.aif *.au);;All files (*)"
# worker threads that did not stop when their window closed (see closeEvent)
_UNFINISHED: list[WorkerThread] = []


class MainWindow(QMainWindow):
    def __init__(
        self,
        backend: AudioBackend | None = None,
        model_source: str | None = None,
        device: str = "auto",
        settings: QSettings | None = None,
        policy: LongFilePolicy = DEFAULT_POLICY,
    ) -> None:
        super().__init__()
        self.settings = settings or QSettings("mimi-explorer", "mimi-explorer")
        self.backend = backend or SoundDeviceBackend()
        self.threads = WorkerThread(policy)
        self.worker = self.threads.worker
        self.compare = CompareController(self.worker)
        self.transport = TransportController(self.compare, self.backend)
        self.models = ModelController(self.worker, self.settings, device)
        self.exports = ExportController(self.compare, self.worker, self)
        self.live_ctl = LiveController(self.worker, self.backend)
        self.listening = ListeningController(self)  # blind listening tests (issue 13)
        self.tokens = TokensController(self.compare, self.worker)
        self._build_ui()
        menus.build_menus(self)
        menus.build_shortcuts(self)
        self._connect()
        self.setAcceptDrops(True)
        self.timer = QTimer(self)
        self.timer.setInterval(33)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self._update_title()
        self._devices_check()
        source = model_source or self.models.saved_source()
        self.models.load(source, device, remember=False)

    @property
    def player(self):
        return self.transport.player

    # ---- building -----------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.resize(1400, 900)  # the side column and the toolbar fit from 1400 px
        self.bar = TransportBar(DEFAULT_K)
        self.addToolBar(self.bar)
        self.messages = MessageBar()
        self.compare_view = CompareView()
        self.live = LivePanel(self.live_ctl, self.backend)
        self.tokens_tab = TokensTab()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.compare_view, "Compare")
        self.tabs.addTab(self.tokens_tab, "Tokens")
        self.tabs.addTab(self.live, "Live")
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(self.messages)
        outer.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        sb = self.statusBar()
        self.model_label = QLabel("model: loading…")
        self.progress = QProgressBar()
        self.progress.setFixedWidth(220)
        self.progress.hide()
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.hide()
        self.cancel_btn.clicked.connect(self.cancel)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_btn)
        sb.addPermanentWidget(self.model_label)
        v = self.compare_view
        self.waveform, self.spectro, self.heatmap = v.waveform, v.spectro, v.heatmap
        self.chart, self.metrics_panel, self.token_panel = v.chart, v.metrics_panel, v.token_panel
        self.stream_label = v.stream_label
        b = self.bar
        self.play_btn, self.a_btn, self.b_btn = b.play_btn, b.a_btn, b.b_btn
        self.slider, self.k_label, self.channel_box = b.slider, b.k_label, b.channel_box
        self.match_btn, self.gain_label, self.stream_btn = b.match_btn, b.gain_label, b.stream_btn

    def _connect(self) -> None:
        c, t, b, v = self.compare, self.transport, self.bar, self.compare_view
        self.binding = ViewBinding(c, v)
        # the toolbar drives the controllers ...
        b.play_btn.clicked.connect(self.toggle_play)
        b.a_btn.clicked.connect(lambda: t.select("A"))
        b.b_btn.clicked.connect(lambda: t.select("B"))
        b.match_btn.toggled.connect(t.set_match)
        b.loop_btn.toggled.connect(self._toggle_loop)
        b.diff_btn.toggled.connect(v.waveform.set_show_difference)
        b.stream_btn.toggled.connect(c.set_stream_check)
        b.part_box.currentIndexChanged.connect(lambda: c.set_part(b.part_box.currentData()))
        b.slider.valueChanged.connect(c.set_k)
        b.channel_box.currentIndexChanged.connect(c.set_channel)
        v.chart.kClicked.connect(c.set_k)
        for tv in v.time_views():
            tv.seekRequested.connect(self.seek_seconds)
        # ... and follows them
        c.kChanged.connect(b.set_k)
        c.kChanged.connect(self.live.set_k)
        c.comparisonChanged.connect(self._comparison)
        t.abChanged.connect(b.set_ab)
        t.bAvailable.connect(b.b_btn.setEnabled)
        t.playingChanged.connect(b.set_playing)
        t.gainShown.connect(b.set_gain)
        self.models.modelChanged.connect(self._model)
        self.models.label.connect(self.model_label.setText)
        self.live_ctl.sessionReady.connect(self._live_finished)
        self._connect_tokens()
        for src in (c, self.models, self.exports, self.tokens):
            src.busy.connect(self._busy)
            src.progress.connect(self._on_progress)
            src.idle.connect(self._idle)
            src.message.connect(self._message)
        for src in (c, self.exports):
            src.note.connect(self.show_note)
        for src in (t, self.live_ctl):
            src.error.connect(lambda text, key="audio": self._message(key, text, "error"))
        ls = self.listening  # blind listening tests (issue 13)
        ls.busy.connect(self._busy)
        ls.progress.connect(self._on_progress)
        ls.idle.connect(self._idle)
        ls.message.connect(self._message)
        ls.note.connect(self.show_note)

    def _connect_tokens(self) -> None:
        c, tab = self.compare, self.tokens_tab
        tab.compare_btn.clicked.connect(self.compare_tokens_dialog)
        self.tokens.compared.connect(
            lambda r: tab.compare_view.show_result(
                c.geometry, r, c.comparison.name if c.comparison else ""
            )
        )
        for sig in (c.codesChanged, c.channelChanged, c.tokensAnalysed, c.comparisonChanged):
            sig.connect(self._refresh_map)

    def _refresh_map(self, *_args) -> None:
        c = self.compare
        comp, tokens, ch = c.comparison, c.tokens, c.channel
        codes = None if comp is None or comp.codes is None else comp.codes[ch]
        usage = None if tokens is None or codes is None else tokens.usage[ch]
        frame_s = c.info.frame_seconds if c.info else 0.0
        self.tokens_tab.map.set_data(c.geometry, codes, usage, frame_s)
        from ..widgets.token_view import semantic_note

        self.tokens_tab.note.setText(semantic_note(c.info))

    def compare_tokens_dialog(self, path: str | None = None) -> None:
        """Tokens ▸ Compare tokens with…: a second clip, aligned to the open one."""
        if path is None:
            start = str(self.settings.value("last_dir", str(Path.home())))
            path, _ = QFileDialog.getOpenFileName(self, "Compare tokens with", start, AUDIO_FILTER)
            if not path:
                return
        self.tabs.setCurrentWidget(self.tokens_tab)
        self.tokens.compare_with(path, self.tokens_tab.align_box.currentData())

    # ---- messages -------------------------------------------------------------------------
    def _message(self, key: str, text: str, level: str) -> None:
        self.messages.show_message(key, text, level)
        if text:
            self.statusBar().showMessage(text, 10_000)

    def show_note(self, text: str) -> None:
        self.statusBar().showMessage(text, 8_000)

    def _update_title(self) -> None:
        c, info = self.compare.comparison, self.models.info
        name = c.name if c else "no file"
        self.setWindowTitle(f"Mimi Explorer — {name} — {info.description if info else 'no model'}")

    def _devices_check(self) -> None:
        out_reason, in_reason = has_output(self.backend), has_input(self.backend)
        self.play_btn.setEnabled(not out_reason)
        self.play_btn.setToolTip(out_reason or "Space")
        self.record_action.setEnabled(not in_reason)
        self.record_action.setToolTip(in_reason)
        self.live.set_devices_reason(in_reason or out_reason)
        if out_reason or in_reason:
            self.show_note("; ".join(r for r in (out_reason, in_reason) if r))

    # ---- following the controllers ----------------------------------------------------------
    def _model(self, info) -> None:
        self.bar.set_codec(info)
        v = self.compare_view
        v.chart.set_codebooks(info.num_codebooks)
        self.live.set_codec(info)
        self.live_ctl.info = info
        self.compare.set_model(info, self.models.geometry)
        self.bar.set_k(self.compare.k)
        self._update_title()

    def _comparison(self, c) -> None:
        self.bar.loop_btn.setChecked(False)
        if c is not None:
            self.bar.set_channels(c.channels)
            menus.remember(self, c.path)
        self._update_title()

    def _live_finished(self, comparison) -> None:
        self.tabs.setCurrentIndex(0)
        self.compare.open_comparison(comparison)

    # ---- actions --------------------------------------------------------------------------
    def open_path(self, path: str) -> None:
        self.transport.player.pause()
        self.settings.setValue("last_dir", str(Path(path).parent))
        self.compare.open_path(path)

    def open_dialog(self) -> None:
        start = str(self.settings.value("last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open audio", start, AUDIO_FILTER)
        if path:
            self.open_path(path)

    def weights_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Model weights", "", "Weights (*.safetensors);;All files (*)"
        )
        if path:
            self.models.load(path)

    def record_dialog(self) -> None:
        from ..widgets.record_dialog import RecordDialog

        dlg = RecordDialog(self.backend, self)
        dlg.recorded.connect(self.open_path)
        dlg.failed.connect(lambda text: self._message("audio", text, "error"))
        dlg.show()
        return dlg

    def toggle_play(self) -> None:
        if not self.play_btn.isEnabled():  # Space still reaches here: say why, play nothing
            self.show_note(self.play_btn.toolTip())
            return
        if self.transport.toggle_play():
            self._message("playback-gaps", "", "warning")  # a new play: an old warning goes

    def seek_seconds(self, t: float) -> None:
        if self.compare.comparison is not None:
            self.transport.seek_seconds(t)
            self.waveform.set_playhead(t)

    def cancel(self) -> None:
        self.compare.cancel()
        self.exports.cancel()
        self.bar.stream_btn.setChecked(False)

    def _toggle_loop(self, on: bool) -> None:
        c, w = self.compare.comparison, self.waveform
        if c is None or not w.plots:
            self.transport.set_loop(None)
            return
        if not on:
            w.set_loop(False)
            self.transport.set_loop(None)
            return
        lo, hi = w.plots[0].vb.viewRange()[0]
        start = max(lo, self.transport.position_seconds())
        end = min(hi, c.duration)
        if end - start < 0.2:
            start, end = 0.0, c.duration
        w.set_loop(True, start, end)
        w.loop_region.sigRegionChanged.connect(
            lambda: self.transport.set_loop(*w.loop_region.getRegion())
        )
        self.transport.set_loop(start, end)

    def _busy(self, what: str, cancellable: bool) -> None:
        self.progress.show()
        self.progress.setRange(0, 0)
        self.progress.setFormat(what)
        self.cancel_btn.setVisible(cancellable)

    def _on_progress(self, what: str, done: int, total: int) -> None:
        self.progress.show()
        self.progress.setFormat(f"{what} %p%")
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _idle(self) -> None:
        self.progress.hide()
        self.cancel_btn.hide()

    def _tick(self) -> None:
        err = self.transport.poll()
        if err:
            self._message("audio", err, "error")
        gaps = self.transport.gap_note()
        if gaps:
            self._message("playback-gaps", gaps, "warning")
        if self.compare.comparison is None:
            return
        t = self.transport.position_seconds()
        for v in self.compare_view.time_views():
            v.set_playhead(t)
        self.tokens_tab.map.set_playhead(t)

    # ---- drag and drop, shutdown -------------------------------------------------------------
    def dragEnterEvent(self, ev) -> None:
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        urls = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])

    def closeEvent(self, ev) -> None:
        self.timer.stop()
        self.listening.close()
        self.transport.player.close()
        # a live session runs its frame loop inside the worker's thread: end it first, or
        # the thread never returns to its event loop and cannot quit
        self.live_ctl.stop()
        if not self.threads.stop():
            # still busy after the timeout (a model load cannot be interrupted): say so
            # rather than let Qt destroy a running thread (which aborts the process)
            print("mimi-explorer: the codec worker did not stop in time", flush=True)
            _UNFINISHED.append(self.threads)  # never garbage-collected while it runs
        super().closeEvent(ev)
