"""Record from the microphone: pick the device, watch the level, stop. Saved before use."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from ..realtime.devices import AudioBackend
from ..realtime.recorder import Recorder


class RecordDialog(QDialog):
    recorded = Signal(str)  # path of the finished recording
    failed = Signal(str)

    def __init__(self, backend: AudioBackend, parent=None, folder=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Record from the microphone")
        self.backend = backend
        self.folder = folder
        self.recorder: Recorder | None = None
        self.device_box = QComboBox()
        self.inputs = [d for d in backend.devices() if d.max_input_channels > 0]
        for d in self.inputs:
            self.device_box.addItem(f"{d.name} ({d.max_input_channels} ch)", d.index)
        default = backend.default_device("input")
        for i, d in enumerate(self.inputs):
            if d.index == default:
                self.device_box.setCurrentIndex(i)
        self.meter = QProgressBar()
        self.meter.setRange(0, 100)
        self.meter.setFormat("level")
        self.time_label = QLabel("0.0 s")
        self.start_btn = QPushButton("● Record")
        self.stop_btn = QPushButton("■ Stop")
        self.stop_btn.setEnabled(False)
        self.start_btn.clicked.connect(self.start)
        self.stop_btn.clicked.connect(self.stop)
        self.path_label = QLabel("")
        self.path_label.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Input device"))
        lay.addWidget(self.device_box)
        lay.addWidget(self.meter)
        row = QHBoxLayout()
        row.addWidget(self.start_btn)
        row.addWidget(self.stop_btn)
        row.addWidget(self.time_label)
        lay.addLayout(row)
        lay.addWidget(self.path_label)
        self.timer = QTimer(self)
        self.timer.setInterval(50)
        self.timer.timeout.connect(self._tick)
        if not self.inputs:
            self.start_btn.setEnabled(False)
            self.path_label.setText(backend.reason or "no input device found")

    def start(self) -> None:
        idx = self.device_box.currentData()
        dev = next((d for d in self.inputs if d.index == idx), None)
        rate = int(dev.default_samplerate) if dev else 48_000
        channels = min(dev.max_input_channels, 2) if dev else 1
        try:
            self.recorder = Recorder(
                self.backend, rate=rate, channels=channels, device=idx, folder=self.folder
            )
            path = self.recorder.start()
        except (RuntimeError, OSError) as e:  # no microphone, or no folder to write to
            self.failed.emit(str(e))
            self.path_label.setText(str(e))
            self.recorder = None
            return
        self.path_label.setText(f"writing {path}")
        self.start_btn.setEnabled(False)
        self.stop_btn.setEnabled(True)
        self.timer.start()

    def _tick(self) -> None:
        r = self.recorder
        if r is None:
            return
        self.meter.setValue(int(100 * min(r.level, 1.0)))
        self.time_label.setText(f"{r.seconds:.1f} s")
        if r.poll_device():
            self.stop()

    def stop(self) -> None:
        self.timer.stop()
        r, self.recorder = self.recorder, None
        if r is None:
            return
        path = r.stop()
        self.stop_btn.setEnabled(False)
        if r.error:
            self.failed.emit(f"{r.error} ({path})")
        if path is not None and r.frames > 0:
            self.recorded.emit(str(path))
            self.accept()
        else:
            self.path_label.setText("nothing was recorded")
            self.start_btn.setEnabled(True)

    def closeEvent(self, ev) -> None:
        self.stop()
        super().closeEvent(ev)
