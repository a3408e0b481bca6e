"""Measure the GUI thread's longest stall while the worker codes a long file.

A 2 ms QTimer runs in the GUI thread; the longest gap between its ticks while the file is
loaded, encoded and decoded is the longest time the window could not handle events.
    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/measure_stall.py [SECONDS] [WEIGHTS]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    weights = sys.argv[2] if len(sys.argv) > 2 else "random:mimi"
    import numpy as np
    import soundfile as sf
    from PySide6.QtCore import QSettings, QTimer

    from app.launch import make_app

    app = make_app()
    from app.window.main_window import MainWindow
    from tests.helpers.fake_audio import FakeBackend

    d = tempfile.mkdtemp()
    path = Path(d) / "long.wav"
    t = np.arange(int(seconds * 44_100)) / 44_100
    sig = 0.3 * np.sin(2 * np.pi * (200 + 50 * np.sin(2 * np.pi * 0.3 * t)) * t)
    sf.write(str(path), np.stack([sig, sig[::-1]], 1).astype(np.float32), 44_100)
    settings = QSettings(str(Path(d) / "s.ini"), QSettings.Format.IniFormat)
    win = MainWindow(backend=FakeBackend(), model_source=weights, settings=settings)
    win.show()
    while win.models.info is None:
        app.processEvents()
        time.sleep(0.005)
    gaps, last = [], [time.perf_counter()]
    shown = []  # when the opened file was first drawn: coding runs from there on
    win.compare.comparisonChanged.connect(lambda *_: shown.append(len(gaps) + 1))

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(2)
    timer.timeout.connect(tick)
    timer.start()
    t0 = time.perf_counter()
    win.open_path(str(path))
    while True:
        app.processEvents()
        if win.compare.views_ready():
            break
        if time.perf_counter() - t0 > 900:
            print("timed out")
            return 1
        time.sleep(0.001)
    total = time.perf_counter() - t0
    g = np.array(gaps[1:]) * 1000
    coding = np.array(gaps[shown[0] + 1 :]) * 1000 if shown else g
    print(
        f"{seconds:.0f} s stereo file, {weights}: load+encode+decode {total:.1f} s; GUI timer "
        f"gaps: max {g.max():.0f} ms (drawing the new file included), max while coding "
        f"{coding.max():.0f} ms, p99 {np.percentile(g, 99):.0f} ms, "
        f"median {np.median(g):.1f} ms over {len(g)} ticks"
    )
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
