"""Live round trip with fake streams: output = the codec's streaming decode, frame by frame."""

from __future__ import annotations

import numpy as np
import pytest

from app.realtime.live import LiveEngine
from tests.helpers.fake_audio import FakeBackend
from tests.helpers.live import reference, start, wait_frames
from tests.helpers.signals import speechlike


def test_output_equals_streaming_decode_and_k_switches_next_frame(tiny):
    x = speechlike(1.2, seed=4)[0, 0].numpy()
    backend = FakeBackend(source=x[:, None])
    engine = LiveEngine(tiny, backend, k=32)
    thread, box = start(engine)
    mic, spk = backend.last("input"), backend.last("output")
    schedule = []
    for i in range(14):
        if i == 5:
            engine.control.set_k(4)  # takes effect from the next frame
        if i == 9:
            engine.control.set_k(1)
        for _ in range(4):
            mic.pump(480)  # 4 callbacks of 20 ms = one 80 ms frame
        wait_frames(engine, i + 1)
        schedule.append(32 if i < 5 else 4 if i < 9 else 1)
        spk.pump(1920)
    engine.stop()
    thread.join(10)
    r = box["r"]
    assert r.ks == schedule
    ref = reference(tiny, x, schedule)
    assert np.array_equal(r.output24, ref)
    assert np.array_equal(r.input24, x[: 14 * 1920])
    played = np.concatenate(spk.played)[:, 0]
    assert np.array_equal(played, ref)  # the speaker got the decoded frames in order
    assert r.codes.shape == (32, 14)
    assert engine.stats.late == 0 and engine.stats.dropped == 0
    assert engine.stats.compute_ms > 0 and engine.stats.latency_ms >= 80


def test_monitor_input_plays_the_input(tiny):
    x = speechlike(0.5, seed=6)[0, 0].numpy()
    backend = FakeBackend(source=x[:, None])
    engine = LiveEngine(tiny, backend, k=8)
    engine.control.set_monitor("input")
    thread, _ = start(engine)
    mic, spk = backend.last("input"), backend.last("output")
    for i in range(3):
        mic.pump(1920)
        wait_frames(engine, i + 1)
        spk.pump(1920)
    engine.stop()
    thread.join(10)
    assert np.array_equal(np.concatenate(spk.played)[:, 0], x[: 3 * 1920])


def test_resampled_device_rate(tiny):
    """A 48 kHz device: soxr streams convert to and from 24 kHz around the codec. What is
    coded is the input resampled by soxr in one go, what comes out is the codec's streaming
    decode of it, and what is played is that decode resampled back to 48 kHz."""
    import soxr

    x48 = speechlike(1.0, sr=48_000, seed=8)[0, 0].numpy()
    backend = FakeBackend(source=x48[:, None])
    engine = LiveEngine(tiny, backend, device_rate=48_000, k=32)
    thread, box = start(engine)
    mic, spk = backend.last("input"), backend.last("output")
    for i in range(13):  # 80 ms in; the resampler holds a little back, so a frame lags
        mic.pump(3840)
        wait_frames(engine, i)
        if i >= 3:  # the speaker starts once 3 frames wait
            spk.pump(3840)
    engine.stop()
    thread.join(10)
    r = box["r"]
    n = r.codes.shape[1]
    assert n >= 10 and len(r.input24) == n * 1920
    in24 = soxr.resample(x48, 48_000, 24_000, quality="HQ").astype(np.float32)
    np.testing.assert_allclose(r.input24, in24[: n * 1920], atol=1e-6)
    np.testing.assert_allclose(r.output24, reference(tiny, r.input24, [32] * n), atol=1e-5)
    played = np.concatenate(spk.played)[:, 0]
    assert engine.stats.late == 0 and len(played) == 10 * 3840  # never ran dry
    back = soxr.resample(r.output24, 24_000, 48_000, quality="HQ")
    np.testing.assert_allclose(played, back[: len(played)], atol=1e-4)


def test_device_failure_mid_stream_keeps_the_session(tiny):
    x = speechlike(1.0, seed=9)[0, 0].numpy()
    backend = FakeBackend(source=x[:, None])
    engine = LiveEngine(tiny, backend, k=8)
    thread, box = start(engine)
    mic = backend.last("input")
    mic.fail_after = 3 * 1920
    for _ in range(5):
        mic.pump(1920)
    thread.join(10)
    assert not thread.is_alive()
    assert "input device stopped" in engine.error
    assert box["r"].codes.shape[1] == 3


def test_open_failure_is_reported(tiny):
    engine = LiveEngine(tiny, FakeBackend(fail_open=True))
    with pytest.raises(RuntimeError, match="cannot open the audio devices"):
        engine.open()


def test_latency_recovers_after_a_stall(tiny):
    """The speaker stops being served for 1.2 s of input (a stall): the engine catches up,
    and the decoded backlog is cut back to KEEP_OUTPUT_FRAMES instead of staying as extra
    latency for the rest of the session; the saved session still has every frame."""
    from app.realtime import live

    x = speechlike(2.0, seed=9)[0, 0].numpy()
    backend = FakeBackend(source=x[:, None])
    engine = LiveEngine(tiny, backend, k=8)
    thread, box = start(engine)
    mic, spk = backend.last("input"), backend.last("output")
    mic.pump(15 * 1920)  # 15 frames arrive while nothing is played
    wait_frames(engine, 15)
    backlog = engine._out.size // 1920
    assert engine._out.size % 1920 == 0 and backlog <= live.MAX_OUTPUT_FRAMES
    assert engine.stats.skipped == 15 - backlog
    for _ in range(5):  # afterwards: one frame in, one frame out, no more skipping
        skipped = engine.stats.skipped
        mic.pump(1920)
        wait_frames(engine, engine.stats.frames + 1)
        spk.pump(1920)
        assert engine.stats.skipped == skipped and engine._out.size <= 3 * 1920
    engine.stop()
    thread.join(10)
    r = box["r"]
    assert len(r.output24) == 20 * 1920  # nothing lost from the recording
    played = np.concatenate(spk.played)[:, 0]
    # what was played is the decode from the oldest frame kept on, in order, no gap
    first = 15 - backlog
    assert np.array_equal(played, r.output24[first * 1920 : (first + 5) * 1920])
    assert engine.stats.samples_skipped == engine.stats.skipped * 1920
