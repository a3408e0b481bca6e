"""The ABX trial: three neutral buttons (A, B, X), play, a loop, and a forced choice.

It shows what it is told and says what was clicked; the run (app.window.listening_runs)
plays and records. Blind by construction: the buttons are the letters A, B and X, all
alike (one highlight for whichever plays), and no text, tooltip or name here ever holds a
condition; which condition is A, and whether X is A or B, change from trial to trial.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .timeline import Timeline

LETTERS = ("A", "B", "X")
HINT = (
    "Listen to A, B and X as often as you like: they switch at the same moment, without a "
    "gap, while playing (keys A, B, X; Space plays and pauses). Then say which one X is."
)


class AbxWidget(QWidget):
    sourceChosen = Signal(str)  # "A", "B" or "X"
    playToggled = Signal()
    loopToggled = Signal(bool)
    answered = Signal(str)  # what X is: "A" or "B"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trial_label = QLabel("")
        self.trial_label.setStyleSheet("font-size: 15px; font-weight: bold;")
        self.hint = QLabel(HINT)
        self.hint.setWordWrap(True)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        for letter in LETTERS:
            b = QPushButton(letter)
            b.setCheckable(True)
            b.setMinimumSize(96, 64)
            b.setStyleSheet("font-size: 22px;")
            b.setToolTip(f"listen to {letter} (key {letter})")
            b.clicked.connect(lambda _=False, ltr=letter: self.sourceChosen.emit(ltr))
            self.group.addButton(b)
            self.buttons[letter] = b
            row.addWidget(b)
        self.play_btn = QPushButton("Play")
        self.play_btn.setToolTip("play or pause (Space)")
        self.play_btn.clicked.connect(self.playToggled.emit)
        self.loop_box = QCheckBox("Loop a part")
        self.loop_box.setToolTip("loop the region on the bar below; drag its edges")
        self.loop_box.toggled.connect(self.loopToggled.emit)
        self.timeline = Timeline()
        transport = QHBoxLayout()
        transport.addWidget(self.play_btn)
        transport.addWidget(self.loop_box)
        transport.addStretch(1)
        self.question = QLabel("Which one is X?")
        self.answer_buttons: dict[str, QPushButton] = {}
        answers = QHBoxLayout()
        answers.addWidget(self.question)
        for letter in ("A", "B"):
            b = QPushButton(f"X is {letter}")
            b.setMinimumHeight(40)
            b.setToolTip("your answer; the next trial follows")
            b.clicked.connect(lambda _=False, ltr=letter: self.answered.emit(ltr))
            self.answer_buttons[letter] = b
            answers.addWidget(b)
        self.status = QLabel("")
        lay = QVBoxLayout(self)
        lay.addWidget(self.trial_label)
        lay.addWidget(self.hint)
        lay.addLayout(row)
        lay.addLayout(transport)
        lay.addWidget(self.timeline)
        lay.addLayout(answers)
        lay.addWidget(self.status)
        lay.addStretch(1)

    def show_trial(self, number: int, total: int, duration_s: float) -> None:
        """A fresh trial: nothing selected, the answers wait until X has been heard."""
        self.trial_label.setText(f"Trial {number} of {total}")
        self.group.setExclusive(False)
        for b in self.buttons.values():
            b.setChecked(False)
        self.group.setExclusive(True)
        self.timeline.set_duration(duration_s)
        self.timeline.set_position(0.0)
        self.enable_answers(False)
        self.status.setText("Listen to X before you answer.")

    def set_selected(self, letter: str) -> None:
        self.buttons[letter].setChecked(True)

    def set_playing(self, playing: bool) -> None:
        self.play_btn.setText("Pause" if playing else "Play")

    def enable_answers(self, on: bool) -> None:
        for b in self.answer_buttons.values():
            b.setEnabled(on)
        if on:
            self.status.setText("")

    def key(self, key: int) -> bool:
        """A key pressed in the test window; True when it was one of ours."""
        letter = {Qt.Key.Key_A: "A", Qt.Key.Key_B: "B", Qt.Key.Key_X: "X"}.get(key)
        if letter is not None:
            self.sourceChosen.emit(letter)
            return True
        return False
