"""The Live tab: devices, start/stop, monitor choice, readouts and a scrolling token view.

It shows what the live controller (app.window.live) announces; the token view has its real
axes (every codebook of the loaded codec, the last SCROLL_S seconds) from the start.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
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

from codec.model.info import CodecInfo
from codec.report.theme import BACKGROUND

SCROLL_S = 10.0  # seconds of tokens on screen
READOUTS = (
    ("k", "codebooks (K)"),
    ("compute", "compute per frame"),
    ("first_out", "of it after the frame's end"),
    ("rtf", "real-time factor"),
    ("latency", "mic-to-speaker latency"),
    ("measured", "measured with a probe"),
    ("buffer", "jitter buffer"),
    ("dropped", "dropped input frames"),
    ("skipped", "skipped output (catching up)"),
    ("late", "late output (underruns)"),
    ("xruns", "device over/underflows"),
    ("steal", "CPU taken by the host"),
    ("frames", "frames"),
)


def latency_text(st) -> str:
    """The latency readout: the figure and where it comes from."""
    if not st.latency_source:
        return "–"
    how = "" if st.latency_source == "timestamps" else " (estimate: no device time stamps)"
    return f"{st.latency_ms:.0f} ms{how}"


def measured_text(st) -> str:
    """The probe's figure beside the readout, or why it failed."""
    if st.measured_latency_ms:
        return f"{st.measured_latency_ms:.0f} ms (readout {st.probe_readout_ms:.0f})"
    return st.probe_note or "–"


def steal_text(st) -> str:
    """The host's share of the CPU (virtual machines): the last second's and the session's."""
    if st.steal_pct is None:
        return "–"
    if st.steal_pct_session is None:
        return f"{st.steal_pct:.0f} %"
    return f"{st.steal_pct:.0f} % (session {st.steal_pct_session:.0f} %)"


class LivePanel(QWidget):
    def __init__(self, controller, backend) -> None:
        super().__init__()
        self.controller = controller
        self.backend = backend
        self.info: CodecInfo | None = None
        self.k = 1
        self.devices_reason = ""  # why live mode is unavailable ('' when it is)
        self.in_box, self.out_box = QComboBox(), QComboBox()
        self.refresh_devices()
        self.start_btn = QPushButton("● Start live round trip")
        self.start_btn.clicked.connect(self.toggle)
        self.hear_out = QRadioButton("hear the codec output")
        self.hear_in = QRadioButton("hear the input")
        self.hear_out.setChecked(True)
        self.hear_out.toggled.connect(
            lambda on: controller.set_monitor("output" if on else "input")
        )
        self.probe_btn = QPushButton("Measure latency")
        self.probe_btn.setToolTip(
            "plays a short chirp and finds it in what comes back: needs the speaker to reach "
            "the microphone (a loopback device, or speaker and mic in one room)"
        )
        self.probe_btn.setEnabled(False)
        self.probe_btn.clicked.connect(self.measure_latency)
        self.readouts = {key: QLabel("–") for key, _ in READOUTS}
        self.readouts["steal"].setToolTip(
            "time the hypervisor gave to other guests while this machine had work (Linux "
            "'steal'): audio served every few ms goes unserved then, whatever the app does"
        )
        self.readouts["latency"].setToolTip(
            "from PortAudio's time stamps of each block: when the sample now leaving the "
            "speaker entered the microphone ('estimate' where the host API gives none)"
        )
        form = QFormLayout()
        for key, title in READOUTS:
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
        left.addWidget(self.probe_btn)
        left.addWidget(self.note)
        left.addStretch(1)
        self._build_tokens()
        outer = QHBoxLayout(self)
        side = QWidget()
        side.setLayout(left)
        side.setFixedWidth(380)
        outer.addWidget(side)
        outer.addWidget(self.plot_widget, 1)
        self._last_draw = 0.0
        controller.started.connect(self._started)
        controller.frame.connect(self._on_frame)
        controller.finished.connect(self._finished)

    def _build_tokens(self) -> None:
        self.plot_widget = pg.GraphicsLayoutWidget()
        self.plot_widget.setBackground(BACKGROUND)
        self.plot = self.plot_widget.addPlot()
        self.plot.setLabel("left", "codebook (0 = semantic)")
        self.plot.setLabel("bottom", "seconds ago")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(self.image)
        self.dim = QGraphicsRectItem()  # rows at and above K are not decoded
        self.dim.setBrush(QBrush(QColor(0, 0, 0, 170)))
        self.dim.setPen(QPen(Qt.PenStyle.NoPen))
        self.dim.setZValue(10)
        self.plot.addItem(self.dim)
        self.tokens = np.zeros((1, 1), np.float32)
        self.plot.setXRange(-SCROLL_S, 0, padding=0)
        self.plot.setYRange(0, 1, padding=0)

    # ---- what the window tells it ------------------------------------------------------------
    def set_codec(self, info: CodecInfo) -> None:
        """The loaded codec: the token view spans its codebooks over the last SCROLL_S."""
        self.info = info
        frames = round(SCROLL_S * info.frame_rate)
        self.tokens = np.zeros((info.num_codebooks, frames), np.float32)
        self.plot.setYRange(0, info.num_codebooks, padding=0)
        self.plot.getAxis("left").setTicks(
            [[(r + 0.5, str(r)) for r in range(0, info.num_codebooks, 4)]]
        )
        self._draw(force=True)

    def set_k(self, k: int) -> None:
        self.k = k
        self.controller.set_k(k)
        self._draw(force=True)

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

    # ---- start / stop --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.controller.running

    def toggle(self) -> None:
        if self.running:
            self.stop()
        else:
            self.start()

    def start(self) -> bool:
        if self.in_box.count() == 0 or self.out_box.count() == 0:
            self.controller.error.emit(
                self.devices_reason
                or self.backend.reason
                or "live mode needs a microphone and a speaker"
            )
            return False
        monitor = "input" if self.hear_in.isChecked() else "output"
        ok = self.controller.start(
            self.in_box.currentData(), self.out_box.currentData(), self.k, monitor
        )
        if ok:
            self.tokens[:] = 0
            self.start_btn.setText("■ Stop")
            self.note.setText("opening the devices…")
        return ok

    def stop(self) -> None:
        self.controller.stop()

    def measure_latency(self) -> None:
        """Ask the running session to play the probe (its result arrives with a frame)."""
        if self.running:
            self.controller.request_probe()
            self.readouts["measured"].setText("measuring…")

    def _started(self, device_rate: int) -> None:
        resampled = self.info is not None and device_rate != self.info.sample_rate
        self.note.setText(f"device rate {device_rate} Hz" + (" (resampled)" if resampled else ""))
        self.probe_btn.setEnabled(True)

    def _finished(self, note: str) -> None:
        self.probe_btn.setEnabled(False)
        self.start_btn.setText("● Start live round trip")
        if note:
            self.note.setText(note)

    # ---- frames -------------------------------------------------------------------------------
    def _on_frame(self, codes: np.ndarray, st) -> None:
        self.tokens = np.roll(self.tokens, -1, axis=1)
        self.tokens[: len(codes), -1] = codes
        r = self.readouts
        r["k"].setText(str(st.k))
        threads = f", {st.threads} thread{'s' if st.threads > 1 else ''}" if st.threads else ""
        threads += "" if st.hops else ", whole frames"  # hops would not keep up here
        r["compute"].setText(f"{st.compute_ms:.1f} ms (avg {st.compute_ms_avg:.1f}{threads})")
        # the compute between a frame's last sample and its first sound: the latency's share
        r["first_out"].setText(f"{st.first_out_ms:.1f} ms (avg {st.first_out_ms_avg:.1f})")
        r["rtf"].setText(f"{st.rtf:.2f}")
        r["latency"].setText(latency_text(st))
        if st.probe_note or st.measured_latency_ms:
            r["measured"].setText(measured_text(st))
        r["buffer"].setText(f"{st.buffer_ms:.0f} ms")
        r["skipped"].setText(f"{st.skipped} cuts, {st.skipped_ms:.0f} ms" if st.skipped else "0")
        r["late"].setText(f"{st.late}, {st.late_ms:.0f} ms skipped" if st.late else "0")
        r["steal"].setText(steal_text(st))
        r["xruns"].setText(
            f"{st.xruns} (in {st.xruns_in}, out {st.xruns_out})" if st.xruns else "0"
        )
        for key in ("dropped", "frames"):
            r[key].setText(str(getattr(st, key)))
        self.k = st.k
        self._draw()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.info is None or (not force and now - self._last_draw < 0.05):
            return
        self._last_draw = now
        n = self.info.num_codebooks
        self.image.setImage(self.tokens, levels=(0, self.info.codebook_size - 1), autoLevels=False)
        self.image.setRect(QRectF(-SCROLL_S, 0, SCROLL_S, n))
        self.dim.setRect(QRectF(-SCROLL_S, self.k, SCROLL_S, max(n - self.k, 0)))
