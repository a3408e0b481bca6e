"""The main window: sources, model, views, A/B transport, export. All coding is in the worker.

Beside the time views: the quality-versus-K chart (filled by a background sweep that yields
to the user's own requests), the metrics of the current K and the token statistics. The
transport can play B loudness-matched to A; a toggle runs the streaming-versus-offline check.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from codec.session import Comparison, sweep_ks

from .audio_io import AudioBackend, SoundDeviceBackend, has_input, has_output
from .metrics_panel import MetricsPanel
from .player import Player, loudness_match_gain
from .quality_chart import QualityChart
from .stream_check import StreamCheck, describe
from .sweep import SweepSchedule
from .token_panel import TokenPanel
from .views import SpectrogramView, TokenHeatmap, WaveformView
from .worker import WorkerThread

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "resources" / "samples"
AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.mp3 *.aiff *.aif *.au);;All files (*)"
MOSHI_K = 8
FALLBACKS = ("demo", "random:mimi")
# worker threads that did not stop when their window closed (see closeEvent)
_UNFINISHED: list[WorkerThread] = []


def bitrate_text(k: int, bits: float = 11.0, frame_rate: float = 12.5) -> str:
    kbps = k * bits * frame_rate / 1000
    tag = "  (Moshi's setting)" if k == MOSHI_K else ""
    return f"K = {k:2d} · {kbps:.2f} kbps{tag}"


class MainWindow(QMainWindow):
    reqLoadModel = Signal(str, str)
    reqOpen = Signal(int, str)
    reqOpenSession = Signal(int, object)
    reqEncode = Signal(int)
    reqDecode = Signal(int, int)
    reqExport = Signal(int, int, str)
    reqRebind = Signal(int)
    reqMeasure = Signal(int, int)  # job, k (background sweep)
    reqStreamCheck = Signal(int, int)  # job, k

    def __init__(
        self,
        backend: AudioBackend | None = None,
        model_source: str | None = None,
        device: str = "auto",
        settings: QSettings | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings or QSettings("mimi-explorer", "mimi-explorer")
        self.backend = backend or SoundDeviceBackend()
        self.player = Player(self.backend, on_error=self.show_error)
        self.threads = WorkerThread()
        self.worker = self.threads.worker
        self.session: Comparison | None = None
        self.job = 0
        self.k = MOSHI_K
        self.channel = 0
        self.model_info: dict | None = None
        self.model_source = model_source or str(self.settings.value("model", "kyutai/mimi"))
        self.device = device
        self._fallbacks: list[str] = []
        self._spectra: dict[str, tuple] = {}
        # per K: the decode's envelopes for the waveform view, built by the worker
        self._envelopes: dict[int, list] = {}
        self._pending_encode = False
        self.last_timing: dict[str, float] = {}
        # the measurements of the open file, as the worker sent them: k -> {"channels":
        # compare() per channel, "gain_db": loudness match}; numbers only, no audio
        self._measured: dict[int, dict] = {}
        self.sweep = SweepSchedule(self.reqMeasure.emit)
        self.stream_result: StreamCheck | None = None
        self._wire_worker()
        self._build_ui()
        self._build_menus()
        self._build_shortcuts()
        self.setAcceptDrops(True)
        self.timer = QTimer(self)
        self.timer.setInterval(33)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self._update_title()
        self._devices_check()
        self.load_model(
            self.model_source, self.device, fallback=model_source is None, remember=False
        )

    # ---- wiring ------------------------------------------------------------------------
    def _wire_worker(self) -> None:
        w = self.worker
        q = Qt.ConnectionType.QueuedConnection
        self.reqLoadModel.connect(w.load_model, q)
        self.reqOpen.connect(w.open_file, q)
        self.reqOpenSession.connect(w.open_session, q)
        self.reqEncode.connect(w.encode, q)
        self.reqDecode.connect(w.decode, q)
        self.reqExport.connect(w.export_audio, q)
        w.exported.connect(self._on_exported)
        self.reqRebind.connect(w.rebind, q)
        self.reqMeasure.connect(w.measure, q)
        self.reqStreamCheck.connect(w.stream_check, q)
        w.modelLoaded.connect(self._on_model_loaded)
        w.modelFailed.connect(self._on_model_failed)
        w.progress.connect(self._on_progress)
        w.opened.connect(self._on_opened)
        w.spectrogram.connect(self._on_spectrogram)
        w.encoded.connect(self._on_encoded)
        w.decoded.connect(self._on_decoded)
        w.failed.connect(self._on_failed)
        w.cancelled.connect(self._on_cancelled)
        w.measured.connect(self._on_measured)
        w.measureFailed.connect(self._on_measure_failed)
        w.streamChecked.connect(self._on_stream_checked)

    def _build_ui(self) -> None:
        self.resize(1400, 900)  # the side column and the toolbar fit from 1400 px
        tb = QToolBar("Transport")
        tb.setMovable(False)
        self.addToolBar(tb)
        self.play_btn = QPushButton("▶ Play")
        self.play_btn.clicked.connect(self.toggle_play)
        self.a_btn, self.b_btn = QPushButton("A original"), QPushButton("B codec")
        group = QButtonGroup(self)
        for b in (self.a_btn, self.b_btn):
            b.setCheckable(True)
            group.addButton(b)
        self.a_btn.setChecked(True)
        self.a_btn.clicked.connect(lambda: self.select_ab("A"))
        self.b_btn.clicked.connect(lambda: self.select_ab("B"))
        self.loop_btn = QPushButton("Loop")
        self.loop_btn.setCheckable(True)
        self.loop_btn.toggled.connect(self._toggle_loop)
        self.diff_btn = QPushButton("Difference")
        self.diff_btn.setCheckable(True)
        self.diff_btn.toggled.connect(lambda on: self.waveform.set_show_difference(on))
        self.match_btn = QPushButton("Match loudness")
        self.match_btn.setCheckable(True)
        self.match_btn.setToolTip(
            "play B at A's integrated loudness (BS.1770), so the louder one is not simply "
            "preferred; lowered where B would clip"
        )
        self.match_btn.toggled.connect(lambda _: self._update_gain())
        self.gain_label = QLabel("")
        self.gain_label.setMinimumWidth(90)
        self.stream_btn = QPushButton("Streaming vs offline")
        self.stream_btn.setCheckable(True)
        self.stream_btn.setToolTip(
            "code the clip frame by frame through the streaming encoder and decoder and "
            "compare with the batch path: equal codes, largest sample difference, and the "
            "difference trace (violet) on the waveforms"
        )
        self.stream_btn.toggled.connect(self._toggle_stream)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, 32)
        self.slider.setValue(self.k)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(MOSHI_K)
        self.slider.setFixedWidth(200)
        self.slider.setToolTip("codebooks decoded; 8 is Moshi's setting")
        self.slider.valueChanged.connect(self.set_k)
        self.k_label = QLabel(bitrate_text(self.k))
        self.k_label.setMinimumWidth(210)
        self.channel_box = QComboBox()
        self.channel_box.currentIndexChanged.connect(self._set_channel)
        for wdg in (self.play_btn, self.a_btn, self.b_btn, self.match_btn, self.gain_label):
            tb.addWidget(wdg)
        tb.addSeparator()
        for wdg in (self.loop_btn, self.diff_btn, self.stream_btn):
            tb.addWidget(wdg)
        tb.addSeparator()
        tb.addWidget(self.slider)  # the K readout beside it says what it is
        tb.addWidget(self.k_label)
        tb.addSeparator()
        tb.addWidget(QLabel(" channel "))
        tb.addWidget(self.channel_box)

        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#5c1f1f;color:white;padding:6px;")
        self.banner.hide()
        self.info = QLabel("Open a file (File ▸ Open, drag and drop) or record the microphone.")
        self.info.setStyleSheet("padding:4px;")
        self.waveform = WaveformView()
        self.spectro = SpectrogramView()
        self.heatmap = TokenHeatmap()
        self.hover_label = QLabel(" ")
        self.heatmap.hovered.connect(self.hover_label.setText)
        for v in (self.waveform, self.spectro, self.heatmap):
            v.seekRequested.connect(self.seek_seconds)
        self.views = QSplitter(Qt.Orientation.Vertical)
        for v in (self.waveform, self.spectro, self.heatmap):
            self.views.addWidget(v)
        self.views.setSizes([250, 230, 340])
        side = self._build_side()
        left = QWidget()
        lay = QVBoxLayout(left)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.info)
        lay.addWidget(self.stream_label)  # above the waveforms that carry its trace
        lay.addWidget(self.views, 1)
        lay.addWidget(self.hover_label)
        compare = QSplitter(Qt.Orientation.Horizontal)
        compare.addWidget(left)
        compare.addWidget(side)
        compare.setStretchFactor(0, 1)
        compare.setSizes([1000, 380])
        self.tabs = QTabWidget()
        self.tabs.addTab(compare, "Compare")
        from .live_panel import LivePanel

        self.live = LivePanel(self)
        self.live.error.connect(self.show_error)
        self.live.sessionReady.connect(self._live_finished)
        self.tabs.addTab(self.live, "Live")
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(self.banner)
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

    def _build_side(self) -> QSplitter:
        """The column beside the views: quality chart, metrics of K, token statistics."""
        self.chart = QualityChart()
        self.chart.kClicked.connect(self.slider.setValue)
        self.metrics_panel = MetricsPanel()
        self.stream_label = QLabel("")
        self.stream_label.setWordWrap(True)
        self.stream_label.setStyleSheet("color:#9b1fb8;padding:0 4px;")  # the trace's violet
        self.stream_label.hide()
        self.token_panel = TokenPanel()
        side = QSplitter(Qt.Orientation.Vertical)
        for w in (self.chart, self.metrics_panel, self.token_panel):
            side.addWidget(w)
        side.setSizes([230, 270, 320])  # beside waveform, spectrograms, heatmap
        side.setMinimumWidth(330)
        return side

    def _build_menus(self) -> None:
        m = self.menuBar().addMenu("&File")
        m.addAction("&Open…", QKeySequence.StandardKey.Open, self.open_dialog)
        self.recent_menu = m.addMenu("Open &recent")
        self.samples_menu = m.addMenu("&Sample clips")
        self.record_action = m.addAction("&Record from microphone…", self.record_dialog)
        m.addAction("&Encode the current file", QKeySequence("Ctrl+E"), self._encode_current)
        m.addSeparator()
        self.export_audio_action = m.addAction("Export &reconstruction…", self.export_audio)
        self.export_codes_action = m.addAction("Export &codes…", self.export_codes)
        m.addAction("Export views as &PNG…", self.export_png)
        m.addAction("Export report &figure…", self.export_report)
        m.addSeparator()
        m.addAction("&Quit", QKeySequence.StandardKey.Quit, self.close)
        self._fill_recent()
        self._fill_samples()

        mm = self.menuBar().addMenu("&Model")
        mm.addAction(
            "Mimi from the Hugging Face hub",
            lambda: self.load_model("kyutai/mimi", self.device, fallback=True),
        )
        mm.addAction("Bundled demo codec", lambda: self.load_model("demo", self.device))
        mm.addAction("Local weights file…", self.weights_dialog)
        mm.addAction(
            "Random weights (for testing)",
            lambda: self.load_model("random:mimi", self.device, remember=False),
        )
        dev = mm.addMenu("Device")
        group = QActionGroup(self)
        import torch

        for label, value in (
            ("Auto (GPU when present)", "auto"),
            ("CPU", "cpu"),
            ("GPU (CUDA)", "cuda"),
        ):
            act = QAction(label, self, checkable=True)
            act.setChecked(value == self.device)
            act.setEnabled(value != "cuda" or torch.cuda.is_available())
            act.triggered.connect(lambda _=False, v=value: self.set_device(v))
            group.addAction(act)
            dev.addAction(act)

    def _build_shortcuts(self) -> None:
        for key, fn in (
            (Qt.Key.Key_Space, self.toggle_play),
            (Qt.Key.Key_Tab, self.toggle_ab),
            (Qt.Key.Key_Up, lambda: self.slider.setValue(self.k + 1)),
            (Qt.Key.Key_Down, lambda: self.slider.setValue(self.k - 1)),
        ):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(fn)

    # ---- messages ----------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        self.banner.setText(f"⚠ {text}")
        self.banner.show()
        self.statusBar().showMessage(text, 10_000)

    def show_note(self, text: str) -> None:
        self.statusBar().showMessage(text, 8_000)

    def _update_title(self) -> None:
        name = self.session.name if self.session else "no file"
        model = self.model_info["description"] if self.model_info else "no model"
        self.setWindowTitle(f"Mimi Explorer — {name} — {model}")

    def _devices_check(self) -> None:
        out_reason, in_reason = has_output(self.backend), has_input(self.backend)
        self.play_btn.setEnabled(not out_reason)
        self.play_btn.setToolTip(out_reason or "Space")
        self.record_action.setEnabled(not in_reason)
        self.record_action.setToolTip(in_reason)
        self.live.set_devices_reason(in_reason or out_reason)
        if out_reason or in_reason:
            self.show_note("; ".join(r for r in (out_reason, in_reason) if r))
        self.audio_status = out_reason or in_reason

    # ---- model -------------------------------------------------------------------------
    def load_model(
        self, source: str, device: str = "auto", fallback: bool = False, remember: bool = True
    ) -> None:
        """Load in the worker; `remember` stores an explicit choice for the next start."""
        self._requested, self._remember_choice = source, remember
        self._fallbacks = [s for s in FALLBACKS if s != source] if fallback else []
        self.model_label.setText(f"model: loading {source}…")
        self.sweep.stop()  # its measurements would be of the old model
        self._busy("loading model", cancellable=False)
        self.reqLoadModel.emit(source, device)

    def set_device(self, device: str) -> None:
        self.device = device
        if self.model_info:
            self.load_model(self.model_info["source"], device)

    def weights_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Model weights", "", "Weights (*.safetensors);;All files (*)"
        )
        if path:
            self.load_model(path, self.device)

    def _on_model_loaded(self, info: dict) -> None:
        self.model_info = info
        self._idle()
        if info["source"] not in ("kyutai/mimi",) and self._fallback_reason:
            self.show_error(f"{self._fallback_reason} — using {info['description']} instead")
        self._fallback_reason = ""
        self.model_label.setText(f"model: {info['description']} · {info['device']}")
        self.slider.setMaximum(info["codebooks"])
        # a fallback is never remembered: the next start tries the user's choice again
        if self._remember_choice and info["source"] == self._requested:
            self.settings.setValue("model", info["source"])
        self._update_title()
        if self.session is not None:
            # a new job: whatever the old model still had queued for this file is stale
            self.job += 1
            self.worker.current_job = self.job
            self.reqRebind.emit(self.job)
            self._reset_analysis()
            self._encode_current()

    _fallback_reason = ""
    _requested = ""
    _remember_choice = False

    def _on_model_failed(self, msg: str) -> None:
        if self._fallbacks:
            nxt = self._fallbacks.pop(0)
            self._fallback_reason = self._fallback_reason or msg
            self.model_label.setText(f"model: {msg.split(':')[0]}; trying {nxt}…")
            self.reqLoadModel.emit(nxt, self.device)
            return
        self._idle()
        self.show_error(f"the model could not be loaded: {msg}")
        info = self.model_info  # the worker kept the model it had: say so, and go on with it
        self.model_label.setText(
            f"model: {info['description']} · {info['device']}" if info else "model: none"
        )
        self._update_title()
        s = self.session
        if s is not None and s.codes is not None and s.reconstruction(self.k) is not None:
            self._after_decode(self.k)  # load_model paused the sweep; the model is unchanged

    # ---- files -------------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = str(self.settings.value("last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open audio", start, AUDIO_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> None:
        self.job += 1
        self.worker.current_job = self.job
        self._reset_analysis()
        self.player.pause()
        self.banner.hide()
        self.info.setText(f"Loading {Path(path).name}…")
        self._busy("loading file")
        self.reqOpen.emit(self.job, str(path))
        self.settings.setValue("last_dir", str(Path(path).parent))

    def open_session(self, session: Comparison) -> None:
        """Show a ready-made comparison (a recording or a finished live session)."""
        self.job += 1
        self.worker.current_job = self.job
        self._reset_analysis()
        self.reqOpenSession.emit(self.job, session)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = [p for p in self.settings.value("recent", [], list) or [] if Path(p).exists()]
        for p in recent[:10]:
            self.recent_menu.addAction(p, lambda _=False, p=p: self.open_path(p))
        self.recent_menu.setEnabled(bool(recent))

    def _remember(self, path: Path | None) -> None:
        if path is None:
            return
        recent = [str(path)] + [
            p for p in (self.settings.value("recent", [], list) or []) if p != str(path)
        ]
        self.settings.setValue("recent", recent[:10])
        self._fill_recent()

    def _fill_samples(self) -> None:
        self.samples_menu.clear()
        files = sorted(SAMPLES_DIR.glob("*.flac")) if SAMPLES_DIR.is_dir() else []
        for f in files:
            self.samples_menu.addAction(
                f.stem.replace("_", " "), lambda _=False, f=f: self.open_path(str(f))
            )
        self.samples_menu.setEnabled(bool(files))

    def dragEnterEvent(self, ev) -> None:
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        urls = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])

    # ---- worker results ----------------------------------------------------------------
    def _on_opened(self, job: int, session: Comparison, envelopes: list) -> None:
        if job != self.job:
            return
        self.session = session
        self._spectra = {}
        self._envelopes = {}
        self.channel = 0
        self._reset_analysis()
        self.channel_box.blockSignals(True)
        self.channel_box.clear()
        self.channel_box.addItems([f"{c + 1}" for c in range(session.channels)])
        self.channel_box.blockSignals(False)
        self.waveform.set_original(session.x24, session.codec_rate, envelopes)
        self.spectro.setup(session.codec_rate)
        self.spectro.link_to(self.waveform.plots[0])
        self.heatmap.link_to(self.waveform.plots[0])
        self.heatmap.set_codes(None, 0.08, 2048)
        self.player.set_sources(session.x24)
        self.select_ab(self.player.selected)
        warn = f" · {'; '.join(session.warnings)}" if session.warnings else ""
        self.info.setText(
            f"{session.name} · {session.channels} ch · {session.source_rate} Hz · "
            f"{session.duration:.2f} s{warn}"
        )
        if session.warnings:
            self.show_error("; ".join(session.warnings))
        self._remember(session.path)
        self._update_title()
        self._idle()
        self._encode_current()

    def _encode_current(self) -> None:
        if self.session is None or self.model_info is None:
            return
        if self.session.codes is not None and self.session.model == self.model_info["description"]:
            self._show_codes()
            self.request_decode(self.k)
            return
        self.heatmap.set_codes(None, 0.08, 2048)
        self.waveform.set_reconstruction(None)
        self.player.set_b(None)
        self._busy("encoding")
        self.reqEncode.emit(self.job)

    def _on_encoded(self, job: int, codes: np.ndarray, seconds: float) -> None:
        if job != self.job or self.session is None:
            return
        self.last_timing["encode_s"] = seconds
        rtf = self.session.duration / seconds if seconds > 0 else float("inf")
        self.show_note(
            f"encoded {self.session.duration:.1f} s in {seconds:.2f} s ({rtf:.1f}x real time)"
        )
        self._show_codes()
        self.request_decode(self.k)

    def _show_codes(self) -> None:
        if self.session is None or self.session.codes is None:
            return
        info = self.model_info or {}
        self.heatmap.set_codes(
            self.session.codes[self.channel],
            1 / info.get("frame_rate", 12.5),
            info.get("codebook_size", 2048),
            info.get("semantic", 1),
        )
        self.heatmap.set_k(self.k)
        self.token_panel.set_codes(
            self.session.codes[self.channel],
            info.get("codebook_size", 2048),
            info.get("frame_rate", 12.5),
            self.channel,
        )

    def views_ready(self) -> bool:
        """True once the current file is encoded and its K decode and spectrograms are shown."""
        s = self.session
        return (
            s is not None
            and s.codes is not None
            and s.reconstruction(self.k) is not None
            and f"B{self.k}" in self._spectra
        )

    def request_decode(self, k: int) -> None:
        if self.session is None or self.session.codes is None:
            return
        self.worker.wanted_k = k
        cached = self.session.reconstruction(k)
        if cached is not None:
            self._apply_reconstruction(k, cached)
            return
        self._busy(f"decoding K={k}")
        self.worker.interactive_queued += 1  # a background measurement now steps aside
        self.reqDecode.emit(self.job, k)

    def _on_decoded(
        self, job: int, k: int, y: np.ndarray, seconds: float, envelopes: list | None
    ) -> None:
        if job != self.job:
            return
        if envelopes is not None and self.session is not None:
            # kept while the decode itself is cached (an envelope holds its signal)
            self._envelopes[k] = envelopes
            self._envelopes = {
                kk: e
                for kk, e in self._envelopes.items()
                if self.session.reconstruction(kk) is not None
            }
        if k != self.k:
            return
        if seconds:
            self.last_timing["decode_s"] = seconds
        self._idle()
        self._apply_reconstruction(k, y)

    def _apply_reconstruction(self, k: int, y: np.ndarray) -> None:
        self.waveform.set_reconstruction(y, self._envelopes.get(k))
        self.player.set_b(y)
        spec = self._spectra.get(f"B{k}")
        if spec:
            self.spectro.set_image("B", spec[0][self.channel], spec[1])
        else:
            self.spectro.set_image("B", None, 0)
        self.b_btn.setEnabled(True)
        self._update_gain()  # the whole decode's peak is known now
        self._after_decode(k)

    def _on_spectrogram(self, job: int, label: str, data) -> None:
        if job != self.job:
            return
        specs, spc = data
        self._spectra[label] = (specs, spc)
        if label == "A":
            self.spectro.set_image("A", specs[self.channel], spc)
        elif label == f"B{self.k}":
            self.spectro.set_image("B", specs[self.channel], spc)

    def _on_failed(self, job: int, msg: str) -> None:
        if job != self.job:
            return
        self._idle()
        self.info.setText("Open a file (File ▸ Open, drag and drop) or record the microphone.")
        self.show_error(msg)

    def _on_cancelled(self, job: int) -> None:
        if job == self.job:
            self._idle()
            self.show_note("cancelled")

    def _on_progress(self, job: int, what: str, done: int, total: int) -> None:
        if job not in (self.job, -1):
            return
        self.progress.show()
        self.progress.setFormat(f"{what} %p%")
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _busy(self, what: str, cancellable: bool = True) -> None:
        self.progress.show()
        self.progress.setRange(0, 0)
        self.progress.setFormat(what)
        self.cancel_btn.setVisible(cancellable)

    def _idle(self) -> None:
        self.progress.hide()
        self.cancel_btn.hide()

    def cancel(self) -> None:
        """Stop the running job at its next chunk; the file stays open (File ▸ Encode)."""
        self.job += 1
        self.worker.current_job = self.job  # the running job is now stale and stops
        self.reqRebind.emit(self.job)
        self.sweep.stop()  # restarts, skipping what is measured, after the next decode
        self.stream_btn.setChecked(False)
        self._idle()

    # ---- quality sweep and metrics -----------------------------------------------------
    def _reset_analysis(self) -> None:
        """Forget every measurement: a new file, a new model (nothing stale may show)."""
        self.sweep.stop()
        self._measured = {}
        self.chart.clear()
        self.chart.set_status("")
        self.token_panel.set_codes(None)
        self._show_metrics()
        self._update_gain()
        self._clear_stream_view("streaming vs offline: waiting for the decode…")

    def _after_decode(self, k: int) -> None:
        """The decode at k is shown: measure it first, then (once per job) sweep the rest."""
        if self.session is None or self.session.codes is None:
            return
        ks = sweep_ks(self.session.codes.shape[1])
        if self.sweep.job != self.job:
            self.sweep.start(self.job, [k] + [x for x in ks if x != k], set(self._measured))
        elif k not in self._measured:
            self.sweep.first(self.job, k)
        self._sweep_status()
        if self.stream_btn.isChecked():
            self._request_stream_check(k)

    def sweep_done(self) -> bool:
        """True once every K of the sweep is measured for the open file."""
        s = self.session
        return (
            s is not None
            and s.codes is not None
            and all(k in self._measured for k in sweep_ks(s.codes.shape[1]))
        )

    def _sweep_status(self) -> None:
        if self.session is None or self.session.codes is None:
            return
        ks = sweep_ks(self.session.codes.shape[1])
        n = sum(k in self._measured for k in ks)
        status = (
            f"measured {n} of {len(ks)} K ({', '.join(map(str, ks))})"
            if n < len(ks)
            else f"all {len(ks)} K measured · click a point to listen"
        )
        note = self.session.metrics_note
        self.chart.set_status(status + (f" · {note}" if note else ""))

    def _on_measured(self, job: int, k: int, payload: dict | None) -> None:
        if job != self.job:
            return  # another file, model or cancel since: never show it
        self.sweep.answered(job, k, payload is not None)
        if payload is None:
            return
        self._measured[k] = payload
        self.chart.set_measurement(k, payload["channels"])
        self._sweep_status()
        if k == self.k:
            self._show_metrics()
            self._update_gain()

    def _on_measure_failed(self, job: int, k: int, msg: str) -> None:
        if job != self.job:
            return
        self.sweep.answered(job, k, True)  # skip this K; the sweep goes on
        self.show_note(f"metrics at K = {k} failed: {msg}")

    def _show_metrics(self) -> None:
        if self.session is None or self.session.codes is None:
            self.metrics_panel.show_metrics(None, None)
            return
        p = self._measured.get(self.k)
        chans = p["channels"] if p else None
        m = chans[self.channel] if chans and self.channel < len(chans) else None
        self.metrics_panel.show_metrics(
            self.k, m, self.channel, self.session.codec_rate, self.session.metrics_note
        )

    # ---- loudness match ------------------------------------------------------------------
    def _update_gain(self) -> None:
        """Set B's playback gain: A's loudness when matching is on, else unity."""
        if not self.match_btn.isChecked():
            self.player.gain_b = 1.0
            self.gain_label.setText("")
            self.gain_label.setToolTip("")
            return
        p = self._measured.get(self.k)
        if p is None:
            self.player.gain_b = 1.0
            self.gain_label.setText("B: measuring…")
            self.gain_label.setToolTip("B plays unchanged until its loudness is measured")
            return
        peak = max(ch["peak_dbfs_est"] for ch in p["channels"])
        if self.session is not None and self.k in self.session.peak_dbfs:
            # the whole decode's peak: a long file's metrics see only excerpts of it
            peak = self.session.peak_dbfs[self.k]
        gain, limited = loudness_match_gain(p["gain_db"], peak)
        self.player.gain_b = float(10 ** (gain / 20))
        self.gain_label.setText(f"B {gain:+.1f} dB" + (" (peak limit)" if limited else ""))
        self.gain_label.setToolTip(
            f"B is played {gain:+.1f} dB to match A's integrated loudness"
            + (
                f"; matching needs {p['gain_db']:+.1f} dB, which would push B's peak "
                f"({peak:.1f} dBFS) past full scale, so B stays {p['gain_db'] - gain:.1f} dB "
                "quieter than A instead of clipping"
                if limited
                else ""
            )
        )

    # ---- streaming vs offline -----------------------------------------------------------
    def _toggle_stream(self, on: bool) -> None:
        if on:
            self.stream_label.show()
            self._clear_stream_view("streaming vs offline: waiting for the decode…")
            if self.session is not None and self.session.reconstruction(self.k) is not None:
                self._request_stream_check(self.k)
        else:
            self.worker.stream_k = 0  # a check in flight stops at its next frame
            self._clear_stream_view("")
            self.stream_label.hide()
            if self.progress.format().startswith("streaming"):
                self._idle()

    def _clear_stream_view(self, text: str) -> None:
        self.stream_result = None
        self.waveform.set_stream_difference(None)
        self.stream_label.setText(text)

    def _request_stream_check(self, k: int) -> None:
        if self.session is None or self.session.codes is None:
            return
        r = self.stream_result
        if r is not None and r.k == k:
            return
        self._clear_stream_view(f"streaming vs offline: coding frame by frame at K = {k}…")
        self.worker.stream_k = k
        self.worker.interactive_queued += 1
        self._busy("streaming check")
        self.reqStreamCheck.emit(self.job, k)

    def _on_stream_checked(self, job: int, check: StreamCheck) -> None:
        if job != self.job or not self.stream_btn.isChecked() or check.k != self.k:
            return
        self._idle()
        self.stream_result = check
        self.waveform.set_stream_difference(check.difference)
        self.stream_label.setText(describe(check))

    # ---- transport ---------------------------------------------------------------------
    def set_k(self, k: int) -> None:
        k = int(min(max(k, 1), self.slider.maximum()))
        self.k = k
        info = self.model_info or {}
        bits = np.log2(info.get("codebook_size", 2048))
        self.k_label.setText(bitrate_text(k, bits, info.get("frame_rate", 12.5)))
        self.heatmap.set_k(k)
        self.live.set_k(k)
        self.chart.set_k(k)
        self.token_panel.set_k(k)
        self._show_metrics()
        self._update_gain()
        if self.stream_btn.isChecked():
            self._clear_stream_view(f"streaming vs offline: waiting for K = {k}…")
        self.request_decode(k)

    def _live_finished(self, session: Comparison) -> None:
        self.tabs.setCurrentIndex(0)
        self.open_session(session)

    def _set_channel(self, c: int) -> None:
        if c < 0 or self.session is None:
            return
        self.channel = c
        self._show_codes()
        self.chart.set_channel(c)
        self._show_metrics()
        for key, label in (("A", "A"), ("B", f"B{self.k}")):
            spec = self._spectra.get(label)
            if spec:
                self.spectro.set_image(key, spec[0][c], spec[1])

    def toggle_play(self) -> None:
        if not self.play_btn.isEnabled():  # Space still reaches here: say why, play nothing
            self.show_note(self.play_btn.toolTip())
            return
        playing = self.player.toggle()
        self.play_btn.setText("⏸ Pause" if playing else "▶ Play")

    def select_ab(self, which: str) -> None:
        if which == "B" and not self.player.has_b():
            which = "A"
        self.player.select(which)
        (self.a_btn if which == "A" else self.b_btn).setChecked(True)

    def toggle_ab(self) -> None:
        self.select_ab("B" if self.player.selected == "A" else "A")

    def seek_seconds(self, t: float) -> None:
        if self.session is not None:
            self.player.seek(int(t * self.session.codec_rate))
            self.waveform.set_playhead(t)

    def _toggle_loop(self, on: bool) -> None:
        if self.session is None:
            return
        lo, hi = self.waveform.plots[0].vb.viewRange()[0] if self.waveform.plots else (0, 0)
        if on:
            start = max(lo, self.player.position / self.session.codec_rate)
            end = min(hi, self.session.duration)
            if end - start < 0.2:
                start, end = 0.0, self.session.duration
            self.waveform.set_loop(True, start, end)
            self.waveform.loop_region.sigRegionChanged.connect(self._loop_moved)
            self._loop_moved()
        else:
            self.waveform.set_loop(False)
            self.player.set_loop(None)

    def _loop_moved(self) -> None:
        if self.waveform.loop_region is None or self.session is None:
            return
        a, b = self.waveform.loop_region.getRegion()
        r = self.session.codec_rate
        self.player.set_loop(int(a * r), int(b * r))

    def _tick(self) -> None:
        err = self.player.check_stream()
        if err:
            self.show_error(err)
            self.play_btn.setText("▶ Play")
        if self.session is None:
            return
        t = self.player.position / self.session.codec_rate
        for v in (self.waveform, self.spectro, self.heatmap):
            v.set_playhead(t)
        if not self.player.playing and self.play_btn.text().startswith("⏸"):
            self.play_btn.setText("▶ Play")

    # ---- export ------------------------------------------------------------------------
    def export_audio(self, path: str | None = None) -> None:
        """Export B at the current K, at the source's rate and length (in the worker)."""
        s = self.session
        if s is None or s.reconstruction(self.k) is None:
            self.show_error("nothing to export yet: load a file and wait for the decode")
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self,
                "Export reconstruction",
                f"{Path(s.name).stem}_K{self.k}.wav",
                "WAV (*.wav);;FLAC (*.flac)",
            )
            if not path:
                return
        self._busy(f"exporting {Path(path).name}")
        self.worker.interactive_queued += 1  # a background measurement now steps aside
        self.reqExport.emit(self.job, self.k, str(path))

    def _on_exported(self, job: int, path: str, error: str) -> None:
        if job != self.job:
            return
        self._idle()
        if error:
            self.show_error(error)
        else:
            self.show_note(f"wrote {path}")

    def export_codes(self, path: str | None = None) -> None:
        s = self.session
        if s is None or s.codes is None:
            self.show_error("nothing to export yet: no codes")
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self,
                "Export codes",
                f"{Path(s.name).stem}.codes.safetensors",
                "Codes (*.safetensors)",
            )
            if not path:
                return
        import torch

        from codec.codes_io import CodesFile, save_codes
        from codec.errors import CodecError

        info = self.model_info or {}
        try:
            save_codes(
                path,
                CodesFile(
                    torch.from_numpy(s.codes),
                    s.source_rate,
                    s.source_length,
                    codec_sample_rate=s.codec_rate,
                    frame_rate=info.get("frame_rate", 12.5),
                    codebook_size=info.get("codebook_size", 2048),
                    model=s.model,
                ),
            )
        except CodecError as e:  # disk full, no permission...: a message, not a traceback
            self.show_error(str(e))
            return
        self.show_note(f"wrote {path}")

    def export_png(self, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export views", "views.png", "PNG (*.png)")
            if not path:
                return
        from codec.atomic import atomic_write

        # through a temp file beside the target: a failed or interrupted save never leaves
        # a truncated PNG under the chosen name; the format is explicit because the
        # temporary's name ends in .part, from which Qt could not guess it
        try:
            with atomic_write(path) as tmp:
                if not self.views.grab().save(str(tmp), "PNG"):
                    raise OSError(f"could not write {path}")
        except OSError as e:
            self.show_error(str(e) if str(path) in str(e) else f"could not write {path}: {e}")
            return
        self.show_note(f"wrote {path}")

    def export_report(self, path: str | None = None) -> None:
        """The report figure (codec.report.render_figure) of the open file at the current K."""
        s = self.session
        y = s.reconstruction(self.k) if s else None
        if s is None or s.codes is None or y is None:
            self.show_error("nothing to export yet: load a file and wait for the decode")
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export report figure", f"{Path(s.name).stem}_report.png", "PNG (*.png)"
            )
            if not path:
                return
        from PySide6.QtWidgets import QApplication

        from codec.report import render_figure

        info = self.model_info or {}
        metrics = {k: p["channels"] for k, p in sorted(self._measured.items())}
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            render_figure(
                s.x24,
                {self.k: y},
                s.codes,
                s.codec_rate,
                info.get("frame_rate", 12.5),
                metrics,
                self.k,
                path,
                title=f"{s.name} · {s.model}",
                codebook_size=info.get("codebook_size"),
            )
        except (OSError, ValueError) as e:
            self.show_error(f"could not write {path}: {e}")
            return
        finally:
            QApplication.restoreOverrideCursor()
        partial = "" if self.sweep_done() else f" (quality curve: {len(metrics)} K so far)"
        self.show_note(f"wrote {path}{partial}")

    # ---- recording ---------------------------------------------------------------------
    def record_dialog(self) -> None:
        from .record_dialog import RecordDialog

        dlg = RecordDialog(self.backend, self)
        dlg.recorded.connect(lambda p: (self._remember(Path(p)), self.open_path(p)))
        dlg.failed.connect(self.show_error)
        dlg.show()

    # ---- shutdown ----------------------------------------------------------------------
    def closeEvent(self, ev) -> None:
        self.timer.stop()
        self.player.close()
        # a live session runs its frame loop inside the worker's thread: end it first, or
        # the thread never returns to its event loop and cannot quit
        self.live.stop()
        if not self.threads.stop():
            # still busy after the timeout (a model load cannot be interrupted): say so
            # rather than let Qt destroy a running thread (which aborts the process)
            print("mimi-explorer: the codec worker did not stop in time", flush=True)
            _UNFINISHED.append(self.threads)  # never garbage-collected while it runs
        super().closeEvent(ev)
