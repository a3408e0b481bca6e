"""Issue 5 in the app: quality-versus-K sweep, metrics and token panels, loudness-matched
B, streaming versus offline (pytest-qt, offscreen, fake audio device, random:tiny)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from tests.helpers.signals import write_tone
from tests.helpers.window import open_and_code

pytestmark = pytest.mark.window(size=(1400, 950))


def pick_metric(window, key: str) -> None:
    """Choose the chart's metric as a user does, in its menu."""
    combo = window.chart.combo
    combo.setCurrentIndex(combo.findData(key))
    combo.activated.emit(combo.currentIndex())
    assert window.chart.metric == key


def own_decode(codec, codes: np.ndarray, k: int, n: int) -> np.ndarray:
    """The codec's decode of codes[:, :k], [C, n]: computed here, not by the app."""
    return codec.decode(torch.from_numpy(codes[:, :k]))[:, 0, :n].numpy()


def test_quality_chart_fills_in_with_the_codecs_own_metrics(qtbot, window, tmp_path, tiny):
    from codec.analysis.metrics import compare, token_stats
    from codec.session.policy import SWEEP_KS

    src = tmp_path / "q.wav"
    write_tone(src, seconds=1.0, sr=24_000, channels=1)
    open_and_code(qtbot, window, src)
    pick_metric(window, "si_sdr")
    qtbot.waitUntil(window.compare.sweep_done, timeout=120_000)
    s = window.compare.comparison
    pts = window.chart.points()
    assert sorted(pts) == list(SWEEP_KS)
    for k in SWEEP_KS:
        expect = compare(s.x24, own_decode(tiny, s.codes, k, s.num_samples), 24_000)[0]
        assert pts[k] == pytest.approx(expect["si_sdr"], rel=1e-4, abs=1e-3), k
        if k == window.compare.k:
            assert window.metrics_panel.value_text("SI-SDR") == f"{expect['si_sdr']:+.1f} dB"
            assert window.metrics_panel.value_text("STOI") == f"{expect['stoi']:.3f}"
            assert (
                window.metrics_panel.value_text("peak", 1) == f"{expect['peak_dbfs_ref']:.1f} dBFS"
            )
    assert "all 10 K measured" in window.chart.status.text()
    # the current K is marked on the chart
    assert window.chart.k_line.value() == pytest.approx(np.log2(window.compare.k))
    # token statistics beside the heatmap: one row per codebook, the codec's own numbers
    stats = token_stats(s.codes[0], 64, 12.5)
    assert window.token_panel.table.rowCount() == 32
    assert window.token_panel.table.item(5, 2).text() == f"{stats[5]['entropy_bits']:.2f}"
    ideal = sum(st["ideal_bitrate"] for st in stats[: window.compare.k]) / 1000
    assert f"{ideal:.2f} kbps" in window.token_panel.summary.text()


def test_clicking_a_chart_point_sets_k(qtbot, window, tmp_path):
    src = tmp_path / "c.wav"
    write_tone(src, seconds=0.8, sr=24_000, channels=1)
    open_and_code(qtbot, window, src)
    qtbot.waitUntil(lambda: 4 in window.chart.points(), timeout=120_000)
    qtbot.wait(50)  # let the plot lay itself out
    view = window.chart.plot
    pos = view.mapFromScene(window.chart.point_scene_pos(4))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert window.slider.value() == 4 and window.compare.k == 4
    qtbot.waitUntil(lambda: window.compare.comparison.reconstruction(4) is not None, timeout=30_000)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_loudness_match_plays_b_at_the_shown_gain(qtbot, window, tmp_path, tiny):
    from codec.analysis.metrics import loudness_match_gain_db

    src = tmp_path / "l.wav"
    write_tone(src, seconds=1.0, sr=24_000, channels=1)
    open_and_code(qtbot, window, src)
    qtbot.waitUntil(
        lambda: window.compare.comparison.measurement(window.compare.k) is not None,
        timeout=60_000,
    )
    window.transport.select("B")
    window.toggle_play()
    out = window.backend_fake.last("output")
    window.player.seek(2400)
    plain = out.pump(9600)
    window.match_btn.setChecked(True)
    m = re.fullmatch(r"B ([+-]\d+\.\d) dB( \(peak limit\))?", window.gain_label.text())
    assert m, window.gain_label.text()
    shown = float(m.group(1))
    window.player.seek(2400)
    matched = out.pump(9600)
    # the label is rounded to 0.1 dB: allow half of that (0.6 %)
    assert _rms(matched) / _rms(plain) == pytest.approx(10 ** (shown / 20), rel=6e-3)
    # the gain is the loudness match, computed independently, unless limited at full scale
    s = window.compare.comparison
    y = own_decode(tiny, s.codes, window.compare.k, s.num_samples)
    want = loudness_match_gain_db(s.x24, y, 24_000)
    if m.group(2):
        assert want > shown and np.abs(matched).max() <= 1.0
    else:
        assert shown == pytest.approx(want, abs=0.051)
    window.match_btn.setChecked(False)
    assert window.gain_label.text() == "" and window.player.gain_b == 1.0
    window.player.seek(2400)
    assert np.allclose(out.pump(9600), plain)


def test_loudness_gain_is_limited_at_full_scale():
    from app.realtime.player import MATCH_CEILING_DBFS, loudness_match_gain

    assert loudness_match_gain(2.4, -6.0) == (2.4, False)
    assert loudness_match_gain(-3.0, -1.0) == (-3.0, False)
    gain, limited = loudness_match_gain(8.0, -3.0)
    assert limited and gain == pytest.approx(MATCH_CEILING_DBFS + 3.0)


def test_streaming_vs_offline_matches_and_switches_off(qtbot, window, tmp_path):
    src = tmp_path / "s.wav"
    write_tone(src, seconds=13 * 1920 / 24_000, sr=24_000, channels=1)  # 13 whole frames
    open_and_code(qtbot, window, src)
    window.stream_btn.setChecked(True)
    qtbot.waitUntil(lambda: window.compare.stream_result is not None, timeout=60_000)
    r = window.compare.stream_result
    assert (r.k, r.whole_frames, r.frames, r.tail_match) == (window.compare.k, 13, 13, None)
    assert r.code_match == 1.0 and r.codes_compared == 32 * 13
    assert r.max_diff < 1e-4
    assert "codes 100.00 % equal" in window.stream_label.text()
    assert window.stream_label.isVisible()
    trace = window.waveform.stream_trace(0)
    assert trace is not None and len(trace) == window.compare.comparison.num_samples
    assert np.allclose(trace, r.difference[0] * window.waveform.stream_scale)
    # a new K reruns the check at that K
    window.slider.setValue(3)
    qtbot.waitUntil(
        lambda: window.compare.stream_result is not None and window.compare.stream_result.k == 3,
        timeout=60_000,
    )
    assert (
        window.compare.stream_result.code_match == 1.0
        and window.compare.stream_result.max_diff < 1e-4
    )
    window.stream_btn.setChecked(False)
    assert window.waveform.stream_trace(0) is None and not window.stream_label.isVisible()


def test_a_partial_last_frame_is_counted_apart(tiny):
    from codec.analysis.stream_check import compare_paths, stream_decode, stream_encode
    from codec.session.operations import decode_signal, encode_signal
    from tests.helpers.signals import speechlike

    x = speechlike(1.3, seed=3)[:, 0].numpy()  # 16.25 frames
    batch = encode_signal(tiny, x).numpy()
    stream = stream_encode(tiny, x)
    y_b = decode_signal(tiny, torch.from_numpy(batch[:, :8]), x.shape[1])
    y_s = stream_decode(tiny, stream[:, :8], x.shape[1])
    r = compare_paths(8, batch, stream, y_b, y_s, 1920)
    assert (r.frames, r.whole_frames) == (17, 16) and r.tail_match is not None
    assert r.code_match == 1.0 and r.max_diff < 1e-4
    assert r.difference.shape == x.shape


def test_opening_another_file_mid_sweep_shows_no_stale_points(qtbot, window, tmp_path):
    from app.worker import jobs

    first, second = tmp_path / "first.wav", tmp_path / "second.wav"
    write_tone(first, seconds=6.0, sr=24_000, channels=1)
    write_tone(second, seconds=0.7, sr=16_000, channels=1)
    emitted = []  # (comparison, k) of every measurement the worker reported
    window.worker.result.connect(
        lambda r: (
            isinstance(r, jobs.Measured) and emitted.append((r.request.comparison, r.measurement.k))
        )
    )
    open_and_code(qtbot, window, first)
    pick_metric(window, "si_sdr")
    qtbot.waitUntil(lambda: len(window.chart.points()) >= 1, timeout=60_000)
    assert not window.compare.sweep_done()  # still measuring the first file
    old = window.compare.comparison
    window.open_path(str(second))
    assert window.chart.points() == {}  # cleared at once
    n_old = sum(c is old for c, _ in emitted)
    qtbot.waitUntil(lambda: window.compare.comparison.name == "second.wav", timeout=30_000)
    qtbot.waitUntil(window.compare.sweep_done, timeout=120_000)
    s = window.compare.comparison
    pts = window.chart.points()
    measured = s.measurements()
    assert pts == {k: pytest.approx(m.channels[0]["si_sdr"]) for k, m in measured.items()}
    assert set(pts) == set(measured)  # every point is the second file's
    # the first file's sweep stopped: at most the measurement in flight answered after
    assert sum(c is old for c, _ in emitted) - n_old <= 1


def test_a_background_measurement_steps_aside_for_the_user(qtbot, window, tmp_path):
    from app.worker import jobs

    src = tmp_path / "y.wav"
    write_tone(src, seconds=0.8, sr=24_000, channels=1)
    open_and_code(qtbot, window, src)
    qtbot.waitUntil(window.compare.sweep_done, timeout=120_000)  # the worker is idle now
    w, s = window.worker, window.compare.comparison
    order = []
    w.result.connect(
        lambda r: isinstance(r, jobs.Measured | jobs.Decoded) and order.append(type(r).__name__)
    )
    assert s.reconstruction(5) is None and s.measurement(5) is None
    token = jobs.CancelToken()
    measure = jobs.Measure(token, s, 5)  # the sweep's priority
    decode = jobs.Decode(token, s, 7)  # the user's
    w.inbox.put(decode)  # waiting, not yet taken: the worker thread has not been woken
    w._measure(measure)  # run here, in this thread: it must step aside at once
    assert s.measurement(5) is None and s.reconstruction(5) is None  # no work was done
    # it went back in the queue behind the user's decode, which the worker runs first
    qtbot.waitUntil(lambda: len(order) == 2, timeout=30_000)
    assert order == ["Decoded", "Measured"]
    assert s.reconstruction(7) is not None and s.measurement(5) is not None
    qtbot.waitUntil(lambda: 5 in window.chart.points(), timeout=5_000)  # shown like any K


def test_export_report_figure(qtbot, window, tmp_path):
    src = tmp_path / "r.wav"
    write_tone(src, seconds=0.8, sr=24_000, channels=1)
    open_and_code(qtbot, window, src)
    qtbot.waitUntil(window.compare.sweep_done, timeout=120_000)
    out = tmp_path / "report.png"
    window.exports.export_report(str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    assert "wrote" in window.statusBar().currentMessage()


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
