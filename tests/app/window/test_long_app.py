"""Long files in the app (pytest-qt, offscreen, fake audio device, random:tiny).

The worker's "long" threshold is lowered to 3 s, so an 8 s file takes every long-file
path: read block by block to the codec rate (the source is not kept), decodes cached one
at a time, metrics on excerpts (said in the panel and the chart), the streaming check on
a prefix, and the export written block by block by the worker.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf
import torch

from codec import excerpts, long_file
from codec.audio import load_audio, resample
from codec.metrics import channel_metrics
from codec.pipeline import decode_signal

from . import test_bad_inputs_app as shared
from .app_window import open_and_code
from .helpers import write_tone

pytest.importorskip("pytestqt")

window = shared.window  # the app window fixture (random:tiny, fake audio device)


@pytest.fixture()
def long_window(window, monkeypatch):
    """The app window of test_bad_inputs_app, with 3 s counting as long."""
    monkeypatch.setattr(excerpts, "COUNT", 3)
    monkeypatch.setattr(excerpts, "SECONDS", 1.0)
    window.worker.long_s = 3.0
    return window


def test_long_file_is_read_streamed_and_measured_on_excerpts(qtbot, long_window, tmp_path):
    src = tmp_path / "long.wav"
    write_tone(src, seconds=8.0, sr=44_100, channels=2)
    seen: list[str] = []
    long_window.worker.progress.connect(lambda job, what, d, t: seen.append(what))
    open_and_code(qtbot, long_window, src)
    s = long_window.session
    assert s.source is None and (s.source_rate, s.source_length) == (44_100, 8 * 44_100)
    a = load_audio(src)
    np.testing.assert_array_equal(s.x24, resample(a.samples, 44_100, 24_000))
    assert "reading" in seen
    codec = long_window.worker.codec
    ranges = excerpts.excerpt_frames(s.codes.shape[-1], codec.frame_rate)
    assert len(ranges) == 3
    ref = excerpts.take(s.x24, ranges, codec.frame_size)
    for k in (long_window.k, 1):  # the current K (cached decode) and one decoded as excerpts
        qtbot.waitUntil(lambda k=k: k in long_window._measured, timeout=60_000)
        y = decode_signal(codec, torch.from_numpy(s.codes[:, :k]), s.num_samples)
        want = channel_metrics(ref[1], excerpts.take(y, ranges, codec.frame_size)[1], 24_000)
        got = long_window._measured[k]["channels"][1]
        for key in ("si_sdr", "mel_distance", "stoi", "lufs_est"):
            assert got[key] == pytest.approx(want[key], rel=1e-4, abs=1e-6), (k, key)
    assert "3 excerpts of 1 s" in long_window.metrics_panel.title.text()
    qtbot.waitUntil(lambda: "3 excerpts" in long_window.chart.status.text(), timeout=60_000)


def test_long_file_keeps_one_decode(qtbot, long_window, tmp_path, monkeypatch):
    import app.worker as worker_mod

    src = tmp_path / "long.wav"
    write_tone(src, seconds=8.0, sr=24_000, channels=1)
    # room for the signal and one decode, not two
    monkeypatch.setattr(worker_mod, "LONG_AUDIO_BYTES", int(2.5 * 8 * 24_000 * 4))
    open_and_code(qtbot, long_window, src)
    long_window.set_k(3)
    qtbot.waitUntil(lambda: long_window.session.reconstruction(3) is not None, timeout=60_000)
    assert long_window.session.cached_ks() == [3]


def test_cancel_while_reading_a_long_file(qtbot, long_window, tmp_path, monkeypatch):
    src = tmp_path / "long.wav"
    write_tone(src, seconds=20.0, sr=48_000, channels=1)
    monkeypatch.setattr(long_file, "BLOCK_FRAMES", 4800)
    real = long_file._Resampler.push

    def slow(self, x, last=False):
        time.sleep(0.02)  # 200 blocks: 4 s, time to cancel midway
        return real(self, x, last)

    monkeypatch.setattr(long_file._Resampler, "push", slow)
    reading = []
    long_window.worker.progress.connect(lambda job, what, d, t: reading.append((d, t)))
    long_window.open_path(str(src))
    qtbot.waitUntil(lambda: len(reading) > 0, timeout=20_000)
    long_window.cancel()
    qtbot.waitUntil(
        lambda: long_window.worker.session is None and not long_window.progress.isVisible()
    )
    time.sleep(0.3)
    qtbot.wait(200)
    assert long_window.session is None and reading[-1][0] < reading[-1][1]  # stopped midway
    monkeypatch.setattr(long_file._Resampler, "push", real)
    short = tmp_path / "short.wav"
    write_tone(short, seconds=1.0, sr=24_000, channels=1)
    open_and_code(qtbot, long_window, short)  # the worker is free for the next file


def test_long_export_and_streaming_check(qtbot, long_window, tmp_path):
    src = tmp_path / "long32k.wav"
    write_tone(src, seconds=8.0, sr=32_000, channels=1)
    open_and_code(qtbot, long_window, src)
    out = tmp_path / "out.wav"
    long_window.export_audio(str(out))
    qtbot.waitUntil(lambda: out.exists(), timeout=30_000)
    info = sf.info(str(out))
    assert (info.samplerate, info.channels, info.frames) == (32_000, 1, 8 * 32_000)
    long_window.stream_btn.setChecked(True)
    qtbot.waitUntil(lambda: long_window.stream_result is not None, timeout=60_000)
    r = long_window.stream_result
    assert r.code_match == 1.0 and r.max_diff < 1e-4
    assert r.frames == int(3.0 * 12.5) and "on the first 3.0 s" in long_window.stream_label.text()


def test_loudness_match_limits_with_the_whole_decodes_peak(qtbot, long_window, tmp_path):
    """A long file's metrics see excerpts; the limiter must use the peak of the whole decode."""
    from app.player import loudness_match_gain

    src = tmp_path / "long.wav"
    write_tone(src, seconds=8.0, sr=24_000, channels=1)
    open_and_code(qtbot, long_window, src)
    k, s = long_window.k, long_window.session
    qtbot.waitUntil(lambda: k in long_window._measured, timeout=60_000)
    y = s.reconstruction(k)
    assert s.peak_dbfs[k] == pytest.approx(20 * np.log10(np.abs(y).max()), abs=1e-4)
    long_window.match_btn.setChecked(True)
    gain, _ = loudness_match_gain(long_window._measured[k]["gain_db"], s.peak_dbfs[k])
    assert long_window.player.gain_b == pytest.approx(10 ** (gain / 20))


def test_waveform_envelopes_are_built_off_the_gui_thread(qtbot, window, tmp_path, monkeypatch):
    """Opening and decoding build the waveform's peak pyramids in the worker (0.3 s per
    channel for two hours); the GUI thread only picks them up."""
    import threading

    from app import lod

    built: list[tuple[int, int]] = []  # (thread ident, samples) of every pyramid with levels
    real_init = lod.PeakPyramid.__init__

    def spy(self, y, *a, **k):
        if len(y) > lod.RAW_MAX:
            built.append((threading.get_ident(), len(y)))
        real_init(self, y, *a, **k)

    monkeypatch.setattr(lod.PeakPyramid, "__init__", spy)
    src = tmp_path / "long.wav"
    write_tone(src, seconds=8.0, sr=24_000, channels=2)
    open_and_code(qtbot, window, src)
    k0 = window.k
    assert k0 != 5
    window.set_k(5)  # a second decode
    qtbot.waitUntil(window.views_ready, timeout=60_000)
    gui = threading.get_ident()
    assert len(built) >= 3 * 2  # original, K = 32, K = 5; two channels each
    assert all(ident != gui for ident, _ in built), "a pyramid was built on the GUI thread"
    wave = window.waveform
    for c in range(2):  # what is drawn is built on the signals the views hold
        np.testing.assert_array_equal(wave.pyramids[c]["original"].y, window.session.x24[c])
        np.testing.assert_array_equal(
            wave.pyramids[c]["reconstruction"].y, window.session.reconstruction(5)[c]
        )
    # back to the first K, still cached: its envelopes are reused, nothing is built anywhere
    assert k0 in window.session.cached_ks()
    n = len(built)
    window.set_k(k0)
    qtbot.waitUntil(window.views_ready, timeout=60_000)
    assert len(built) == n
    np.testing.assert_array_equal(
        wave.pyramids[0]["reconstruction"].y, window.session.reconstruction(k0)[0]
    )
