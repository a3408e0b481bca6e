"""Bad input files and failing exports in the app: a message in the window, and the app
keeps working (the next good file opens and codes)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from .app_window import make_window, open_and_code
from .helpers import write_tone
from .test_bad_inputs import BAD, tone

pytest.importorskip("pytestqt")


@pytest.fixture()
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    w = make_window(qtbot, tmp_path)
    yield w
    w.close()


def test_each_bad_file_shows_a_message_and_the_app_keeps_working(qtbot, window, tmp_path):
    for case in sorted(BAD):
        make, expect = BAD[case]
        src = tmp_path / f"{case}.wav"
        make(src)
        window.open_path(str(src))
        qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=20_000)
        assert expect in window.banner.text(), (case, window.banner.text())
        assert window.session is None  # nothing half-loaded is shown
    good = tmp_path / "good.wav"
    write_tone(good, seconds=0.5, sr=24_000, channels=1)
    open_and_code(qtbot, window, good)
    assert not window.banner.isVisible()


def test_unreadable_file_in_the_app(qtbot, window, tmp_path):
    import os

    if os.geteuid() == 0:
        pytest.skip(
            "root reads any file, and the app cannot drop privileges mid-test; the app "
            "uses the same codec.audio.load_audio whose refusal the CLI test checks as nobody"
        )
    src = tmp_path / "secret.wav"
    write_tone(src, seconds=0.2, sr=24_000, channels=1)
    src.chmod(0)
    window.open_path(str(src))
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=20_000)
    assert "no permission to read" in window.banner.text()


def test_odd_files_open_and_code(qtbot, window, tmp_path):
    """8 channels at 192 kHz, and a single sample: both open, code and keep their shape."""
    x = tone(0.25, 192_000, channels=8)
    big = tmp_path / "eight.wav"
    sf.write(str(big), x, 192_000, subtype="PCM_24")
    open_and_code(qtbot, window, big)
    s = window.session
    assert (s.source_rate, s.channels, s.source.shape[1]) == (192_000, 8, len(x))
    assert s.codes.shape[0] == 8 and window.waveform.lane_count() == 8
    one = tmp_path / "one.wav"
    sf.write(str(one), np.full((1, 1), 0.5, np.float32), 24_000, subtype="FLOAT")
    open_and_code(qtbot, window, one)
    assert window.session.source.shape == (1, 1) and window.session.codes.shape[2] == 1


def test_nan_file_opens_with_a_warning(qtbot, window, tmp_path):
    x = tone(0.3, 24_000)
    x[10:13] = np.nan
    src = tmp_path / "nan.wav"
    sf.write(str(src), x, 24_000, subtype="FLOAT")
    open_and_code(qtbot, window, src)
    assert "3 NaN/Inf samples were replaced" in window.banner.text()
    assert np.isfinite(window.session.reconstruction(window.k)).all()


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
    window.export_audio(str(out_dir / "r.wav"))  # written by the worker
    qtbot.waitUntil(lambda: "No space left" in window.banner.text(), timeout=10_000)
    assert window.banner.isVisible()
    assert list(out_dir.iterdir()) == []
    monkeypatch.undo()
    with qtbot.waitSignal(window.worker.exported, timeout=10_000):
        window.export_audio(str(out_dir / "r.wav"))  # and it works once the disk has room
    assert sf.info(str(out_dir / "r.wav")).frames == 12_000


def test_codes_export_that_fails_shows_a_message(qtbot, window, tmp_path, monkeypatch):
    src = tmp_path / "c.wav"
    write_tone(src, seconds=0.5, sr=24_000, channels=1)
    open_and_code(qtbot, window, src)
    import codec.codes_io as cio

    def disk_full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cio, "save_file", disk_full)
    window.export_codes(str(tmp_path / "c.safetensors"))
    assert window.banner.isVisible() and "No space left" in window.banner.text()
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

    monkeypatch.setattr(window.views, "grab", lambda: HalfWritten())
    window.export_png(str(out_dir / "v.png"))
    assert window.banner.isVisible() and "could not write" in window.banner.text()
    assert list(out_dir.iterdir()) == []  # neither v.png nor a temporary
    assert calls[0][1] == "PNG"  # the format is explicit: the temporary's name is not .png
    monkeypatch.undo()
    window.export_png(str(out_dir / "v.png"))
    assert [p.name for p in out_dir.iterdir()] == ["v.png"]
    assert (out_dir / "v.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
