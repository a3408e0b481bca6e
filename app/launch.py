"""Start the Qt application: `python main.py [FILE] [--weights SRC] [--device D]`."""

from __future__ import annotations

import argparse
import os
import sys


def parse(args: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="mimi-explorer", description="Mimi Explorer (GUI)")
    p.add_argument("file", nargs="?", help="audio file to open")
    p.add_argument(
        "--weights",
        default=None,
        metavar="SRC",
        help="model source (default: kyutai/mimi, falling back to the demo)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    return p.parse_args(args)


def make_app():
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    pg.setConfigOptions(antialias=False, imageAxisOrder="row-major")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Mimi Explorer")
    app.setOrganizationName("mimi-explorer")
    from .gui_gc import install

    install(app)  # Qt objects are only ever garbage-collected on this thread
    return app


def launch(args: list[str]) -> int:
    ns = parse(args)
    try:
        app = make_app()
    except Exception as e:  # no display, missing Qt libraries
        print(f"mimi-explorer: error: cannot start the GUI: {e}", file=sys.stderr)
        return 2
    from .window.main_window import MainWindow

    win = MainWindow(model_source=ns.weights, device=ns.device)
    win.show()
    if ns.file:
        win.open_path(ns.file)
    return app.exec()
