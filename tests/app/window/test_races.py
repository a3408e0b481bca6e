"""Races in the app (issue 6): a second file while the first is coding, the K slider swept
while playing, the window closed mid-job or mid-live-session. Nothing may crash, hang,
leave a thread running or show results from the wrong file.

Cancelling mid-encode is tests/test_app.py::test_cancel_encode_then_encode_again.
"""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings

from .app_window import make_window
from .fake_audio import FakeBackend
from .helpers import write_tone

pytest.importorskip("pytestqt")


@pytest.fixture()
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    w = make_window(qtbot, tmp_path)
    yield w
    w.close()


def wait_encoding_midway(qtbot, w) -> None:
    """Until the worker reports encode progress: the encode is running, between chunks."""
    qtbot.waitUntil(
        lambda: (
            w.progress.isVisible()
            and "encoding" in w.progress.format()
            and w.progress.maximum() > 1
        ),
        timeout=30_000,
    )


def own_codes(codec, path) -> np.ndarray:
    """The codes of a file computed here with the codec library, not by the app."""
    from codec.audio import load_audio, resample
    from codec.pipeline import encode_signal

    a = load_audio(path)
    return encode_signal(codec, resample(a.samples, a.sample_rate, codec.sample_rate)).numpy()


def test_second_file_while_the_first_is_coding_shows_only_the_second(qtbot, win, tmp_path):
    first, second = tmp_path / "first.wav", tmp_path / "second.wav"
    write_tone(first, seconds=25.0, sr=24_000, channels=1)  # several 64-frame chunks
    write_tone(second, seconds=0.7, sr=16_000, channels=2)
    shown: list[tuple | None] = []  # every codes array the heatmap was given, by shape
    real_set_codes = win.heatmap.set_codes

    def spy(codes, *a, **k):
        shown.append(None if codes is None else np.array(codes, copy=True))
        return real_set_codes(codes, *a, **k)

    win.heatmap.set_codes = spy
    win.open_path(str(first))
    wait_encoding_midway(qtbot, win)
    win.open_path(str(second))  # the first file's encode is still running
    n_before = len(shown)
    qtbot.waitUntil(
        lambda: win.session is not None and win.session.name == "second.wav" and win.views_ready(),
        timeout=60_000,
    )
    qtbot.wait(300)  # anything the first job still had in flight arrives by now
    s = win.session
    want = own_codes(win.worker.codec, second)
    assert s.codes.shape == want.shape == (2, 32, 9)
    assert np.array_equal(s.codes, want)
    # the heatmap, the player and the title belong to the second file
    assert np.array_equal(win.heatmap.codes, want[win.channel])
    assert all(c is None or c.shape[1] == 9 for c in shown[n_before:]), "first file's codes"
    assert win.player.length == s.x24.shape[1] and win.player.channels == 2
    assert "second.wav" in win.windowTitle() and "first.wav" not in win.windowTitle()
    assert win.channel_box.count() == 2
    assert win.waveform.lane_count() == 2


def test_k_slider_swept_while_playing_ends_on_the_right_decode(qtbot, win, tmp_path):
    src = tmp_path / "k.wav"
    write_tone(src, seconds=11.0, sr=24_000, channels=1)  # 2 decode chunks: overtaken midway
    win.open_path(str(src))
    qtbot.waitUntil(win.views_ready, timeout=60_000)
    win.player.loop = (0, win.player.length)  # keep playing through the whole sweep
    win.toggle_play()
    out = win.backend_fake.last("output")
    order = list(range(1, 33))
    random.Random(6).shuffle(order)  # every value once, in a jumbled order
    for i, k in enumerate(order):
        win.slider.setValue(k)
        out.pump(480)  # the audio callback keeps running between moves
        if i % 8 == 0:
            qtbot.wait(150)  # let a decode start, to be overtaken midway by the next K
    final = order[-1]
    assert win.k == final and f"K = {final:2d}" in win.k_label.text()
    qtbot.waitUntil(lambda: win.views_ready() and not win.progress.isVisible(), timeout=60_000)
    s = win.session
    codec = win.worker.codec
    expect = codec.decode(torch.from_numpy(s.codes[:, :final]))[:, 0, : s.num_samples].numpy()
    assert np.allclose(s.reconstruction(final), expect, atol=1e-5)
    assert np.allclose(win.player._b[:, 0], expect[0], atol=1e-5)  # B is the final K
    assert win.heatmap.k == final
    assert win.player.playing  # never stopped by the decodes
    win.select_ab("B")
    pos = win.player.position
    block = out.pump(960)[:, 0]
    idx = (pos + np.arange(960)) % win.player.length
    assert np.allclose(block, expect[0][idx], atol=1e-5)  # what is heard is that decode
    # a K overtaken by the next one is not a user's cancel: nothing says "cancelled"
    assert "cancelled" not in win.statusBar().currentMessage()
    assert not win.banner.isVisible()


def _threads_started_since(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before and t.is_alive()]


def test_closing_the_window_mid_encode_stops_every_thread(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    before = set(threading.enumerate())
    w = make_window(qtbot, tmp_path)
    src = tmp_path / "long.wav"
    write_tone(src, seconds=25.0, sr=24_000, channels=1)
    w.open_path(str(src))
    wait_encoding_midway(qtbot, w)
    assert w.threads.thread.isRunning()
    w.close()  # mid-encode
    assert not w.threads.thread.isRunning()
    assert not w.worker.metrics._thread.is_alive()
    assert _threads_started_since(before) == []


def test_closing_the_window_mid_live_session_stops_every_thread(qtbot, tmp_path, monkeypatch):
    from .helpers import speechlike

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    before = set(threading.enumerate())
    x = speechlike(0.5, seed=2)[0, 0].numpy()
    w = make_window(qtbot, tmp_path, FakeBackend(source=x[:, None]))
    assert w.live.start()
    mic = w.backend_fake.last("input")
    mic.pump(1920)
    qtbot.waitUntil(lambda: w.live.engine.stats.frames >= 1, timeout=20_000)
    w.close()  # the frame loop runs inside the worker thread: it must end too
    assert not w.threads.thread.isRunning()
    assert _threads_started_since(before) == []
    assert all(s.closed for s in w.backend_fake.streams if s.kind == "input")


def test_closing_the_window_while_the_model_loads(qtbot, tmp_path, monkeypatch):
    """A model load cannot be interrupted: close waits for it, then every thread is gone."""
    from app.launch import make_app

    make_app()
    from app.main_window import MainWindow

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    before = set(threading.enumerate())
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(backend=FakeBackend(), model_source="random:mimi", settings=settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: "loading" in w.model_label.text(), timeout=5_000)
    w.close()
    assert not w.threads.thread.isRunning()
    assert _threads_started_since(before) == []
    # the finished load's queued modelLoaded reaches a closed window: no exception (pytest-qt
    # fails the test on any exception raised in a slot)
    qtbot.wait(100)
