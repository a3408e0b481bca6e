"""Audio devices in the app (issue 6): none at all, one that dies while playing, and xruns
in live mode. The app keeps working and says what happened (fake backend, random:tiny)."""

from __future__ import annotations

import gc
import threading
from types import SimpleNamespace

import numpy as np
import pytest

from tests.helpers.fake_audio import FakeBackend
from tests.helpers.signals import speechlike, write_tone
from tests.helpers.window import live_frames, make_window, open_and_code, wait_live_streams


@pytest.fixture()
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.mark.parametrize(
    "backend, reason",
    [
        (FakeBackend(inputs=0, outputs=0), "no audio output device"),
        (
            SimpleNamespace(
                available=False,
                reason="audio disabled: PortAudio is not available (libportaudio.so.2)",
                devices=lambda: [],
                default_device=lambda kind: None,
            ),
            "PortAudio is not available",
        ),
    ],
    ids=["no-devices", "no-portaudio"],
)
def test_no_devices_the_app_starts_and_says_why(qtbot, tmp_path, data_home, backend, reason):
    w = make_window(qtbot, tmp_path, backend)
    try:
        # playback, recording and live are disabled, each with the reason on it
        assert not w.play_btn.isEnabled() and reason in w.play_btn.toolTip()
        assert not w.record_action.isEnabled() and w.record_action.toolTip()
        assert not w.live.start_btn.isEnabled() and w.live.start_btn.toolTip()
        assert w.live.start_btn.toolTip() in w.live.note.text()
        errors = []
        w.live_ctl.error.connect(errors.append)
        assert not w.live.start() and errors and errors[0]
        # the rest of the app works: a file opens and codes
        src = tmp_path / "a.wav"
        write_tone(src, seconds=0.5, sr=24_000, channels=1)
        open_and_code(qtbot, w, src)
        w.toggle_play()  # the Space shortcut bypasses the disabled button
        assert not w.player.playing
        assert reason in w.statusBar().currentMessage()
    finally:
        w.close()


def _playing_a_tone(qtbot, w, tmp_path, seconds: float):
    """Open and code a tone of `seconds` in window w and press Play; the output stream."""
    src = tmp_path / "p.wav"
    write_tone(src, seconds=seconds, sr=24_000, channels=1)
    open_and_code(qtbot, w, src)
    w.toggle_play()
    return w.backend_fake.last("output")


def test_output_device_lost_while_playing_stops_cleanly(qtbot, tmp_path, data_home):
    backend = FakeBackend()
    w = make_window(qtbot, tmp_path, backend)
    try:
        out = _playing_a_tone(qtbot, w, tmp_path, 1.0)
        out.pump(2400)
        assert w.player.playing and w.play_btn.text().startswith("⏸")
        out.active = False  # PortAudio stopped the stream: the device went away
        qtbot.waitUntil(lambda: not w.player.playing, timeout=5_000)
        assert w.messages.isVisible() and "audio output stopped" in w.messages.text("audio")
        assert w.play_btn.text().startswith("▶")
        assert out.closed  # the dead stream was closed, not left dangling
        # Play again: a fresh stream opens, and it plays from where it stopped
        w.toggle_play()
        fresh = backend.last("output")
        assert fresh is not out and w.player.playing
        pos = w.player.position
        block = fresh.pump(480)
        assert np.allclose(block[:, 0], w.compare.comparison.x24[0, pos : pos + 480])
    finally:
        w.close()


def test_gaps_in_playback_are_counted_and_said(qtbot, tmp_path, data_home):
    """PortAudio's output underflow while a file plays (the device was not fed in time) is
    a gap the user heard: counted since Play and said in a warning; none while paused."""
    backend = FakeBackend()
    w = make_window(qtbot, tmp_path, backend)
    late = SimpleNamespace(output_underflow=True)
    try:
        out = _playing_a_tone(qtbot, w, tmp_path, 2.0)
        out.pump(480)
        qtbot.wait(100)
        assert "playback-gaps" not in w.messages.messages  # no gap, nothing said
        out.pump(480, late)
        qtbot.waitUntil(lambda: "1 gap since Play" in w.messages.text("playback-gaps"))
        out.pump(480, late)
        out.pump(480)
        out.pump(480, late)
        qtbot.waitUntil(lambda: "3 gaps since Play" in w.messages.text("playback-gaps"))
        w.toggle_play()  # pause: the callback writes silence, a late block is no gap
        out.pump(480, late)
        w.toggle_play()  # a new Play counts its own, and the old warning goes
        assert "playback-gaps" not in w.messages.messages
        out.pump(480, late)
        qtbot.waitUntil(lambda: "1 gap since Play" in w.messages.text("playback-gaps"))
        assert w.player.gaps == 4
    finally:
        w.close()


def test_xruns_in_live_mode_are_counted_and_shown_not_fatal(qtbot, tmp_path, data_home):
    x = speechlike(1.0, seed=5)[0, 0].numpy()
    backend = FakeBackend(source=x[:, None])
    w = make_window(qtbot, tmp_path, backend)
    collected_in: set[str] = set()

    def note(phase: str, info: dict) -> None:
        if phase == "start":
            collected_in.add(threading.current_thread().name)

    gc.callbacks.append(note)
    try:
        w.tabs.setCurrentWidget(w.live)
        assert w.live.start()
        mic, spk = wait_live_streams(qtbot, backend)
        assert gc.get_freeze_count() > 0  # the heap is frozen while the streams run
        overflow = SimpleNamespace(input_overflow=True, output_underflow=False)
        underflow = SimpleNamespace(input_overflow=False, output_underflow=True)
        for i in range(4):
            block = np.ascontiguousarray(x[i * 1920 : (i + 1) * 1920, None])
            # PortAudio's flags arrive with the block; blocks 1 and 3 report an overflow
            mic.callback(block, 1920, None, overflow if i % 2 else None)
            qtbot.waitUntil(lambda n=i + 1: live_frames(w) >= n, timeout=20_000)
            out = np.zeros((1920, spk.channels), np.float32)
            spk.callback(out, 1920, None, underflow if i == 2 else None)
        st = w.live_ctl.stats
        assert (st.xruns, st.xruns_in, st.xruns_out) == (3, 2, 1)  # 2 overflows in, 1 under out
        qtbot.waitUntil(lambda: w.live.readouts["frames"].text() == "4", timeout=5_000)
        assert w.live.readouts["xruns"].text() == "3 (in 2, out 1)"
        assert w.live.running and not w.messages.isVisible()  # not fatal: it goes on
        # spooled: the session is already a valid WAV on disk while it runs (survives a kill)
        import soundfile as sf

        rec = tmp_path / "data" / "mimi-explorer" / "recordings"
        (inp,) = rec.glob("live-*-input.wav")
        (outp,) = rec.glob("live-*-output.wav")
        assert np.array_equal(sf.read(str(inp), dtype="float32")[0], x[: 4 * 1920])
        mtimes = (inp.stat().st_mtime_ns, outp.stat().st_mtime_ns)
        w.live.stop()
        qtbot.waitUntil(lambda: not w.live.running, timeout=20_000)
        qtbot.waitUntil(
            lambda: (
                w.compare.comparison is not None and w.compare.comparison.name.startswith("live")
            ),
            timeout=20_000,
        )
        assert w.compare.comparison.codes.shape == (1, 32, 4)
        assert np.array_equal(w.compare.comparison.x24[0], x[: 4 * 1920])
        # the comparison opens the spooled files; nothing was written a second time
        assert w.compare.comparison.path == inp
        assert sorted(rec.iterdir()) == sorted([inp, outp])
        assert (inp.stat().st_mtime_ns, outp.stat().st_mtime_ns) == mtimes
        assert len(sf.read(str(outp))[0]) == 4 * 1920
        assert gc.get_freeze_count() == 0  # given back at the end
        # the freeze collects nothing itself: the window collects on its own thread only
        assert collected_in <= {"MainThread"}, collected_in
    finally:
        gc.callbacks.remove(note)
        w.close()


def test_a_live_session_never_overwrites_an_earlier_one(qtbot, tmp_path, data_home, monkeypatch):
    """Two sessions started within one second get different files (the spool refuses to
    overwrite; the panel must not fall back to writing over the first one either)."""
    import soundfile as sf

    import app.realtime.recorder as recorder

    monkeypatch.setattr(recorder.time, "strftime", lambda fmt, *a: "20260101-120000")
    rec = tmp_path / "data" / "mimi-explorer" / "recordings"
    rec.mkdir(parents=True)
    earlier = np.full(1920, 0.25, np.float32)
    for part in ("input", "output"):
        sf.write(str(rec / f"live-20260101-120000-{part}.wav"), earlier, 24_000, subtype="FLOAT")
    x = speechlike(0.3, seed=7)[0, 0].numpy()
    backend = FakeBackend(source=x[:, None])
    w = make_window(qtbot, tmp_path, backend)
    try:
        assert w.live.start()
        wait_live_streams(qtbot, backend)[0].pump(1920)
        qtbot.waitUntil(lambda: live_frames(w) >= 1, timeout=20_000)
        w.live.stop()
        qtbot.waitUntil(
            lambda: (
                w.compare.comparison is not None and w.compare.comparison.name.startswith("live")
            ),
            timeout=20_000,
        )
        for part in ("input", "output"):  # the earlier session is intact
            got = sf.read(str(rec / f"live-20260101-120000-{part}.wav"), dtype="float32")[0]
            assert np.array_equal(got, earlier)
        new_in = w.compare.comparison.path
        assert new_in.parent == rec and new_in.name != "live-20260101-120000-input.wav"
        assert np.array_equal(sf.read(str(new_in), dtype="float32")[0], x[:1920])
        assert len(list(rec.glob("live-*-output.wav"))) == 2
        assert not w.messages.isVisible()  # the spool worked: nothing to complain about
    finally:
        w.close()


def test_microphone_lost_while_recording_keeps_the_recording(qtbot, tmp_path, data_home):
    import soundfile as sf

    from app.widgets.record_dialog import RecordDialog

    tone = write_tone(tmp_path / "mic.wav", seconds=1.0, sr=48_000, channels=2)
    backend = FakeBackend(source=tone.T.copy())
    w = make_window(qtbot, tmp_path, backend)
    try:
        (tmp_path / "rec").mkdir()
        dlg = RecordDialog(backend, w, folder=tmp_path / "rec")
        recorded, failed = [], []
        dlg.recorded.connect(recorded.append)
        dlg.failed.connect(failed.append)
        dlg.start()
        mic = backend.last("input")
        mic.fail_after = 3 * 4800  # the device dies after 0.3 s
        for _ in range(6):
            mic.pump(4800)
        qtbot.waitUntil(lambda: bool(recorded), timeout=5_000)  # the dialog noticed and stopped
        assert failed and "input device stopped" in failed[0]
        data, sr = sf.read(recorded[0], always_2d=True)
        assert sr == 48_000 and np.allclose(data.T, tone[:, : 3 * 4800], atol=1e-6)
    finally:
        w.close()


def test_microphone_lost_in_live_mode_says_so_and_keeps_the_session(qtbot, tmp_path, data_home):
    x = speechlike(1.0, seed=9)[0, 0].numpy()
    backend = FakeBackend(source=x[:, None])
    w = make_window(qtbot, tmp_path, backend)
    try:
        assert w.live.start()
        mic, _ = wait_live_streams(qtbot, backend)
        mic.fail_after = 3 * 1920
        for _ in range(5):
            mic.pump(1920)
        qtbot.waitUntil(lambda: not w.live.running, timeout=20_000)
        assert w.messages.isVisible() and "input device stopped" in w.messages.text("audio")
        assert w.live.start_btn.text().startswith("●")  # ready to start again
        qtbot.waitUntil(
            lambda: (
                w.compare.comparison is not None and w.compare.comparison.name.startswith("live")
            ),
            timeout=20_000,
        )
        assert w.compare.comparison.codes.shape == (1, 32, 3)
        assert np.array_equal(w.compare.comparison.x24[0], x[: 3 * 1920])
        assert all(s.closed for s in backend.streams if s.kind == "input")
    finally:
        w.close()


def test_the_hosts_share_of_the_cpu_reads_as_known():
    from app.realtime.live import LiveStats
    from app.widgets.live_panel import steal_text

    st = LiveStats()
    assert steal_text(st) == "–"  # not read yet, or not Linux
    st.steal_pct = 3.4
    assert steal_text(st) == "3 %"  # no session figure: none made up
    st.steal_pct_session = 1.6
    assert steal_text(st) == "3 % (session 2 %)"
