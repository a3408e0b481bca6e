"""Take the README screenshot from the running app (run under a real X server, e.g. Xvfb).

xvfb-run -s "-screen 0 1400x950x24" .venv/bin/python scripts/screenshot.py FILE OUT.png

Waits for the decode and for the quality-versus-K sweep to finish. Optional flags after the
positional arguments: --stream (streaming-vs-offline check on), --match (loudness-matched B),
--k N (codebooks), --tab tokens|live (the tab shown), --compare FILE2 (Tokens: compare the
tokens with a second clip).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flags = sys.argv[1:]
    src, out = args[0], args[1]

    def value(flag: str) -> str | None:
        if flag not in flags:
            return None
        v = flags[flags.index(flag) + 1]
        args.remove(v)
        return v

    k = int(value("--k")) if "--k" in flags else None
    tab, other = value("--tab"), value("--compare")
    weights = args[2] if len(args) > 2 else None
    from app.launch import make_app

    app = make_app()
    from app.window.main_window import MainWindow

    win = MainWindow(model_source=weights)
    win.resize(1400, 950)
    win.show()
    win.open_path(src)

    def wait(done, seconds: float = 300) -> None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds and not done():
            app.processEvents()
            time.sleep(0.02)

    wait(win.compare.views_ready)
    if k is not None:
        win.slider.setValue(k)
        wait(win.compare.views_ready)
    wait(win.compare.sweep_done)
    if "--match" in flags:
        win.match_btn.setChecked(True)
    if "--stream" in flags:
        win.stream_btn.setChecked(True)
        wait(lambda: win.compare.stream_result is not None)
    if tab == "tokens":
        win.tabs.setCurrentWidget(win.tokens_tab)
        wait(lambda: win.compare.tokens is not None)
        if other:
            win.compare_tokens_dialog(other)
            wait(lambda: win.tokens_tab.compare_view.result is not None)
    elif tab == "live":  # run a session (needs audio devices: a loopback will do)
        win.tabs.setCurrentWidget(win.live)
        win.live.start()
        t0 = time.monotonic()
        wait(lambda: time.monotonic() - t0 > 4)
        win.live.measure_latency()
        wait(lambda: bool(win.live_ctl.stats and win.live_ctl.stats.probe_note), 20)
        t0 = time.monotonic()
        wait(lambda: time.monotonic() - t0 > 1)
    for _ in range(30):
        app.processEvents()
        time.sleep(0.02)
    shot = app.primaryScreen().grabWindow(win.winId())
    ok = shot.save(out, "PNG")
    print(f"{'wrote' if ok else 'FAILED to write'} {out}: {win.windowTitle()}")
    if tab == "live":
        win.live.stop()
        wait(lambda: not win.live.running, 20)
    win.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
