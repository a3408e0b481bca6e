"""Issue 5 in the app: quality-versus-K sweep, metrics and token panels, loudness-matched
B, streaming versus offline (pytest-qt, offscreen, fake audio device, random:tiny)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from .app_window import make_window, open_and_code
from .helpers import write_tone

pytest.importorskip("pytestqt")


@pytest.fixture()
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    w = make_window(qtbot, tmp_path, size=(1400, 950))
    yield w
    w.close()


def own_decode(codec, codes: np.ndarray, k: int, n: int) -> np.ndarray:
    """The codec's decode of codes[:, :k], [C, n]: computed here, not by the app."""
    return codec.decode(torch.from_numpy(codes[:, :k]))[:, 0, :n].numpy()


def test_quality_chart_fills_in_with_the_codecs_own_metrics(qtbot, win, tmp_path, tiny):
    from codec.metrics import compare, token_stats
    from codec.session import SWEEP_KS

    src = tmp_path / "q.wav"
    write_tone(src, seconds=1.0, sr=24_000, channels=1)
    open_and_code(qtbot, win, src)
    qtbot.waitUntil(win.sweep_done, timeout=120_000)
    s = win.session
    pts = win.chart.points()
    assert sorted(pts) == list(SWEEP_KS)
    for k in SWEEP_KS:
        expect = compare(s.x24, own_decode(tiny, s.codes, k, s.num_samples), 24_000)[0]
        assert pts[k] == pytest.approx(expect["si_sdr"], rel=1e-4, abs=1e-3), k
        if k == win.k:
            assert win.metrics_panel.value_text("SI-SDR") == f"{expect['si_sdr']:+.1f} dB"
            assert win.metrics_panel.value_text("STOI") == f"{expect['stoi']:.3f}"
            assert win.metrics_panel.value_text("peak", 1) == f"{expect['peak_dbfs_ref']:.1f} dBFS"
    assert "all 10 K measured" in win.chart.status.text()
    # the current K is marked on the chart
    assert win.chart.k_line.value() == pytest.approx(np.log2(win.k))
    # token statistics beside the heatmap: one row per codebook, the codec's own numbers
    stats = token_stats(s.codes[0], 64, 12.5)
    assert win.token_panel.table.rowCount() == 32
    assert win.token_panel.table.item(5, 2).text() == f"{stats[5]['entropy_bits']:.2f}"
    ideal = sum(st["ideal_bitrate"] for st in stats[: win.k]) / 1000
    assert f"{ideal:.2f} kbps" in win.token_panel.summary.text()


def test_clicking_a_chart_point_sets_k(qtbot, win, tmp_path):
    src = tmp_path / "c.wav"
    write_tone(src, seconds=0.8, sr=24_000, channels=1)
    open_and_code(qtbot, win, src)
    qtbot.waitUntil(lambda: 4 in win.chart.points(), timeout=120_000)
    qtbot.wait(50)  # let the plot lay itself out
    view = win.chart.plot
    pos = view.mapFromScene(win.chart.point_scene_pos(4))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert win.slider.value() == 4 and win.k == 4
    qtbot.waitUntil(lambda: win.session.reconstruction(4) is not None, timeout=30_000)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_loudness_match_plays_b_at_the_shown_gain(qtbot, win, tmp_path, tiny):
    from codec.metrics import loudness_match_gain_db

    src = tmp_path / "l.wav"
    write_tone(src, seconds=1.0, sr=24_000, channels=1)
    open_and_code(qtbot, win, src)
    qtbot.waitUntil(lambda: win.k in win._measured, timeout=60_000)
    win.select_ab("B")
    win.toggle_play()
    out = win.backend_fake.last("output")
    win.player.seek(2400)
    plain = out.pump(9600)
    win.match_btn.setChecked(True)
    m = re.fullmatch(r"B ([+-]\d+\.\d) dB( \(peak limit\))?", win.gain_label.text())
    assert m, win.gain_label.text()
    shown = float(m.group(1))
    win.player.seek(2400)
    matched = out.pump(9600)
    # the label is rounded to 0.1 dB: allow half of that (0.6 %)
    assert _rms(matched) / _rms(plain) == pytest.approx(10 ** (shown / 20), rel=6e-3)
    # the gain is the loudness match, computed independently, unless limited at full scale
    s = win.session
    y = own_decode(tiny, s.codes, win.k, s.num_samples)
    want = loudness_match_gain_db(s.x24, y, 24_000)
    if m.group(2):
        assert want > shown and np.abs(matched).max() <= 1.0
    else:
        assert shown == pytest.approx(want, abs=0.051)
    win.match_btn.setChecked(False)
    assert win.gain_label.text() == "" and win.player.gain_b == 1.0
    win.player.seek(2400)
    assert np.allclose(out.pump(9600), plain)


def test_loudness_gain_is_limited_at_full_scale():
    from app.player import MATCH_CEILING_DBFS, loudness_match_gain

    assert loudness_match_gain(2.4, -6.0) == (2.4, False)
    assert loudness_match_gain(-3.0, -1.0) == (-3.0, False)
    gain, limited = loudness_match_gain(8.0, -3.0)
    assert limited and gain == pytest.approx(MATCH_CEILING_DBFS + 3.0)


def test_streaming_vs_offline_matches_and_switches_off(qtbot, win, tmp_path):
    src = tmp_path / "s.wav"
    write_tone(src, seconds=13 * 1920 / 24_000, sr=24_000, channels=1)  # 13 whole frames
    open_and_code(qtbot, win, src)
    win.stream_btn.setChecked(True)
    qtbot.waitUntil(lambda: win.stream_result is not None, timeout=60_000)
    r = win.stream_result
    assert (r.k, r.whole_frames, r.frames, r.tail_match) == (win.k, 13, 13, None)
    assert r.code_match == 1.0 and r.codes_compared == 32 * 13
    assert r.max_diff < 1e-4
    assert "codes 100.00 % equal" in win.stream_label.text()
    assert win.stream_label.isVisible()
    trace = win.waveform.stream_trace(0)
    assert trace is not None and len(trace) == win.session.num_samples
    assert np.allclose(trace, r.difference[0] * win.waveform.stream_scale)
    # a new K reruns the check at that K
    win.slider.setValue(3)
    qtbot.waitUntil(
        lambda: win.stream_result is not None and win.stream_result.k == 3, timeout=60_000
    )
    assert win.stream_result.code_match == 1.0 and win.stream_result.max_diff < 1e-4
    win.stream_btn.setChecked(False)
    assert win.waveform.stream_trace(0) is None and not win.stream_label.isVisible()


def test_a_partial_last_frame_is_counted_apart(tiny):
    from app.stream_check import compare_paths, stream_decode, stream_encode
    from codec.pipeline import decode_signal, encode_signal

    from .helpers import speechlike

    x = speechlike(1.3, seed=3)[:, 0].numpy()  # 16.25 frames
    batch = encode_signal(tiny, x).numpy()
    stream = stream_encode(tiny, x)
    y_b = decode_signal(tiny, torch.from_numpy(batch[:, :8]), x.shape[1])
    y_s = stream_decode(tiny, stream[:, :8], x.shape[1])
    r = compare_paths(8, batch, stream, y_b, y_s, 1920)
    assert (r.frames, r.whole_frames) == (17, 16) and r.tail_match is not None
    assert r.code_match == 1.0 and r.max_diff < 1e-4
    assert r.difference.shape == x.shape


def test_opening_another_file_mid_sweep_shows_no_stale_points(qtbot, win, tmp_path):
    first, second = tmp_path / "first.wav", tmp_path / "second.wav"
    write_tone(first, seconds=6.0, sr=24_000, channels=1)
    write_tone(second, seconds=0.7, sr=16_000, channels=1)
    emitted = []
    win.worker.measured.connect(lambda job, k, p: emitted.append((job, k)))
    open_and_code(qtbot, win, first)
    qtbot.waitUntil(lambda: len(win.chart.points()) >= 1, timeout=60_000)
    assert win.sweep.running  # still measuring the first file
    old_job = win.job
    win.open_path(str(second))
    assert win.chart.points() == {}  # cleared at once
    n_old = sum(j == old_job for j, _ in emitted)
    qtbot.waitUntil(lambda: win.session.name == "second.wav", timeout=30_000)
    qtbot.waitUntil(win.sweep_done, timeout=120_000)
    s = win.session
    pts = win.chart.points()
    assert pts == {k: pytest.approx(v[0]["si_sdr"]) for k, v in s.metrics.items()}
    assert set(pts) == set(s.metrics)  # every point is the second file's
    # the first file's sweep stopped: at most the measurement in flight answered after
    assert sum(j == old_job for j, _ in emitted) - n_old <= 1


def test_a_background_measurement_steps_aside_for_the_user(qtbot, win, tmp_path):
    src = tmp_path / "y.wav"
    write_tone(src, seconds=0.8, sr=24_000, channels=1)
    open_and_code(qtbot, win, src)
    qtbot.waitUntil(win.sweep_done, timeout=120_000)  # the worker is idle now
    w, s = win.worker, win.session
    answers = []
    w.measured.connect(lambda job, k, p: answers.append((k, p)))
    assert s.reconstruction(5) is None and 5 not in s.metrics
    w.interactive_queued += 1  # as if the user's decode were queued behind this one
    w.measure(win.job, 5)  # called here, in this thread: the worker thread is idle
    qtbot.waitUntil(lambda: len(answers) == 1, timeout=10_000)
    assert answers == [(5, None)] and 5 not in s.metrics  # answered "ask again later"
    w._interactive_started += 1  # the user's request has been served
    w.measure(win.job, 5)  # decodes here, measures in the metrics thread
    qtbot.waitUntil(lambda: len(answers) == 2, timeout=30_000)
    assert answers[-1][0] == 5 and answers[-1][1]["channels"] == s.metrics[5]
    qtbot.waitUntil(lambda: 5 in win.chart.points(), timeout=5_000)  # shown like any K


def test_export_report_figure(qtbot, win, tmp_path):
    src = tmp_path / "r.wav"
    write_tone(src, seconds=0.8, sr=24_000, channels=1)
    open_and_code(qtbot, win, src)
    qtbot.waitUntil(win.sweep_done, timeout=120_000)
    out = tmp_path / "report.png"
    win.export_report(str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    assert "wrote" in win.statusBar().currentMessage()


def test_signal_emits_keep_references_to_true():
    """PySide6 6.12.0 dropped a reference to True per emit; CPython 3.11 then aborts
    ("bool_dealloc") after a few thousand emits. pyproject pins PySide6 below 6.12."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Probe(QObject):
        ping = Signal()
        value = Signal(int)

    p = Probe()
    before = sys.getrefcount(True)
    for _ in range(100):  # few enough not to abort where the leak exists
        p.ping.emit()
        p.value.emit(3)
    assert abs(sys.getrefcount(True) - before) < 20
