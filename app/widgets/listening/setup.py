"""Setting up a listening test: the ABX and MUSHRA dialogs (non-modal, so the main window
stays usable to open clips and select excerpts while a test is put together).

They collect what the controller (app.window.listening) needs and say so with signals;
they never start anything themselves. Both list the unfinished sessions, to resume.
"""

from __future__ import annotations

import random

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from codec.listening.conditions import DEFAULT_MUSHRA_KS, MAX_MUSHRA_STIMULI
from codec.listening.stats import ALPHA, min_correct

SEED_MAX = 2**31 - 1


class _SetupDialog(QDialog):
    """What both dialogs share: assessor, seed, loudness matching, resuming, Start."""

    startRequested = Signal(dict)
    resumeRequested = Signal(str)  # a session folder

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(False)
        self.assessor = QLineEdit()
        self.assessor.setPlaceholderText("your name or initials")
        self.seed = QSpinBox()
        self.seed.setRange(0, SEED_MAX)
        self.seed.setValue(random.SystemRandom().randrange(SEED_MAX))
        self.seed.setToolTip(
            "the random order of the test follows from it (saved with the session)"
        )
        self.match = QCheckBox("Match loudness (BS.1770)")
        self.match.setChecked(True)
        self.match.setToolTip(
            "every stimulus is played at the reference's integrated loudness, so level does "
            "not give a condition away"
        )
        self.form = QFormLayout()
        self.form.addRow("Assessor", self.assessor)
        self.form.addRow("Seed", self.seed)
        self.form.addRow("", self.match)
        self.resume_box = QGroupBox("Unfinished sessions")
        self.resume_list = QListWidget()
        self.resume_list.setMaximumHeight(90)
        self.resume_btn = QPushButton("Resume")
        self.resume_btn.clicked.connect(self._resume)
        rl = QHBoxLayout(self.resume_box)
        rl.addWidget(self.resume_list, 1)
        rl.addWidget(self.resume_btn)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.start_btn = QPushButton("Start")
        self.start_btn.setDefault(True)
        self.start_btn.clicked.connect(lambda: self.startRequested.emit(self.config()))
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        self.buttons = QHBoxLayout()
        self.buttons.addStretch(1)
        self.buttons.addWidget(close)
        self.buttons.addWidget(self.start_btn)

    def common(self) -> dict:
        return {
            "assessor": self.assessor.text().strip() or "anonymous",
            "seed": int(self.seed.value()),
            "match_loudness": self.match.isChecked(),
        }

    def config(self) -> dict:  # pragma: no cover - each dialog has its own
        return self.common()

    def set_unfinished(self, sessions: list[tuple[str, str]]) -> None:
        """(folder, description) of each unfinished session of this kind."""
        self.resume_list.clear()
        for folder, text in sessions:
            it = QListWidgetItem(text)
            it.setData(Qt.ItemDataRole.UserRole, folder)
            self.resume_list.addItem(it)
        self.resume_box.setVisible(bool(sessions))
        if sessions:
            self.resume_list.setCurrentRow(0)

    def _resume(self) -> None:
        it = self.resume_list.currentItem()
        if it is not None:
            self.resumeRequested.emit(str(it.data(Qt.ItemDataRole.UserRole)))

    def set_note(self, text: str) -> None:
        self.note.setText(text)


class AbxSetupDialog(_SetupDialog):
    selectionRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("ABX test", parent)
        self.cond_a = QComboBox()
        self.cond_b = QComboBox()
        self.trials = QSpinBox()
        self.trials.setRange(1, 200)
        self.trials.setValue(16)
        self.trials.valueChanged.connect(self._need)
        self.need = QLabel("")
        self.excerpt = QLabel("")
        self.excerpt.setWordWrap(True)
        pick = QPushButton("Use the current selection")
        pick.setToolTip("the loop region of the waveform, else the part it shows")
        pick.clicked.connect(self.selectionRequested.emit)
        self.form.insertRow(0, "Condition 1", self.cond_a)
        self.form.insertRow(1, "Condition 2", self.cond_b)
        self.form.insertRow(2, "Trials", self.trials)
        self.form.insertRow(3, "", self.need)
        ex = QHBoxLayout()
        ex.addWidget(self.excerpt, 1)
        ex.addWidget(pick)
        lay = QVBoxLayout(self)
        lay.addLayout(self.form)
        lay.addWidget(QLabel("Excerpt (the loop region repeats inside it while testing):"))
        lay.addLayout(ex)
        lay.addWidget(self.resume_box)
        lay.addWidget(self.note)
        lay.addLayout(self.buttons)
        self._need()

    def set_choices(self, names: list[str], a: str, b: str) -> None:
        for box, value in ((self.cond_a, a), (self.cond_b, b)):
            box.clear()
            box.addItems(names)
            if value in names:
                box.setCurrentIndex(names.index(value))

    def set_excerpt(self, text: str, ok: bool) -> None:
        self.excerpt.setText(text)
        self.start_btn.setEnabled(ok)

    def _need(self) -> None:
        n = self.trials.value()
        c = min_correct(n, ALPHA)
        self.need.setText(
            f"p < {ALPHA:g} needs {c} of {n} correct"
            if c is not None
            else f"{n} trials cannot reach p < {ALPHA:g}; use more"
        )

    def config(self) -> dict:
        return self.common() | {
            "a": self.cond_a.currentText(),
            "b": self.cond_b.currentText(),
            "trials": int(self.trials.value()),
        }


class MushraSetupDialog(_SetupDialog):
    addItemRequested = Signal()
    removeItemRequested = Signal(int)
    exportRequested = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("MUSHRA test", parent)
        self.k_boxes: dict[int, QCheckBox] = {}
        self.k_host = QWidget()
        self.k_grid = QGridLayout(self.k_host)
        self.k_grid.setContentsMargins(0, 0, 0, 0)
        self.form.insertRow(0, "Codebooks K", self.k_host)
        self.items = QListWidget()
        self.items.setMaximumHeight(110)
        add = QPushButton("Add the current selection")
        add.setToolTip(
            "an excerpt of at most 12 s: the loop region, else the part the waveform shows"
        )
        add.clicked.connect(self.addItemRequested.emit)
        remove = QPushButton("Remove")
        remove.clicked.connect(lambda: self.removeItemRequested.emit(self.items.currentRow()))
        self.export_btn = QPushButton("Export for webMUSHRA…")
        self.export_btn.setToolTip(
            "write the test as a folder webMUSHRA serves (YAML config and WAV stimuli)"
        )
        self.export_btn.clicked.connect(lambda: self.exportRequested.emit(self.config()))
        item_btns = QVBoxLayout()
        for b in (add, remove):
            item_btns.addWidget(b)
        item_btns.addStretch(1)
        items = QHBoxLayout()
        items.addWidget(self.items, 1)
        items.addLayout(item_btns)
        self.buttons.insertWidget(1, self.export_btn)
        lay = QVBoxLayout(self)
        lay.addLayout(self.form)
        lay.addWidget(
            QLabel(
                "Items (each with the hidden reference and the 3.5 and 7 kHz anchors of BS.1534-3):"
            )
        )
        lay.addLayout(items)
        lay.addWidget(self.resume_box)
        lay.addWidget(self.note)
        lay.addLayout(self.buttons)
        self._ready()

    def set_ks(self, num_codebooks: int) -> None:
        while self.k_grid.count():
            w = self.k_grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        ks = sorted({k for k in (*DEFAULT_MUSHRA_KS, 3, 6, 12, 24) if k <= num_codebooks})
        ks = sorted(set(ks) | {num_codebooks})
        self.k_boxes = {}
        for i, k in enumerate(ks):
            box = QCheckBox(f"K{k}")
            box.setChecked(k in DEFAULT_MUSHRA_KS)
            box.toggled.connect(self._ready)
            self.k_boxes[k] = box
            self.k_grid.addWidget(box, i // 6, i % 6)
        self._ready()

    def add_item(self, text: str) -> None:
        self.items.addItem(text)
        self._ready()

    def remove_item(self, row: int) -> None:
        self.items.takeItem(row)
        self._ready()

    def ks(self) -> list[int]:
        return [k for k, b in self.k_boxes.items() if b.isChecked()]

    def _ready(self) -> None:
        n = len(self.ks())
        too_many = n + 2 > MAX_MUSHRA_STIMULI
        ok = self.items.count() > 0 and n > 0 and not too_many
        self.start_btn.setEnabled(ok)
        self.export_btn.setEnabled(ok)
        if too_many:
            self.set_note(f"at most {MAX_MUSHRA_STIMULI - 2} values of K (with the 2 anchors)")
        elif not self.items.count():
            self.set_note("Add one or more items: select an excerpt in the main window first.")
        else:
            self.set_note("")

    def config(self) -> dict:
        return self.common() | {"ks": self.ks()}
