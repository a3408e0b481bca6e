"""Take the README's listening-test screenshot from the running app (under a real X server):

xvfb-run -s "-screen 0 1400x950x24" .venv/bin/python scripts/listening_screenshot.py OUT.png

It runs, through the app's own menus' controller and widgets, a 10-trial ABX (the original
against K = 8) on the English sample and a 2-item MUSHRA on the English (1-9 s) and
Japanese samples with the bundled demo codec, then shows the results of both. The answers
and ratings are entered by this script (fixed, plausible values), not by a listener. This
machine has no sound card, so a silent output device stands in: the stimuli "play" without
sound and the cursor stays put. OUT.png is the MUSHRA page (item 2, all rated) beside the
results window. The CSV paths it prints are what `listening-stats` reads.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLES = ROOT / "resources" / "samples"
# what this script's "listener" gives each condition (per item: +- a few points)
SCORES = {
    "reference": 100,
    "anchor70": 45,
    "anchor35": 20,
    "K1": 10,
    "K2": 20,
    "K4": 30,
    "K8": 45,
    "K16": 55,
    "K32": 60,
}


class _Silent:
    def __init__(self) -> None:
        self.samplerate, self.latency = 24_000, 0.0

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


class SilentBackend:
    """One output device that plays nothing (this machine has no sound card)."""

    available, reason = True, ""

    def devices(self):
        from app.realtime.devices import DeviceInfo

        return [DeviceInfo(0, "silent", 0, 2, 24_000.0)]

    def default_device(self, kind):
        return 0 if kind == "output" else None

    def output_stream(self, *a, **k):
        return _Silent()

    def input_stream(self, *a, **k):
        raise RuntimeError("no input")


def main() -> int:
    out = sys.argv[1] if len(sys.argv) > 1 else "docs/listening.png"
    os.environ.setdefault("XDG_DATA_HOME", tempfile.mkdtemp(prefix="mimi-listening-"))
    from app.launch import make_app

    app = make_app()
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QPainter, QPixmap
    from PySide6.QtWidgets import QSlider

    from app.window.main_window import MainWindow

    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    win = MainWindow(backend=SilentBackend(), model_source="demo", settings=settings)
    win.resize(1400, 950)
    win.show()
    ls = win.listening

    def wait(done, seconds: float = 600) -> None:
        t0 = time.monotonic()
        while not done():
            app.processEvents()
            time.sleep(0.02)
            if time.monotonic() - t0 > seconds:
                raise TimeoutError("waited too long")

    def open_clip(name: str) -> None:
        win.open_path(str(SAMPLES / name))
        c = win.compare
        wait(lambda: c.comparison is not None and c.comparison.name == name and c.views_ready())

    # ---- ABX: the original against K = 8, 10 trials ------------------------------------
    open_clip("english_speech.flac")
    d = ls.abx_dialog()
    d.assessor.setText("script")
    d.trials.setValue(10)
    d.seed.setValue(13)
    d.cond_a.setCurrentText("reference")
    d.cond_b.setCurrentText("K8")
    d.start_btn.click()
    wait(lambda: ls.run is not None)
    run = ls.run
    abx = run.session
    for _ in range(10):
        run.page.buttons["X"].click()
        app.processEvents()
        x = abx.current()["x"]
        wrong = abx.position in (3, 7)  # this "listener" misses two
        run.page.answer_buttons[("B" if x == "A" else "A") if wrong else x].click()
        app.processEvents()
    wait(lambda: ls.run is None)

    # ---- MUSHRA: two items ----------------------------------------------------------------
    m = ls.mushra_dialog()
    m.assessor.setText("script")
    m.seed.setValue(7)
    win.bar.loop_btn.setChecked(True)
    win.waveform.loop_region.setRegion((1.0, 9.0))
    ls.add_item()
    win.bar.loop_btn.setChecked(False)
    open_clip("japanese_speech.flac")
    ls.add_item()
    m.start_btn.click()
    wait(lambda: ls.run is not None)
    run = ls.run
    mushra = run.session
    for n in range(2):
        order = mushra.current()["order"]
        for pos, cond in enumerate(order):
            run.page.play_buttons[pos].click()
            s = run.page.sliders[pos]
            for _ in range(max(0, SCORES[cond] - 3 * n) // 5):
                s.triggerAction(QSlider.SliderAction.SliderPageStepAdd)
            app.processEvents()
        run.page.play_buttons[2].click()
        if n == 1:
            for _ in range(20):
                app.processEvents()
                time.sleep(0.02)
            trial_shot = run.window.grab()
        run.page.next_btn.click()
        app.processEvents()
    wait(lambda: ls.run is None)
    ls.show_results([abx.csv_path, mushra.csv_path])
    panel = ls.results.panel

    def measured() -> bool:
        ls.results.panel.set_objective(ls._objective([mushra.csv_path, abx.csv_path]))
        t = panel.table
        cells = [t.item(r, 5) for r in range(t.rowCount())]
        return all(c is not None and c.text() != "…" for c in cells)

    wait(measured)
    for _ in range(30):
        app.processEvents()
        time.sleep(0.02)
    results_shot = ls.results.grab()
    w = trial_shot.width() + results_shot.width()
    h = max(trial_shot.height(), results_shot.height())
    canvas = QPixmap(w, h)
    canvas.fill(win.palette().window().color())
    p = QPainter(canvas)
    p.drawPixmap(0, 0, trial_shot)
    p.drawPixmap(trial_shot.width(), 0, results_shot)
    p.end()
    ok = canvas.save(out, "PNG")
    print(f"{'wrote' if ok else 'FAILED to write'} {out}")
    print(f"ABX results: {abx.csv_path}\nMUSHRA results: {mushra.csv_path}")
    print("the results panel says:\n" + panel.summary.toPlainText())
    win.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
