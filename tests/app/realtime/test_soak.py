"""The soak benchmark's machinery on a short run, and the live engine's disk spool."""

from __future__ import annotations

import threading

import numpy as np

from app.realtime.live import LiveEngine
from tests.helpers.fake_audio import FakeBackend
from tests.helpers.live import reference, wait_frames
from tests.helpers.scripts import load_script
from tests.helpers.signals import speechlike


def test_short_soak_has_no_drift(tiny, tmp_path):
    r = load_script("soak").soak(
        tiny, minutes=0.05, k=8, warmup_s=1.0, spool_dir=tmp_path
    )  # 3 s of real time
    assert r.frames_delivered == int(0.05 * 60 * 24_000) // 1920  # 37 whole frames in 3 s
    assert r.frame_drift == 0 and r.sample_drift == 0
    # a busy machine may make the jitter buffer cut a catch-up burst, or drop audio whose
    # time passed in a dry spell: both counted in the drift above, so nothing is
    # unaccounted for; input frames are never dropped
    assert r.dropped_frames == 0
    assert r.rss_warm_mb > 0 and len(r.rss_trace) >= 1
    assert (tmp_path / "soak-input.wav").is_file()  # the session went to disk as it ran


def test_spooled_session_equals_the_in_memory_one(tiny, tmp_path):
    x = speechlike(0.8, seed=11)[0, 0].numpy()
    backend = FakeBackend(source=x[:, None])
    engine = LiveEngine(tiny, backend, k=8, spool=tmp_path / "s")
    engine.open()
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("r", engine.run()))
    t.start()
    mic = backend.last("input")
    for i in range(9):
        mic.pump(1920)
        wait_frames(engine, i + 1)
    engine.stop()
    t.join(10)
    r = box["r"]
    assert r.files == (tmp_path / "s-input.wav", tmp_path / "s-output.wav")
    assert engine.take._inputs == [] and engine.take._outputs == []  # nothing in memory
    assert np.array_equal(r.input24, x[: 9 * 1920])
    assert np.array_equal(r.output24, reference(tiny, x, [8] * 9, engine.stats.threads))
    assert r.codes.shape == (32, 9)
