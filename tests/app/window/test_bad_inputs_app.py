"""Bad input files and failing exports in the app: a message in the window, and the app
keeps working (the next good file opens and codes)."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from tests.helpers.bad_files import BAD, tone
from tests.helpers.signals import write_tone
from tests.helpers.window import open_and_code


def test_each_bad_file_shows_a_message_and_the_app_keeps_working(qtbot, window, tmp_path):
    for case in sorted(BAD):
        make, expect = BAD[case]
        src = tmp_path / f"{case}.wav"
        make(src)
        window.open_path(str(src))
        qtbot.waitUntil(lambda: "file" in window.messages, timeout=20_000)
        assert expect in window.messages.text("file"), (case, window.messages.text())
        assert window.compare.comparison is None  # nothing half-loaded is shown
    good = tmp_path / "good.wav"
    write_tone(good, seconds=0.5, sr=24_000, channels=1)
    open_and_code(qtbot, window, good)
    assert not window.messages.isVisible()


UNREADABLE_IN_APP = """
import os, sys, time
sys.path.insert(0, {root!r})
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QSettings
from app.launch import make_app
from app.window.main_window import MainWindow
from tests.helpers.fake_audio import FakeBackend
import codec.weights.load, codec.session.operations, codec.analysis.views  # imported as root
app = make_app()
if os.geteuid() == 0:  # root reads any file: become nobody, as a user would be
    os.setgroups([]); os.setresgid(65534, 65534, 65534); os.setresuid(65534, 65534, 65534)
settings = QSettings(sys.argv[2] + "/s.ini", QSettings.Format.IniFormat)
w = MainWindow(backend=FakeBackend(), model_source="random:tiny", settings=settings)
w.open_path(sys.argv[1])
t = time.monotonic()
while "file" not in w.messages.keys() and time.monotonic() - t < 60:
    app.processEvents(); time.sleep(0.01)
print("MESSAGE:", w.messages.text("file"), flush=True)
w.close()
"""


def test_unreadable_file_in_the_app(tmp_path):
    """The window says why a file it may not read was not opened (run as a normal user:
    root reads any file, so as root the window runs as nobody in a child process)."""
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from tests.helpers.paths import ROOT
    from tests.helpers.requirements import need

    shared = Path(tempfile.mkdtemp(prefix="mimi-perm-", dir="/tmp"))  # tmp_path is root-only
    try:
        shared.chmod(0o777)
        src = shared / "secret.wav"
        write_tone(src, seconds=0.2, sr=24_000, channels=1)
        src.chmod(0)
        env = {**os.environ, "XDG_DATA_HOME": str(shared), "HOME": str(shared)}
        script = UNREADABLE_IN_APP.format(root=str(ROOT))
        r = subprocess.run(
            [sys.executable, "-c", script, str(src), str(shared)],
            capture_output=True,
            text=True,
            timeout=180,
            cwd=ROOT,
            env=env,
        )
        if "Operation not permitted" in r.stderr and "setres" in r.stderr:
            need(False, "cannot drop root privileges here, and root reads any file")
        assert "MESSAGE:" in r.stdout, r.stderr[-2000:]
        assert "no permission to read" in r.stdout, r.stdout + r.stderr[-2000:]
    finally:
        for p in shared.rglob("*"):
            if p.is_file():
                p.unlink()
        for p in sorted(shared.rglob("*"), reverse=True):
            p.rmdir()
        shared.rmdir()


def test_odd_files_open_and_code(qtbot, window, tmp_path):
    """8 channels at 192 kHz, and a single sample: both open, code and keep their shape."""
    x = tone(0.25, 192_000, channels=8)
    big = tmp_path / "eight.wav"
    sf.write(str(big), x, 192_000, subtype="PCM_24")
    open_and_code(qtbot, window, big)
    s = window.compare.comparison
    assert (s.source_rate, s.channels, s.source_length) == (192_000, 8, len(x))
    assert s.codes.shape[0] == 8 and window.waveform.lane_count() == 8
    one = tmp_path / "one.wav"
    sf.write(str(one), np.full((1, 1), 0.5, np.float32), 24_000, subtype="FLOAT")
    open_and_code(qtbot, window, one)
    s = window.compare.comparison
    assert (s.channels, s.source_length) == (1, 1) and s.codes.shape[2] == 1


def test_nan_file_opens_with_a_warning(qtbot, window, tmp_path):
    x = tone(0.3, 24_000)
    x[10:13] = np.nan
    src = tmp_path / "nan.wav"
    sf.write(str(src), x, 24_000, subtype="FLOAT")
    open_and_code(qtbot, window, src)
    assert "3 NaN/Inf samples were replaced" in window.messages.text("file")
    assert np.isfinite(window.compare.comparison.reconstruction(window.compare.k)).all()


def test_export_that_fails_midway_shows_a_message_and_leaves_no_file(
    qtbot, window, tmp_path, monkeypatch
):
    src = tmp_path / "e.wav"
    write_tone(src, seconds=0.5, sr=24_000, channels=1)
    open_and_code(qtbot, window, src)
    real = sf.SoundFile.write

    def disk_full(self, data):
        real(self, data[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sf.SoundFile, "write", disk_full)
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    window.exports.export_audio(str(out_dir / "r.wav"))  # written by the worker
    qtbot.waitUntil(lambda: "No space left" in window.messages.text("export"), timeout=10_000)
    assert window.messages.isVisible()
    assert list(out_dir.iterdir()) == []
    monkeypatch.undo()
    with qtbot.waitSignal(window.exports.exported, timeout=10_000):
        window.exports.export_audio(str(out_dir / "r.wav"))  # and it works once the disk has room
    assert sf.info(str(out_dir / "r.wav")).frames == 12_000


def test_codes_export_that_fails_shows_a_message(qtbot, window, tmp_path, monkeypatch):
    src = tmp_path / "c.wav"
    write_tone(src, seconds=0.5, sr=24_000, channels=1)
    open_and_code(qtbot, window, src)
    import codec.audio.codes_file as cio

    def disk_full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cio, "save_file", disk_full)
    window.exports.export_codes(str(tmp_path / "c.safetensors"))
    assert window.messages.isVisible() and "No space left" in window.messages.text("export")
    assert not (tmp_path / "c.safetensors").exists()


def test_png_export_that_fails_midway_leaves_no_file(qtbot, window, tmp_path, monkeypatch):
    src = tmp_path / "p.wav"
    write_tone(src, seconds=0.3, sr=24_000, channels=1)
    open_and_code(qtbot, window, src)
    out_dir = tmp_path / "png"
    out_dir.mkdir()
    calls = []

    class HalfWritten:
        def save(self, path, fmt=None):  # writes part of a file, then reports failure
            calls.append((path, fmt))
            with open(path, "wb") as f:
                f.write(b"\x89PNG\r\n")
            return False

    window.exports.export_png(lambda: HalfWritten(), str(out_dir / "v.png"))
    assert window.messages.isVisible() and "could not write" in window.messages.text("export")
    assert list(out_dir.iterdir()) == []  # neither v.png nor a temporary
    assert calls[0][1] == "PNG"  # the format is explicit: the temporary's name is not .png
    window.exports.export_png(window.compare_view.views.grab, str(out_dir / "v.png"))
    assert [p.name for p in out_dir.iterdir()] == ["v.png"]
    assert (out_dir / "v.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
