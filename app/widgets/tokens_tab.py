"""The Tokens tab: two clips compared token by token, and the codebook space."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from .codebook_map import CodebookMap
from .token_compare import TokenCompareView


class TokensTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color:#777;")
        self.compare_btn = QPushButton("Compare tokens with…")
        self.compare_btn.setToolTip(
            "open a second clip (say, the same sentence in another voice), code it with this "
            "model and align it to the open one: which codebooks agree on the words?"
        )
        self.align_box = QComboBox()
        self.align_box.addItem("align on the latents", "latent")
        self.align_box.addItem("align on codebook 0", "semantic")
        self.align_box.setToolTip(
            "what the alignment compares: the encoder's unquantized latents (never favours "
            "equal tokens), or codebook 0's entries"
        )
        self.compare_view = TokenCompareView()
        self.map = CodebookMap()
        top = QHBoxLayout()
        top.addWidget(self.note, 1)
        top.addWidget(self.align_box)
        top.addWidget(self.compare_btn)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.compare_view)
        split.addWidget(self.map)
        split.setSizes([850, 500])
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
