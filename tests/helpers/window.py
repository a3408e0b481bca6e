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
    wait_model: bool = True,
    **kwargs,
):
    """A shown MainWindow (its model loaded unless wait_model=False); `w.backend_fake` is
    its audio device. Extra keyword arguments go to MainWindow (e.g. policy)."""
    from app.launch import make_app

    make_app()
    from app.window.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    backend = backend or FakeBackend()
    w = MainWindow(backend=backend, model_source=model_source, settings=settings, **kwargs)
    w.backend_fake = backend
    qtbot.addWidget(w)
    if size:
        w.resize(*size)
    w.show()
    if wait_model:
        qtbot.waitUntil(lambda: w.models.info is not None, timeout=60_000)
    return w


def open_and_code(qtbot, w, path: Path, timeout_ms: int = 120_000) -> None:
    """Open path and wait until this file (not the previous one) is encoded, decoded at
    the current K, drawn and loaded into the player as B."""
    w.open_path(str(path))
    qtbot.waitUntil(
        lambda: (
            w.compare.comparison is not None
            and w.compare.comparison.name == path.name
            and w.compare.views_ready()
            and w.player.has_b()
        ),
        timeout=timeout_ms,
    )


def wait_live_streams(qtbot, fake, timeout_ms: int = 20_000):
    """(mic, speaker): the fake streams a live session opened in the worker, once open."""
    qtbot.waitUntil(
        lambda: any(s.kind == "input" and s.active for s in fake.streams), timeout=timeout_ms
    )
    return fake.last("input"), fake.last("output")


def live_frames(w) -> int:
    """Frames the window has been told of by the running (or last) live session."""
    st = w.live_ctl.stats
    return 0 if st is None else st.frames


def showing(w, prefix: str) -> bool:
    """True when the window shows a comparison whose name starts with `prefix`."""
    c = w.compare.comparison
    return c is not None and c.name.startswith(prefix)
