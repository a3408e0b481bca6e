"""The menu bar and the keyboard shortcuts of the main window."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut

SAMPLES_DIR = Path(__file__).resolve().parent.parent.parent / "resources" / "samples"


def build_menus(w) -> None:
    """File, Model and Device menus of MainWindow `w`."""
    m = w.menuBar().addMenu("&File")
    m.addAction("&Open…", QKeySequence.StandardKey.Open, w.open_dialog)
    w.recent_menu = m.addMenu("Open &recent")
    w.samples_menu = m.addMenu("&Sample clips")
    w.record_action = m.addAction("&Record from microphone…", w.record_dialog)
    m.addAction("&Encode the current file", QKeySequence("Ctrl+E"), w.compare.encode_current)
    m.addAction("Compare &tokens with…", w.compare_tokens_dialog)
    m.addSeparator()
    w.export_audio_action = m.addAction("Export &reconstruction…", w.exports.export_audio)
    w.export_codes_action = m.addAction("Export &codes…", w.exports.export_codes)
    m.addAction("Export views as &PNG…", lambda: w.exports.export_png(w.compare_view.views.grab))
    m.addAction("Export report &figure…", w.exports.export_report)
    m.addSeparator()
    m.addAction("&Quit", QKeySequence.StandardKey.Quit, w.close)
    fill_recent(w)
    fill_samples(w)

    mm = w.menuBar().addMenu("&Model")
    mm.addAction("Mimi from the Hugging Face hub (else the demo)", lambda: w.models.load("auto"))
    mm.addAction("Bundled demo codec", lambda: w.models.load("demo"))
    mm.addAction("Local weights file…", w.weights_dialog)
    mm.addAction(
        "Random weights (for testing)", lambda: w.models.load("random:mimi", remember=False)
    )
    dev = mm.addMenu("Device")
    group = QActionGroup(w)
    import torch

    for label, value in (
        ("Auto (GPU when present)", "auto"),
        ("CPU", "cpu"),
        ("GPU (CUDA)", "cuda"),
    ):
        act = QAction(label, w, checkable=True)
        act.setChecked(value == w.models.device)
        act.setEnabled(value != "cuda" or torch.cuda.is_available())
        act.triggered.connect(lambda _=False, v=value: w.models.set_device(v))
        group.addAction(act)
        dev.addAction(act)
    build_listening_menu(w)


def build_listening_menu(w) -> None:
    """Listening test: blind ABX and MUSHRA tests and their results (issue 13)."""
    lm = w.menuBar().addMenu("&Listening test")
    lm.addAction("&ABX test…", w.listening.abx_dialog)
    lm.addAction("&MUSHRA test…", w.listening.mushra_dialog)
    lm.addSeparator()
    lm.addAction("Open &results…", w.listening.open_results_dialog)


def build_shortcuts(w) -> None:
    for key, fn in (
        (Qt.Key.Key_Space, w.toggle_play),
        (Qt.Key.Key_Tab, w.transport.toggle_ab),
        (Qt.Key.Key_Up, lambda: w.compare.set_k(w.compare.k + 1)),
        (Qt.Key.Key_Down, lambda: w.compare.set_k(w.compare.k - 1)),
    ):
        sc = QShortcut(QKeySequence(key), w)
        sc.setContext(Qt.ShortcutContext.WindowShortcut)
        sc.activated.connect(fn)


def fill_recent(w) -> None:
    w.recent_menu.clear()
    recent = [p for p in w.settings.value("recent", [], list) or [] if Path(p).exists()]
    for p in recent[:10]:
        w.recent_menu.addAction(p, lambda _=False, p=p: w.open_path(p))
    w.recent_menu.setEnabled(bool(recent))


def remember(w, path: Path | None) -> None:
    if path is None:
        return
    recent = [str(path)] + [
        p for p in (w.settings.value("recent", [], list) or []) if p != str(path)
    ]
    w.settings.setValue("recent", recent[:10])
    fill_recent(w)


def fill_samples(w) -> None:
    w.samples_menu.clear()
    files = sorted(SAMPLES_DIR.glob("*.flac")) if SAMPLES_DIR.is_dir() else []
    for f in files:
        w.samples_menu.addAction(f.stem.replace("_", " "), lambda _=False, f=f: w.open_path(str(f)))
    w.samples_menu.setEnabled(bool(files))
