"""The MUSHRA page: the open reference, N stimuli behind neutral labels, a 0-100 slider
each on the five-band scale, play, a loop, and "Next".

The widget shows what it is told and says what was done; the run
(app.window.listening_runs) plays, records and decides when "Next" may be pressed. The
stimuli are the positions 0..N-1 labelled as the run says (1..N in a fresh random order of
the conditions per item); nothing here holds a condition's name. Untouched sliders show
"—": a stimulus counts as rated once its slider has been moved or clicked.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from .timeline import Timeline

BANDS = ("Excellent", "Good", "Fair", "Poor", "Bad")  # 80-100, 60-80, ..., 0-20
HINT = (
    "Rate the basic audio quality of every stimulus against the reference (0 bad, 100 "
    "excellent). One stimulus is the reference itself. Click a button to hear it: the sound "
    "switches at the same moment while playing (keys 1-9, R for the reference, Space)."
)
SLIDER_HEIGHT = 260


class BandScale(QWidget):
    """The five band names beside the sliders, with lines at 20, 40, 60 and 80."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedWidth(78)
        self.setFixedHeight(SLIDER_HEIGHT)

    def paintEvent(self, ev) -> None:
        p = QPainter(self)
        p.setPen(QPen(QColor("#888888")))
        h, margin = self.height(), 8  # the slider's groove leaves about this at each end
        span = h - 2 * margin
        for i, band in enumerate(BANDS):
            top = margin + span * i / 5
            p.drawText(
                QRect(0, int(top), self.width() - 6, int(span / 5)),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                band,
            )
            if i:
                p.drawLine(0, int(top), self.width(), int(top))
        p.end()


class MushraWidget(QWidget):
    referenceChosen = Signal()
    stimulusChosen = Signal(int)  # position 0..N-1
    rated = Signal(int, int)  # position, score 0..100
    playToggled = Signal()
    stopped = Signal()
    loopToggled = Signal(bool)
    nextRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.item_label = QLabel("")
        self.item_label.setStyleSheet("font-size: 15px; font-weight: bold;")
        self.hint = QLabel(HINT)
        self.hint.setWordWrap(True)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.ref_btn = QPushButton("Reference")
        self.ref_btn.setCheckable(True)
        self.ref_btn.setMinimumSize(96, 44)
        self.ref_btn.setToolTip("the open reference: the original (key R)")
        self.ref_btn.clicked.connect(self.referenceChosen.emit)
        self.play_buttons: list[QPushButton] = []
        self.sliders: list[QSlider] = []
        self.values: list[QLabel] = []
        self.touched: list[bool] = []
        self.play_btn = QPushButton("Play")
        self.play_btn.setToolTip("play or pause (Space)")
        self.play_btn.clicked.connect(self.playToggled.emit)
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setToolTip("stop and go back to the start (of the loop)")
        self.stop_btn.clicked.connect(self.stopped.emit)
        self.loop_box = QCheckBox("Loop a part")
        self.loop_box.setToolTip("loop the region on the bar below; drag its edges")
        self.loop_box.toggled.connect(self.loopToggled.emit)
        self.timeline = Timeline()
        self.status = QLabel("")
        self.next_btn = QPushButton("Next")
        self.next_btn.setMinimumHeight(36)
        self.next_btn.setEnabled(False)
        self.next_btn.clicked.connect(self.nextRequested.emit)
        transport = QHBoxLayout()
        for w in (self.play_btn, self.stop_btn, self.loop_box):
            transport.addWidget(w)
        transport.addStretch(1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.next_btn)
        lay = QVBoxLayout(self)
        lay.addWidget(self.item_label)
        lay.addWidget(self.hint)
        lay.addWidget(self.grid_host)
        lay.addLayout(transport)
        lay.addWidget(self.timeline)
        lay.addLayout(bottom)

    # ---- a new item -------------------------------------------------------------------------
    def show_item(self, number: int, total: int, labels: list[str], duration_s: float) -> None:
        """A fresh page: one column per label, sliders untouched."""
        self.item_label.setText(f"Item {number} of {total}")
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w is not None and w is not self.ref_btn:
                w.hide()  # gone at once, not at the next turn of the event loop
                w.setParent(None)
                w.deleteLater()
        self.play_buttons, self.sliders, self.values = [], [], []
        self.touched = [False] * len(labels)
        self.grid.addWidget(self.ref_btn, 0, 0, Qt.AlignmentFlag.AlignCenter)
        self.grid.addWidget(BandScale(), 1, 0, Qt.AlignmentFlag.AlignRight)
        for i, label in enumerate(labels):
            self._column(i, label)
        self.grid.setColumnStretch(len(labels) + 1, 1)
        self.ref_btn.setChecked(False)
        self.timeline.set_duration(duration_s)
        self.timeline.set_position(0.0)
        self.next_btn.setEnabled(False)

    def _column(self, i: int, label: str) -> None:
        b = QPushButton(label)
        b.setCheckable(True)
        b.setMinimumSize(52, 44)
        b.setToolTip(f"listen to stimulus {label}")
        b.clicked.connect(lambda _=False, pos=i: self.stimulusChosen.emit(pos))
        s = QSlider(Qt.Orientation.Vertical)
        s.setRange(0, 100)
        s.setValue(0)
        s.setFixedHeight(SLIDER_HEIGHT)
        s.setTickPosition(QSlider.TickPosition.TicksBothSides)
        s.setTickInterval(20)
        s.setPageStep(5)
        s.setToolTip(f"your score for stimulus {label}, 0 (bad) to 100 (excellent)")
        s.actionTriggered.connect(lambda _a, pos=i: self._touch(pos))
        s.sliderPressed.connect(lambda pos=i: self._touch(pos))
        s.valueChanged.connect(lambda v, pos=i: self._changed(pos, v))
        s.sliderReleased.connect(lambda pos=i: self._released(pos))
        v = QLabel("—")
        v.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.grid.addWidget(b, 0, i + 1, Qt.AlignmentFlag.AlignCenter)
        self.grid.addWidget(s, 1, i + 1, Qt.AlignmentFlag.AlignHCenter)
        self.grid.addWidget(v, 2, i + 1, Qt.AlignmentFlag.AlignCenter)
        self.play_buttons.append(b)
        self.sliders.append(s)
        self.values.append(v)

    # ---- ratings ----------------------------------------------------------------------------
    def _touch(self, pos: int) -> None:
        if not self.touched[pos]:
            self.touched[pos] = True
            self.values[pos].setText(str(self.sliders[pos].sliderPosition()))

    def _changed(self, pos: int, value: int) -> None:
        if self.touched[pos]:
            self.values[pos].setText(str(value))
            if not self.sliders[pos].isSliderDown():  # a drag is one answer, at its release
                self.rated.emit(pos, int(value))

    def _released(self, pos: int) -> None:
        if self.touched[pos]:
            self.rated.emit(pos, int(self.sliders[pos].value()))

    def set_score(self, pos: int, score: float) -> None:
        """Show a rating given before (a resumed item) without announcing it again."""
        s = self.sliders[pos]
        s.blockSignals(True)
        s.setValue(round(score))
        s.blockSignals(False)
        self.touched[pos] = True
        self.values[pos].setText(str(round(score)))

    # ---- playback ---------------------------------------------------------------------------
    def set_selected(self, pos: int | None) -> None:
        """Highlight what plays: a stimulus position, or None for the reference."""
        self.ref_btn.setChecked(pos is None)
        for i, b in enumerate(self.play_buttons):
            b.setChecked(i == pos)

    def set_playing(self, playing: bool) -> None:
        self.play_btn.setText("Pause" if playing else "Play")

    def set_progress(self, unplayed: int, unrated: int) -> None:
        ready = not unplayed and not unrated
        self.next_btn.setEnabled(ready)
        if ready:
            self.status.setText("Every stimulus is played and rated: Next when you are done.")
        else:
            self.status.setText(
                f"Still to play: {unplayed} · still to rate: {unrated} (Next waits for both)"
            )

    def key(self, key: int) -> bool:
        if key == Qt.Key.Key_R:
            self.referenceChosen.emit()
            return True
        n = key - Qt.Key.Key_1
        if 0 <= n < min(9, len(self.play_buttons)):
            self.stimulusChosen.emit(n)
            return True
        return False
