"""Long files in the app (pytest-qt, offscreen, fake audio device, random:tiny).

The long-file policy's threshold is lowered to 3 s, so an 8 s file gets every long-file
rule: decodes cached one at a time, metrics on excerpts (said in the panel and the chart),
the streaming check on a prefix; and, as every file, it is read block by block to the codec
rate (the source is not kept) and exported block by block by the worker.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf
import torch

import codec.audio.reader as reader
from app.worker import jobs
from codec.analysis import excerpts
from codec.analysis.metrics import channel_metrics
from codec.audio import load_audio, resample
from codec.audio.resample import StreamResampler
from codec.session.operations import decode_signal
from codec.session.policy import LongFilePolicy
from tests.helpers.signals import write_tone
from tests.helpers.window import open_and_code

LONG = LongFilePolicy(long_s=3.0, excerpt_count=3, excerpt_s=1.0)  # 3 s counts as long
pytestmark = pytest.mark.window(policy=LONG)


@pytest.fixture()
def long_window(window):
    return window


def progress_of(w, seen: list) -> None:
    """Collect (what, done, total) of every progress report the worker sends."""
    w.worker.result.connect(
        lambda r: isinstance(r, jobs.Progress) and seen.append((r.what, r.done, r.total))
    )


def test_long_file_is_read_streamed_and_measured_on_excerpts(qtbot, long_window, tmp_path):
    src = tmp_path / "long.wav"
    write_tone(src, seconds=8.0, sr=44_100, channels=2)
    seen: list = []
    progress_of(long_window, seen)
    open_and_code(qtbot, long_window, src)
    s = long_window.compare.comparison
    assert (s.source_rate, s.source_length) == (44_100, 8 * 44_100)
    a = load_audio(src)
    np.testing.assert_array_equal(s.x24, resample(a.samples, 44_100, 24_000))
    assert "reading" in [what for what, _, _ in seen]
    codec = long_window.worker.codec
    ranges = excerpts.excerpt_frames(s.codes.shape[-1], codec.frame_rate, 3, 1.0)
    assert len(ranges) == 3
    ref = excerpts.take(s.x24, ranges, codec.frame_size)
    for k in (long_window.compare.k, 1):  # the current K (cached) and one decoded as excerpts
        qtbot.waitUntil(lambda k=k: s.measurement(k) is not None, timeout=60_000)
        y = decode_signal(codec, torch.from_numpy(s.codes[:, :k].copy()), s.num_samples)
        want = channel_metrics(ref[1], excerpts.take(y, ranges, codec.frame_size)[1], 24_000)
        got = s.measurement(k).channels[1]
        for key in ("si_sdr", "mel_distance", "stoi", "lufs_est"):
            assert got[key] == pytest.approx(want[key], rel=1e-4, abs=1e-6), (k, key)
    title = long_window.metrics_panel.title
    qtbot.waitUntil(lambda: "3 excerpts of 1 s" in title.text(), timeout=10_000)
    qtbot.waitUntil(lambda: "3 excerpts" in long_window.chart.status.text(), timeout=60_000)


# room for the signal and one decode (with its drawing data), not two
ONE_DECODE = LongFilePolicy(
    long_s=3.0, excerpt_count=3, excerpt_s=1.0, long_audio_bytes=int(2.5 * 8 * 24_000 * 4)
)


@pytest.mark.window(policy=ONE_DECODE)
def test_long_file_keeps_one_decode(qtbot, long_window, tmp_path):
    src = tmp_path / "long.wav"
    write_tone(src, seconds=8.0, sr=24_000, channels=1)
    open_and_code(qtbot, long_window, src)
    long_window.compare.set_k(3)
    s = long_window.compare.comparison
    qtbot.waitUntil(lambda: s.reconstruction(3) is not None, timeout=60_000)
    assert s.cached_ks() == [3]


def test_cancel_while_reading_a_long_file(qtbot, long_window, tmp_path, monkeypatch):
    src = tmp_path / "long.wav"
    write_tone(src, seconds=20.0, sr=48_000, channels=1)
    monkeypatch.setattr(reader, "BLOCK_FRAMES", 4800)
    real = StreamResampler.push

    def slow(self, x, last=False):
        time.sleep(0.02)  # 200 blocks: 4 s, time to cancel midway
        return real(self, x, last)

    monkeypatch.setattr(StreamResampler, "push", slow)
    seen: list = []
    progress_of(long_window, seen)
    cancelled = []
    long_window.worker.result.connect(
        lambda r: isinstance(r, jobs.Cancelled) and cancelled.append(r)
    )
    long_window.open_path(str(src))
    qtbot.waitUntil(lambda: any(w == "reading" for w, _, _ in seen), timeout=20_000)
    long_window.cancel()
    qtbot.waitUntil(lambda: bool(cancelled) and not long_window.progress.isVisible())
    time.sleep(0.3)
    qtbot.wait(200)
    reading = [(d, t) for w, d, t in seen if w == "reading"]
    assert long_window.compare.comparison is None and reading[-1][0] < reading[-1][1]
    monkeypatch.setattr(StreamResampler, "push", real)
    short = tmp_path / "short.wav"
    write_tone(short, seconds=1.0, sr=24_000, channels=1)
    open_and_code(qtbot, long_window, short)  # the worker is free for the next file


def test_long_export_and_streaming_check(qtbot, long_window, tmp_path):
    src = tmp_path / "long32k.wav"
    write_tone(src, seconds=8.0, sr=32_000, channels=1)
    open_and_code(qtbot, long_window, src)
    out = tmp_path / "out.wav"
    long_window.exports.export_audio(str(out))
    qtbot.waitUntil(lambda: out.exists(), timeout=30_000)
    info = sf.info(str(out))
    assert (info.samplerate, info.channels, info.frames) == (32_000, 1, 8 * 32_000)
    long_window.stream_btn.setChecked(True)
    qtbot.waitUntil(lambda: long_window.compare.stream_result is not None, timeout=60_000)
    r = long_window.compare.stream_result
    assert r.code_match == 1.0 and r.max_diff < 1e-4
    assert r.frames == int(3.0 * 12.5) and "on the first 3.0 s" in long_window.stream_label.text()


def test_loudness_match_limits_with_the_whole_decodes_peak(qtbot, long_window, tmp_path):
    """A long file's metrics see excerpts; the limiter must use the peak of the whole decode."""
    from app.realtime.player import loudness_match_gain

    src = tmp_path / "long.wav"
    write_tone(src, seconds=8.0, sr=24_000, channels=1)
    open_and_code(qtbot, long_window, src)
    k, s = long_window.compare.k, long_window.compare.comparison
    qtbot.waitUntil(lambda: s.measurement(k) is not None, timeout=60_000)
    y = s.reconstruction(k)
    assert s.peak(k) == pytest.approx(20 * np.log10(np.abs(y).max()), abs=1e-4)
    long_window.match_btn.setChecked(True)
    gain, _ = loudness_match_gain(s.measurement(k).gain_db, s.peak(k))
    assert long_window.player.gain_b == pytest.approx(10 ** (gain / 20))


def test_waveform_envelopes_are_built_off_the_gui_thread(qtbot, window, tmp_path, monkeypatch):
    """Opening and decoding build the waveform's peak pyramids in the worker (0.3 s per
    channel for two hours); the GUI thread only picks them up."""
    import threading

    from codec.analysis import levels as lod

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
    k0 = window.compare.k
    assert k0 != 5
    window.compare.set_k(5)  # a second decode
    qtbot.waitUntil(window.compare.views_ready, timeout=60_000)
    gui = threading.get_ident()
    assert len(built) >= 3 * 2  # original, K = 32, K = 5; two channels each
    assert all(ident != gui for ident, _ in built), "a pyramid was built on the GUI thread"
    wave = window.waveform
    for c in range(2):  # what is drawn is built on the signals the views hold
        np.testing.assert_array_equal(
            wave.pyramids[c]["original"].y, window.compare.comparison.x24[c]
        )
        np.testing.assert_array_equal(
            wave.pyramids[c]["reconstruction"].y, window.compare.comparison.reconstruction(5)[c]
        )
    # back to the first K, still cached: its envelopes are reused, nothing is built anywhere
    assert k0 in window.compare.comparison.cached_ks()
    n = len(built)
    window.compare.set_k(k0)
    qtbot.waitUntil(window.compare.views_ready, timeout=60_000)
    assert len(built) == n
    np.testing.assert_array_equal(
        wave.pyramids[0]["reconstruction"].y, window.compare.comparison.reconstruction(k0)[0]
    )
