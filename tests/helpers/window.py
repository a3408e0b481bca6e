"""The app's main window for tests: a fake audio device, settings in tmp_path, a model
loaded before the test starts; and a helper that opens a file and waits for its views."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from .fake_audio import FakeBackend


def make_window(
    qtbot,
    tmp_path: Path,
    backend: FakeBackend | None = None,
    model_source: str = "random:tiny",
    size: tuple[int, int] | None = None,
):
    """A shown MainWindow whose model has loaded; `w.backend_fake` is its audio device."""
    from app.launch import make_app

    make_app()
    from app.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    backend = backend or FakeBackend()
    w = MainWindow(backend=backend, model_source=model_source, settings=settings)
    w.backend_fake = backend
    qtbot.addWidget(w)
    if size:
        w.resize(*size)
    w.show()
    qtbot.waitUntil(lambda: w.model_info is not None, timeout=60_000)
    return w


def open_and_code(qtbot, w, path: Path, timeout_ms: int = 120_000) -> None:
    """Open path and wait until this file (not the previous one) is encoded, decoded at
    the current K, drawn and loaded into the player as B."""
    w.open_path(str(path))
    qtbot.waitUntil(
        lambda: (
            w.session is not None
            and w.session.name == path.name
            and w.session.codes is not None
            and w.views_ready()
            and w.player.has_b()
        ),
        timeout=timeout_ms,
    )
