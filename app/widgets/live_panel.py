"""The Live tab: devices, start/stop, monitor choice, readouts and a scrolling token view."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGraphicsRectItem,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from codec.audio import write_audio
from codec.errors import CodecError
from codec.session import Comparison

from .live import LiveEngine, LiveResult
from .recorder import recordings_dir

SCROLL_FRAMES = 125  # 10 s of tokens on screen


def free_stamp(folder: Path) -> str:
    """A time stamp naming no live session in `folder` yet (a suffix when one started in the
    same second): an earlier session's files are never overwritten."""
    base = time.strftime("%Y%m%d-%H%M%S")
    stamp, n = base, 1
    while any((folder / f"live-{stamp}-{s}.wav").exists() for s in ("input", "output")):
        n += 1
        stamp = f"{base}-{n}"
    return stamp


class LivePanel(QWidget):
    reqRun = Signal(object)
    sessionReady = Signal(object)  # Comparison made from a finished live session
    error = Signal(str)

    def __init__(self, window) -> None:
        super().__init__()
        self.window = window
        self.backend = window.backend
        self.engine: LiveEngine | None = None
        self.devices_reason = ""  # why live mode is unavailable ('' when it is)
        self._stamp = ""  # the start time that names the session's files
        self.reqRun.connect(window.worker.run_live, Qt.ConnectionType.QueuedConnection)
        window.worker.liveFrame.connect(self._on_frame)
        window.worker.liveFinished.connect(self._on_finished)
        self.in_box, self.out_box = QComboBox(), QComboBox()
        self.refresh_devices()
        self.start_btn = QPushButton("● Start live round trip")
        self.start_btn.clicked.connect(self.toggle)
        self.hear_out = QRadioButton("hear the codec output")
        self.hear_in = QRadioButton("hear the input")
        self.hear_out.setChecked(True)
        self.hear_out.toggled.connect(self._monitor_changed)
        self.readouts = {
            key: QLabel("–")
            for key in (
                "k",
                "compute",
                "rtf",
                "latency",
                "dropped",
                "skipped",
                "late",
                "xruns",
                "frames",
            )
        }
        form = QFormLayout()
        for key, title in (
            ("k", "codebooks (K)"),
            ("compute", "compute per frame"),
            ("rtf", "real-time factor"),
            ("latency", "end-to-end latency"),
            ("dropped", "dropped input frames"),
            ("skipped", "skipped output frames (catching up)"),
            ("late", "late output blocks"),
            ("xruns", "device over/underflows"),
            ("frames", "frames"),
        ):
            form.addRow(title, self.readouts[key])
        devices = QGroupBox("Devices")
        grid = QGridLayout(devices)
        grid.addWidget(QLabel("microphone"), 0, 0)
        grid.addWidget(self.in_box, 0, 1)
        grid.addWidget(QLabel("speaker"), 1, 0)
        grid.addWidget(self.out_box, 1, 1)
        grid.addWidget(self.hear_out, 2, 0)
        grid.addWidget(self.hear_in, 2, 1)
        self.note = QLabel("Change K with the slider in the toolbar (Up/Down) while it runs.")
        self.note.setWordWrap(True)
        left = QVBoxLayout()
        left.addWidget(devices)
        left.addWidget(self.start_btn)
        left.addLayout(form)
        left.addWidget(self.note)
        left.addStretch(1)
        self.plot_widget = pg.GraphicsLayoutWidget()
        self.plot_widget.setBackground("#1e1e1e")
        self.plot = self.plot_widget.addPlot()
        self.plot.setLabel("left", "codebook (0 = semantic)")
        self.plot.setLabel("bottom", "seconds ago")
        self.plot.setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(self.image)
        self.dim = QGraphicsRectItem()  # rows at and above K are not decoded
        self.dim.setBrush(QBrush(QColor(0, 0, 0, 170)))
        self.dim.setPen(QPen(Qt.PenStyle.NoPen))
        self.dim.setZValue(10)
        self.plot.addItem(self.dim)
        self.tokens = np.zeros((32, SCROLL_FRAMES), np.float32)
        outer = QHBoxLayout(self)
        side = QWidget()
        side.setLayout(left)
        side.setFixedWidth(380)
        outer.addWidget(side)
        outer.addWidget(self.plot_widget, 1)
        self._last_draw = 0.0

    def refresh_devices(self) -> None:
        self.in_box.clear()
        self.out_box.clear()
        for d in self.backend.devices():
            if d.max_input_channels:
                self.in_box.addItem(d.name, d.index)
            if d.max_output_channels:
                self.out_box.addItem(d.name, d.index)
        for box, kind in ((self.in_box, "input"), (self.out_box, "output")):
            i = box.findData(self.backend.default_device(kind))
            if i >= 0:
                box.setCurrentIndex(i)

    def set_devices_reason(self, reason: str) -> None:
        """Disable live mode with `reason` shown ('' enables it): it needs a mic and a speaker."""
        self.devices_reason = reason
        self.start_btn.setEnabled(not reason)
        self.start_btn.setToolTip(reason or "microphone -> codec -> speaker, frame by frame")
        if reason:
            self.note.setText(f"Live mode is unavailable: {reason}")

    @property
    def running(self) -> bool:
        return self.engine is not None

    def toggle(self) -> None:
        if self.running:
            self.stop()
        else:
            self.start()

    def start(self) -> bool:
        codec = self.window.worker.codec
        if codec is None:
            self.error.emit("live mode needs a model; none is loaded")
            return False
        if self.in_box.count() == 0 or self.out_box.count() == 0:
            self.error.emit(
                self.devices_reason
                or self.backend.reason
                or "live mode needs a microphone and a speaker"
            )
            return False
        ins, outs = self.in_box.currentData(), self.out_box.currentData()
        rates = [codec.sample_rate]
        rates += [
            int(d.default_samplerate)
            for d in self.backend.devices()
            if d.index == ins and int(d.default_samplerate) != codec.sample_rate
        ]
        last = ""
        # both signals stream to disk as they are made: a session survives the app being
        # killed, and memory stays flat however long it runs
        self._stamp = free_stamp(recordings_dir())
        spool = recordings_dir() / f"live-{self._stamp}"
        for rate in rates:
            engine = LiveEngine(
                codec, self.backend, ins, outs, device_rate=rate, k=self.window.k, spool=spool
            )
            try:
                engine.open()
            except RuntimeError as e:
                last = str(e)
                continue
            break
        else:
            self.error.emit(last)
            return False
        engine.monitor = "input" if self.hear_in.isChecked() else "output"
        self.engine = engine
        self.tokens[:] = 0
        self.start_btn.setText("■ Stop")
        self.note.setText(
            f"device rate {engine.device_rate} Hz"
            + (" (resampled with soxr)" if engine.device_rate != codec.sample_rate else "")
        )
        self.reqRun.emit(engine)
        return True

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.stop()

    def set_k(self, k: int) -> None:
        if self.engine is not None:
            self.engine.k = k  # read by the frame loop before each frame

    def _monitor_changed(self) -> None:
        if self.engine is not None:
            self.engine.monitor = "output" if self.hear_out.isChecked() else "input"

    def _on_frame(self, codes: np.ndarray, st: dict) -> None:
        self.tokens = np.roll(self.tokens, -1, axis=1)
        self.tokens[: len(codes), -1] = codes
        r = self.readouts
        r["k"].setText(str(st["k"]))
        r["compute"].setText(f"{st['compute_ms']:.1f} ms (avg {st['compute_ms_avg']:.1f})")
        r["rtf"].setText(f"{st['rtf']:.2f}")
        r["latency"].setText(f"{st['latency_ms']:.0f} ms")
        r["dropped"].setText(str(st["dropped"]))
        r["skipped"].setText(str(st["skipped"]))
        r["late"].setText(str(st["late"]))
        r["xruns"].setText(str(st["xruns"]))
        r["frames"].setText(str(st["frames"]))
        now = time.monotonic()
        if now - self._last_draw > 0.05:
            self._last_draw = now
            size = (
                self.window.model_info.get("codebook_size", 2048)
                if self.window.model_info
                else 2048
            )
            self.image.setImage(self.tokens, levels=(0, size - 1), autoLevels=False)
            width = SCROLL_FRAMES * 0.08
            self.image.setRect(QRectF(-width, 0, width, 32))
            self.dim.setRect(QRectF(-width, st["k"], width, 32 - st["k"]))

    def _on_finished(self, result: LiveResult, err: str) -> None:
        engine, self.engine = self.engine, None
        self.start_btn.setText("● Start live round trip")
        if err:
            self.error.emit(err)
        if engine is None or len(result.input24) == 0:
            return
        rate = engine.rate
        stamp = self._stamp or time.strftime("%Y%m%d-%H%M%S")
        if result.files is not None:  # spooled: the WAVs on disk are the session already
            a, b = result.files
        else:  # the spool could not be written (the engine said why): try once more here
            folder = recordings_dir()
            try:
                a = write_audio(folder / f"live-{stamp}-input.wav", result.input24[None], rate)
                b = write_audio(folder / f"live-{stamp}-output.wav", result.output24[None], rate)
            except CodecError as e:
                self.error.emit(f"the live session could not be saved: {e}")
                a = b = None
        s = Comparison(
            name=f"live {stamp}",
            source=result.input24[None],
            source_rate=rate,
            x24=result.input24[None],
            codec_rate=rate,
            path=a,
        )
        s.set_codes(result.codes[None], self.window.model_info["description"])
        if len(set(result.ks)) == 1:  # one K throughout: the live output is that decode
            s.store(result.ks[0], result.output24[None])
        if a is not None and b is not None:
            self.note.setText(f"saved {a.name} and {b.name} in {a.parent}")
        self.sessionReady.emit(s)
