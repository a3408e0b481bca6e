"""Live round trip with fake streams: output = the codec's streaming decode, frame by frame."""

from __future__ import annotations

import gc
from types import SimpleNamespace

import numpy as np
import pytest

from app.realtime.live import LiveEngine
from tests.helpers.fake_audio import FakeBackend
from tests.helpers.live import (
    StallingCodec,
    pump_frames,
    reference,
    start,
    wait_frames,
)
from tests.helpers.signals import speechlike

LEAD = 240  # the jitter buffer's floor (10 ms at 24 kHz)
LEAD_MS = 10.0


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
    ref = reference(tiny, x, schedule, engine.stats.threads)
    assert np.array_equal(r.output24, ref)
    assert np.array_equal(r.input24, x[: 14 * 1920])
    played = np.concatenate(spk.played)[:, 0]
    # the speaker got the decoded frames in order, after the buffer's floor of silence
    assert not played[:LEAD].any() and np.array_equal(played[LEAD:], ref[:-LEAD])
    assert r.codes.shape == (32, 14)
    assert engine.stats.late == 0 and engine.stats.dropped == 0
    assert engine.stats.compute_ms > 0
    # These fake streams give no time stamps and no real clock: the readout says it is an
    # estimate (its truth is checked on the duplex fake and the loopback).
    assert engine.stats.latency_source == "estimate" and engine.stats.latency_ms > 0


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
    played = np.concatenate(spk.played)[:, 0]
    assert np.array_equal(played[LEAD:], x[: 3 * 1920 - LEAD])


def test_resampled_device_rate(tiny):
    """A 48 kHz duplex device: the live resampler converts to and from 24 kHz around the
    codec. What is coded is the input resampled in one go, what comes out is the codec's
    streaming decode of it, and what is played is that decode resampled back to 48 kHz, with
    no gap once it began."""
    from app.realtime.resampler import LiveResampler

    x48 = speechlike(1.2, sr=48_000, seed=8)[0, 0].numpy()
    backend = FakeBackend(source=x48, duplex=True)
    engine = LiveEngine(tiny, backend, device_rate=48_000, k=32)
    thread, box = start(engine)
    dev = backend.last("duplex")
    pump_frames(dev, engine, 14)
    engine.stop()
    thread.join(10)
    r = box["r"]
    n = r.codes.shape[1]
    assert n >= 12 and len(r.input24) == n * 1920
    in24 = LiveResampler(48_000, 24_000).process(x48)
    np.testing.assert_allclose(r.input24, in24[: n * 1920], atol=1e-6)
    ref = reference(tiny, r.input24, [32] * n, engine.stats.threads)
    np.testing.assert_allclose(r.output24, ref, atol=1e-5)
    played = np.concatenate(dev.played)[:, 0]
    start_at = int(np.flatnonzero(played)[0])
    back = LiveResampler(24_000, 48_000).process(r.output24)
    got = played[start_at:]
    m = 11 * 3840  # 14 frames pumped; the last ones were still queued when it stopped
    np.testing.assert_allclose(got[:m], back[:m], atol=1e-4)
    st = engine.stats
    assert st.duplex and st.skipped == 0 and st.late == 0


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


@pytest.mark.parametrize("duplex", [False, True])
def test_open_failure_is_reported(tiny, duplex):
    """The reason reaches the user; where a duplex stream was tried first, its reason too."""
    engine = LiveEngine(tiny, FakeBackend(fail_open=True, duplex=duplex))
    before = gc.get_freeze_count()
    with pytest.raises(RuntimeError, match="cannot open the audio devices") as e:
        engine.open()
    assert str(e.value).count("device unavailable") == (2 if duplex else 1)
    assert ("duplex stream failed first" in str(e.value)) == duplex
    assert gc.get_freeze_count() == before  # the heap is not left frozen


def test_duplex_output_is_the_decode_one_frame_late_and_the_readout_is_exact(tiny):
    """One duplex stream with 5 ms blocks: every decoded frame is queued before the next
    callback, so the speaker plays decoded sample n exactly one frame (and the step the
    buffer keeps) after input sample n arrived; the readout (from the callbacks' time
    stamps and the buffer's tags) is that plus the devices' two latencies, and the true lag
    measured from outside (the physical mic and speaker signals, cross-correlated) agrees
    with it."""
    x = speechlike(2.0, seed=12)[0, 0].numpy()
    backend = FakeBackend(source=x, duplex=True, in_latency=0.007, out_latency=0.011)
    engine = LiveEngine(tiny, backend, k=32)
    engine.control.set_monitor("input")  # the lag is then visible in the signals themselves
    thread, _ = start(engine)
    dev = backend.last("duplex")
    assert dev.blocksize == 120 and engine.stats.duplex
    pump_frames(dev, engine, 24)
    engine.stop()
    thread.join(10)
    played = np.concatenate(dev.played)[:, 0]
    assert np.array_equal(played[1920 + LEAD : 24 * 1920], x[: 23 * 1920 - LEAD])
    st = engine.stats
    assert st.latency_source == "timestamps"
    assert abs(st.latency_ms - (80 + LEAD_MS + 7 + 11)) < 0.01
    captured, emitted = dev.physical()
    lag = _lag(captured, emitted, max_lag=4800)
    assert abs(1000 * lag / 24_000 - st.latency_ms) < 0.05
    assert st.late == 0 and st.skipped == 0 and st.dropped == 0


def test_xruns_are_counted_by_side_and_the_heap_is_frozen_for_the_session(tiny):
    """A duplex callback can flag both sides at once: each side counts its own (an input
    underflow, zeros put in for missing input, counts as one as much as an overflow). The
    collector's full pass is kept off the objects alive at the start (it held the lock the
    callbacks need for over 100 ms), and the heap is given back at the end."""
    x = speechlike(1.0, seed=13)[0, 0].numpy()
    backend = FakeBackend(source=x, duplex=True, in_latency=0.007, out_latency=0.011)
    engine = LiveEngine(tiny, backend, k=8)
    before = gc.get_freeze_count()
    thread, _ = start(engine)
    dev = backend.last("duplex")
    assert gc.get_freeze_count() > before  # frozen from the streams' opening
    both = SimpleNamespace(input_underflow=True, output_underflow=True)
    flags = [None, both, None, SimpleNamespace(input_overflow=True), None]
    flags += [SimpleNamespace(output_underflow=True), SimpleNamespace(output_overflow=True)]
    for status in flags:
        dev.pump(status=status)
    pump_frames(dev, engine, 2)
    engine.stop()
    thread.join(10)
    st = engine.stats
    assert (st.xruns_in, st.xruns_out, st.xruns) == (2, 3, 5)
    assert gc.get_freeze_count() == before


def _lag(a: np.ndarray, b: np.ndarray, max_lag: int) -> int:
    """The delay of b against a (samples), by cross-correlation."""
    from scipy import signal

    c = signal.correlate(b, a[: len(a) - max_lag], mode="valid", method="fft")
    return int(np.argmax(c[: max_lag + 1]))


def test_duplex_codec_output_frame_exact_with_k_switch(tiny):
    x = speechlike(1.2, seed=13)[0, 0].numpy()
    backend = FakeBackend(source=x, duplex=True)
    engine = LiveEngine(tiny, backend, k=32)
    thread, box = start(engine)
    dev = backend.last("duplex")
    schedule = []
    for i in range(14):
        if i == 6:
            engine.control.set_k(2)
        schedule.append(32 if i < 6 else 2)
        pump_frames(dev, engine, 1)
    pump_frames(dev, engine, 1, wait=False)  # plays the last decoded frame
    engine.stop()
    thread.join(10)
    r = box["r"]
    assert r.ks[:14] == schedule
    ref = reference(tiny, x, schedule, engine.stats.threads)
    assert np.array_equal(r.output24[: 14 * 1920], ref)
    played = np.concatenate(dev.played)[:, 0]
    assert np.array_equal(played[1920 + LEAD : 15 * 1920], ref[:-LEAD])


def test_probe_finds_a_known_loop_delay(tiny):
    """A device whose speaker reaches its microphone 15 ms later (a loopback): the probe
    hears its chirp arrive and, one mic-to-speaker latency later, arrive again. True
    latency here: one frame (80 ms) + the buffer's floor (LEAD_MS) + 6 ms in + 9 ms out;
    found within 5 ms."""
    backend = FakeBackend(duplex=True, in_latency=0.006, out_latency=0.009, loop_s=0.015)
    engine = LiveEngine(tiny, backend, k=8)
    engine.control.set_monitor("input")
    thread, box = start(engine)
    dev = backend.last("duplex")
    pump_frames(dev, engine, 6)
    engine.control.request_probe()
    pump_frames(dev, engine, 22)
    engine.stop()
    thread.join(10)
    st = engine.stats
    assert st.probe_note.startswith("probe:"), st.probe_note
    true = 80 + LEAD_MS + 6 + 9
    assert abs(st.measured_latency_ms - true) < 5
    assert abs(st.latency_ms - true) < 0.01
    (p,) = box["r"].probes
    assert abs(p.latency_ms - st.measured_latency_ms) < 1e-9 and p.clarity > 6


def test_probe_in_a_room_includes_the_flight_and_says_when_unheard(tiny):
    """5 ms of air between speaker and mic: the probe's figure includes it once;
    with no path at all it says it heard nothing instead of making a figure up."""
    room = FakeBackend(duplex=True, in_latency=0.006, out_latency=0.009, loop_s=0.020)
    deaf = FakeBackend(duplex=True)
    for backend, expect in ((room, 80 + LEAD_MS + 6 + 9 + 5), (deaf, None)):
        engine = LiveEngine(tiny, backend, k=8)
        engine.control.set_monitor("input")
        thread, _ = start(engine)
        dev = backend.last("duplex")
        pump_frames(dev, engine, 4)
        engine.control.request_probe()
        pump_frames(dev, engine, 20)
        engine.stop()
        thread.join(10)
        st = engine.stats
        if expect is None:
            assert st.measured_latency_ms == 0 and "not heard" in st.probe_note
        else:
            assert abs(st.measured_latency_ms - expect) < 5, st.probe_note


def test_jitter_buffer_recovers_after_a_stall(tiny):
    """The frame loop stalls for 10 frames (0.8 s) while the devices run on: the speaker
    runs dry (counted as late), the target grows one step, the audio whose time passed in
    the dry spell is skipped (counted in late_ms) so the latency is the old one plus that
    step, and after the relax time (15 s) it is back where it was (the step the buffer
    keeps as its floor); what plays then is the decode at the right position, and the saved
    session has every frame."""
    x = speechlike(19.4, seed=9)[0, 0].numpy()
    stalling = StallingCodec(tiny, stall_at=10)
    backend = FakeBackend(source=x, duplex=True, in_latency=0.005, out_latency=0.005)
    engine = LiveEngine(stalling, backend, k=8)
    thread, box = start(engine)
    dev = backend.last("duplex")
    pump_frames(dev, engine, 10)
    before = engine.stats.latency_ms
    assert abs(before - (90 + LEAD_MS)) < 0.01
    pump_frames(dev, engine, 10, wait=False)  # the devices run on; frame 10 stalls
    assert stalling.stalled.wait(10)
    stalling.release.set()
    wait_frames(engine, 20)
    st = engine.stats
    assert st.late == 1 and st.buffer_ms == LEAD_MS + 5.0
    assert 700 <= st.late_ms <= 800  # the stall's length, less what was queued before it
    pump_frames(dev, engine, 14)  # the readout averages the last 12 frames
    assert abs(engine.stats.latency_ms - (before + 5.0)) < 0.01
    pump_frames(dev, engine, 206)  # 16.5 s more: past the 15 s relax time
    engine.stop()
    thread.join(10)
    st = engine.stats
    assert st.buffer_ms == LEAD_MS and abs(st.latency_ms - before) < 0.01
    assert st.late == 1 and st.samples_skipped > 0 and st.dropped == 0
    r = box["r"]
    assert len(r.output24) == 240 * 1920  # nothing lost from the recording
    ref = reference(tiny, x, [8] * 240, engine.stats.threads)
    played = np.concatenate(dev.played)[:, 0]
    end = len(played)
    lag = 1920 + LEAD
    assert np.array_equal(played[end - 20 * 1920 : end], ref[end - 20 * 1920 - lag : end - lag])


@pytest.mark.parametrize("share, hops", [(0.0, False), (10.0, True)])
def test_hops_or_whole_frames_by_the_steps_timing(tiny, monkeypatch, share, hops):
    """The engine codes in hops unless its timed hop step takes more than HOP_SHARE_MAX of
    a frame (then whole frames, the frame-by-frame step's calls); either way the speaker
    plays that stream's decode, frame-exact."""
    import app.realtime.live as live

    monkeypatch.setattr(live, "HOP_SHARE_MAX", share)
    x = speechlike(1.2, seed=5)[0, 0].numpy()
    backend = FakeBackend(source=x, duplex=True)
    engine = LiveEngine(tiny, backend, k=8)
    thread, box = start(engine)
    assert engine.stats.hops is hops
    pump_frames(backend.last("duplex"), engine, 12)
    engine.stop()
    thread.join(10)
    r = box["r"]
    n = r.codes.shape[1]
    assert n >= 11
    ref = reference(tiny, x, [8] * n, engine.stats.threads, hops=hops)
    assert np.array_equal(r.output24, ref)
