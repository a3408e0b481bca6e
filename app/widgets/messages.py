"""Messages above the views, one per subject, each until dismissed or superseded.

A message is filed under a key (the file, the model, the audio device, an export, ...): a
new message about the same subject replaces the old one, and messages about different
subjects stand together (a file error and a model notice both stay visible). Each has a
close button; nothing disappears on a timer.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

STYLES = {
    "error": "background:#5c1f1f;color:white;padding:6px;",
    "warning": "background:#5c4a1f;color:white;padding:6px;",
    "info": "background:#1f3a5c;color:white;padding:6px;",
}
ICONS = {"error": "⚠", "warning": "⚠", "info": "ⓘ"}


class _Message(QWidget):
    closed = Signal(str)

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_btn = QToolButton()
        self.close_btn.setText("✕")
        self.close_btn.setToolTip("dismiss")
        self.close_btn.clicked.connect(lambda: self.closed.emit(self.key))
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.close_btn)

    def set(self, text: str, level: str) -> None:
        self.level = level
        self.label.setText(f"{ICONS.get(level, '')} {text}")
        self.setStyleSheet(STYLES.get(level, STYLES["info"]))


class MessageBar(QWidget):
    """Keyed messages, newest at the bottom."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self._lay.setSpacing(2)
        self.messages: dict[str, _Message] = {}
        self.hide()

    def show_message(self, key: str, text: str, level: str = "error") -> None:
        """File `text` under `key` (replacing what was there); '' removes it."""
        if not text:
            self.dismiss(key)
            return
        m = self.messages.get(key)
        if m is None:
            m = _Message(key)
            m.closed.connect(self.dismiss)
            self.messages[key] = m
            self._lay.addWidget(m)
        m.set(text, level)
        m.show()
        self.show()

    def dismiss(self, key: str) -> None:
        m = self.messages.pop(key, None)
        if m is not None:
            self._lay.removeWidget(m)
            m.deleteLater()
        self.setVisible(bool(self.messages))

    def text(self, key: str | None = None) -> str:
        """The shown text of one message, or of all of them (one per line)."""
        if key is not None:
            m = self.messages.get(key)
            return m.label.text() if m else ""
        return "\n".join(m.label.text() for m in self.messages.values())

    def keys(self) -> list[str]:
        return list(self.messages)

    def __contains__(self, key: str) -> bool:
        return key in self.messages
