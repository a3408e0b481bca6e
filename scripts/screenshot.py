"""Take the README screenshot from the running app (run under a real X server, e.g. Xvfb).

xvfb-run -s "-screen 0 1400x950x24" .venv/bin/python scripts/screenshot.py FILE OUT.png
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    src, out = sys.argv[1], sys.argv[2]
    weights = sys.argv[3] if len(sys.argv) > 3 else None
    from app.launch import make_app

    app = make_app()
    from app.main_window import MainWindow

    win = MainWindow(model_source=weights)
    win.resize(1360, 900)
    win.show()
    win.open_path(src)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 300:
        app.processEvents()
        if win.views_ready():
            break
        time.sleep(0.02)
    for _ in range(30):
        app.processEvents()
        time.sleep(0.02)
    shot = app.primaryScreen().grabWindow(win.winId())
    ok = shot.save(out, "PNG")
    print(f"{'wrote' if ok else 'FAILED to write'} {out}: {win.windowTitle()}")
    win.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
