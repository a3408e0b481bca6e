"""Recordings and live sessions survive a SIGKILL of the process writing them: the files
under their final names are valid WAVs holding every block written so far."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from codec.audio import load_audio
from tests.helpers.paths import ROOT


def _spawn(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)},
    )


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 120) -> list[str]:
    """Read the child's stdout lines until ready(lines), then SIGKILL it."""
    lines: list[str] = []
    t0 = time.monotonic()
    try:
        while not ready(lines):
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"child exited early: {proc.stderr.read()[-2000:]}")
            lines.append(line.strip())
            assert time.monotonic() - t0 < timeout, "child too slow"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    return lines


RECORD = """
    import sys, time
    import numpy as np
    from app.realtime.recorder import Recorder
    from tests.helpers.fake_audio import FakeBackend
    src = (0.1 * np.random.default_rng(7).standard_normal((48_000 * 120, 2))).astype(np.float32)
    backend = FakeBackend(source=src)
    rec = Recorder(backend, rate=48_000, channels=2, folder=__import__("pathlib").Path(sys.argv[1]))
    print(rec.start(), flush=True)
    mic = backend.last("input")
    while True:  # as fast as the writer takes it; the parent kills us mid-stream
        mic.pump(480)
        while rec._queue.qsize() > 50:
            time.sleep(0.001)
        print(rec.frames, flush=True)
"""


def test_recording_survives_sigkill(tmp_path):
    proc = _spawn(RECORD, str(tmp_path))
    lines = _kill_when(proc, lambda ls: len(ls) > 1 and int(ls[-1]) >= 48_000)
    path = Path(lines[0])
    written = int(lines[-1])  # frames the writer had finished when we last heard from it
    src = (0.1 * np.random.default_rng(7).standard_normal((48_000 * 120, 2))).astype(np.float32)
    a = load_audio(path)  # a valid WAV under its final name, no repair needed
    assert a.sample_rate == 48_000 and a.warnings == []
    n = a.num_samples
    assert n >= written  # nothing the writer had finished was lost
    assert np.array_equal(a.samples.T, src[:n])  # and what is there is exactly the input
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no stray temporaries
    # the header itself is current, not just tolerated by libsndfile: any reader sees it all
    declared = riff_data_size(path)
    assert n * 2 * 4 <= declared <= path.stat().st_size and declared % 8 == 0


def riff_data_size(path: Path) -> int:
    """The data chunk's declared size in bytes, read with a plain RIFF walk."""
    import struct

    b = path.read_bytes()
    pos = 12
    while pos + 8 <= len(b):
        cid, n = b[pos : pos + 4], struct.unpack("<I", b[pos + 4 : pos + 8])[0]
        if cid == b"data":
            return n
        pos += 8 + n + (n & 1)
    raise AssertionError("no data chunk")


LIVE = """
    import sys, threading, time
    import numpy as np
    from app.realtime.live import LiveEngine
    from codec import load_codec
    from tests.helpers.fake_audio import FakeBackend
    x = (0.1 * np.random.default_rng(5).standard_normal(24_000 * 60)).astype(np.float32)
    backend = FakeBackend(source=x[:, None])
    engine = LiveEngine(load_codec("random:tiny", "cpu"), backend, k=8, spool=sys.argv[1] + "/live")
    engine.open()
    threading.Thread(target=engine.run, daemon=True).start()
    mic = backend.last("input")
    while True:
        mic.pump(1920)
        while engine.stats.frames < mic.read_pos // 1920:
            time.sleep(0.001)
        print(engine.stats.frames, flush=True)
"""


def test_live_session_survives_sigkill(tmp_path):
    proc = _spawn(LIVE, str(tmp_path))
    lines = _kill_when(proc, lambda ls: ls and int(ls[-1]) >= 20)
    done = int(lines[-1])
    x = (0.1 * np.random.default_rng(5).standard_normal(24_000 * 60)).astype(np.float32)
    inp = load_audio(tmp_path / "live-input.wav")
    out = load_audio(tmp_path / "live-output.wav")
    assert inp.sample_rate == out.sample_rate == 24_000
    assert inp.num_samples >= done * 1920 and inp.num_samples % 1920 == 0
    assert np.array_equal(inp.samples[0], x[: inp.num_samples])
    # the output file trails the input by at most the frame being written at the kill
    assert inp.num_samples - 1920 <= out.num_samples <= inp.num_samples
    assert np.isfinite(out.samples).all()
    assert riff_data_size(tmp_path / "live-input.wav") == inp.num_samples * 4
