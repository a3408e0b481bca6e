"""A long file through the real app window: memory, times and GUI stalls, phase by phase.

    python scripts/measure_long_app.py --minutes 120 [--rate 44100] [--weights demo]

Writes a mono FLAC of that length (block by block), opens it in the MainWindow (offscreen
Qt, a fake real-time audio device), and runs what a user would: open, encode, decode at
K = 8, play for a few seconds, move the slider to K = 32, wait for the quality sweep,
zoom the views into the middle of the file, export the reconstruction, and finally open
the file again and cancel while it is encoding. Prints one JSON line per phase (wall
seconds, RSS now) and a summary: peak RSS (VmHWM) and the longest stall of the GUI event
loop (how late a 20 ms timer fired), per phase.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def vm(field: str) -> float:
    """A /proc/self/status field (VmRSS, VmHWM) in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=120.0)
    p.add_argument("--rate", type=int, default=44_100)
    p.add_argument("--weights", default="demo")
    p.add_argument("--dir", default=None, help="folder for the test files (default: temp)")
    p.add_argument("--phase-timeout", type=float, default=3600.0)
    p.add_argument("--long-s", type=float, default=None, help="lower the long-file threshold")
    args = p.parse_args()

    import numpy as np
    import soundfile as sf
    from measure_long import write_test_file
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from soak import ClockedBackend

    from app.launch import make_app

    app = make_app()
    from app.window.main_window import MainWindow

    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        src = Path(d) / "long.flac"
        t0 = time.monotonic()
        write_test_file(src, 60 * args.minutes, args.rate)
        print(json.dumps({"phase": "write test file", "s": round(time.monotonic() - t0, 1)}))
        settings = QSettings(str(Path(d) / "s.ini"), QSettings.Format.IniFormat)
        backend = ClockedBackend()
        from codec.session.policy import LongFilePolicy

        policy = LongFilePolicy() if args.long_s is None else LongFilePolicy(long_s=args.long_s)
        w = MainWindow(backend=backend, model_source=args.weights, settings=settings, policy=policy)
        w.resize(1400, 900)
        w.show()

        # event-loop stall monitor: how late a 20 ms timer fires, worst per phase
        clock, worst = QElapsedTimer(), [0.0]
        clock.start()
        last = [clock.elapsed()]

        def tick() -> None:
            now = clock.elapsed()
            worst[0] = max(worst[0], (now - last[0] - 20) / 1000)
            last[0] = now

        timer = QTimer()
        timer.timeout.connect(tick)
        timer.start(20)
        summary: dict[str, dict] = {}

        played = [time.monotonic()]

        def pump_speaker() -> None:
            """Call the fake speaker's callback for the time passed (the device clock)."""
            spk = backend.streams.get("output")
            now = time.monotonic()
            n = int((now - played[0]) * 24_000)
            if spk is None or not spk.active or n < 480:
                played[0] = now if spk is None or not spk.active else played[0]
                return
            played[0] += n / 24_000
            spk.callback(np.zeros((n, spk.channels), np.float32), n, None, None)

        def phase(name: str, start, done, timeout: float | None = None) -> None:
            worst[0] = 0.0
            t = time.monotonic()
            start()
            limit = t + (timeout or args.phase_timeout)
            while not done():
                app.processEvents()
                pump_speaker()
                time.sleep(0.005)
                if time.monotonic() > limit:
                    raise SystemExit(f"{name}: not done after {timeout or args.phase_timeout} s")
            rec = {
                "s": round(time.monotonic() - t, 2),
                "rss_mb": round(vm("VmRSS")),
                "peak_mb": round(vm("VmHWM")),
                "worst_stall_s": round(worst[0], 3),
            }
            summary[name] = rec
            print(json.dumps({"phase": name, **rec}), flush=True)

        phase("load model", lambda: None, lambda: w.models.info is not None)
        k_all = w.models.info.num_codebooks
        phase(
            "open (read + resample)",
            lambda: w.open_path(str(src)),
            lambda: w.compare.comparison is not None and w.compare.comparison.name == src.name,
        )
        s = w.compare.comparison
        phase("encode", lambda: None, lambda: w.compare.comparison.codes is not None)
        phase(
            f"decode K={w.compare.k}",
            lambda: None,
            lambda: s.reconstruction(w.compare.k) is not None,
        )
        phase("play 5 s", w.toggle_play, lambda: w.player.position > 5 * s.codec_rate, 60)
        w.toggle_play()
        phase(
            f"slider to K={k_all}",
            lambda: w.compare.set_k(k_all),
            lambda: s.reconstruction(k_all) is not None and w.player.has_b(),
        )
        phase("quality sweep", lambda: None, w.compare.sweep_done)
        mid = s.duration / 2

        def zoom() -> None:
            for span in (s.duration, 600, 60, 1, s.duration):
                w.waveform.plots[0].setXRange(mid - span / 2, mid + span / 2, padding=0)
                w.grab()  # paints every view at this zoom

        phase("zoom 5 levels + paint", zoom, lambda: True)
        out = Path(d) / "export.wav"
        phase("export WAV", lambda: w.exports.export_audio(str(out)), out.exists)
        phase(
            "reopen, cancel mid-encode",
            lambda: w.open_path(str(src)),
            lambda: (
                w.compare.comparison is not None
                and w.progress.isVisible()
                and w.progress.value() > 0
            ),
        )
        phase("cancelled", w.cancel, lambda: not w.progress.isVisible())
        result = {
            "minutes": args.minutes,
            "rate": args.rate,
            "model": w.models.info.description,
            "peak_rss_mb": round(vm("VmHWM")),
            "worst_stall_s": max(r["worst_stall_s"] for r in summary.values()),
            "metrics_note": s.metrics_note,
            "export_s": sf.info(str(out)).duration,
        }
        print(json.dumps(result), flush=True)
        w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
