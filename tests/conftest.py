"""Shared test set-up: offline hub, offscreen Qt, 2 torch threads, seeded random models,
the one app-window fixture, and the garbage-collection rule the app follows."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as main.py: numpy's BLAS beside torch

import gc
import sys

import pytest
import torch

torch.set_num_threads(2)

# The app collects cyclic garbage on the GUI thread only (app/gui_gc.py): a collection in
# the codec worker that frees a closed window's Qt objects deadlocks against the GUI
# thread (seen in this suite). The tests follow the same rule from the start, whether or
# not a test creates the app: no automatic collection, and a full one on the main thread
# after every test (the windows a test closed are deleted by Qt first).
gc.disable()


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "window(model_source=..., size=..., **kw): how the `window` fixture is made"
    )


@pytest.fixture(autouse=True)
def _collect_on_main_thread():
    yield
    qt = sys.modules.get("PySide6.QtCore")  # only where a test used Qt: never import it here
    if qt is not None and qt.QCoreApplication.instance() is not None:
        qt.QCoreApplication.sendPostedEvents(None, qt.QEvent.Type.DeferredDelete)
    gc.collect()


@pytest.fixture(scope="session")
def mimi_random():
    """The released Mimi architecture with seeded random weights (non-degenerate codebooks)."""
    from codec import load_codec

    return load_codec("random:mimi", "cpu")


@pytest.fixture(scope="session")
def tiny():
    from codec import load_codec

    return load_codec("tiny", "cpu")


@pytest.fixture()
def window(qtbot, tmp_path, monkeypatch, request):
    """The main window with a fake audio device, its model loaded, recordings in tmp_path.

    `@pytest.mark.window(model_source="random:mimi", size=(1280, 860))` changes how it is
    made (any make_window keyword); the default is random:tiny weights.
    """
    from tests.helpers.window import make_window

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    marker = request.node.get_closest_marker("window")
    w = make_window(qtbot, tmp_path, **(marker.kwargs if marker else {}))
    yield w
    w.close()
