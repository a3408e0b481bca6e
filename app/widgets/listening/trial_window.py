"""The window a trial runs in: modal over the app (nothing else to click or hear while a
test runs), a neutral title, and the test's keys.

Buttons inside take no keyboard focus, so Space never presses whatever was clicked last
(an answer, say): the keys are window shortcuts handed to the page (`key`) or announced
(`spacePressed`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton, QLabel, QVBoxLayout, QWidget

KEYS = (
    Qt.Key.Key_A,
    Qt.Key.Key_B,
    Qt.Key.Key_X,
    Qt.Key.Key_R,
    *(getattr(Qt.Key, f"Key_{n}") for n in range(1, 10)),
)


class TrialWindow(QWidget):
    """Holds one page (AbxWidget or MushraWidget) with a `key(int) -> bool` method."""

    spacePressed = Signal()
    closed = Signal()

    def __init__(self, page: QWidget, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.page = page
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        lay = QVBoxLayout(self)
        lay.addWidget(page)
        # a listener must know when what they heard had a gap in it (a busy machine)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("background:#5c4a1f;color:white;padding:6px;")
        self.note.hide()
        lay.addWidget(self.note)
        for b in page.findChildren(QAbstractButton):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        sc = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        sc.activated.connect(self.spacePressed.emit)
        for key in KEYS:
            s = QShortcut(QKeySequence(key), self)
            s.activated.connect(lambda k=key: self.page.key(int(k)))
        self.resize(900, 620)

    def show_note(self, text: str) -> None:
        """A line under the page ('' hides it)."""
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def refresh_focus(self) -> None:
        """Buttons made later (a new MUSHRA page) take no focus either."""
        for b in self.page.findChildren(QAbstractButton):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def closeEvent(self, ev) -> None:
        self.closed.emit()
        super().closeEvent(ev)
