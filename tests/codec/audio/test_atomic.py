"""No data loss: exports appear whole or not at all; recordings and live sessions survive
a SIGKILL of the process writing them."""

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
import soundfile as sf
import torch

from codec.audio import load_audio, write_audio
from codec.codes_io import CodesFile, load_codes, save_codes
from codec.errors import AudioError, CodecError
from codec.wav_stream import WavStreamWriter

from .helpers import speechlike

ROOT = Path(__file__).resolve().parent.parent


class Boom(RuntimeError):
    pass


def fail_after_first_block(monkeypatch, block: int = 1000, exc: BaseException | None = None):
    """Make SoundFile.write write its first `block` frames, then raise (a crash midway)."""
    real = sf.SoundFile.write

    def write(self, data):
        real(self, data[:block])
        self.flush()
        raise exc if exc is not None else Boom("crash in the middle of writing")

    monkeypatch.setattr(sf.SoundFile, "write", write)


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
@pytest.mark.parametrize("exc", [None, KeyboardInterrupt(), OSError(28, "No space left on device")])
def test_export_crash_midway_leaves_nothing(tmp_path, monkeypatch, suffix, exc):
    x = speechlike(1.0)[0].numpy()
    fail_after_first_block(monkeypatch, exc=exc)
    target = tmp_path / f"out{suffix}"
    expected = AudioError if isinstance(exc, OSError) else type(exc) if exc is not None else Boom
    with pytest.raises(expected):
        write_audio(target, x, 24_000)
    assert os.listdir(tmp_path) == []  # no final file, no temporary left behind


def test_export_crash_keeps_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "out.wav"
    old = speechlike(0.5, seed=3)[0].numpy()
    write_audio(target, old, 24_000)
    fail_after_first_block(monkeypatch)
    with pytest.raises(Boom):
        write_audio(target, speechlike(1.0)[0].numpy(), 24_000)
    assert os.listdir(tmp_path) == ["out.wav"]
    assert np.array_equal(load_audio(target).samples, old)  # untouched, complete


def test_export_file_permissions_follow_the_umask(tmp_path):
    """A temporary from mkstemp is 0600; the export must be as readable as any new file."""
    old = os.umask(0o022)
    try:
        p = write_audio(tmp_path / "o.wav", np.zeros((1, 100), np.float32), 24_000)
    finally:
        os.umask(old)
    assert p.stat().st_mode & 0o777 == 0o644


def test_codes_export_crash_leaves_nothing(tmp_path, monkeypatch):
    import codec.codes_io as cio

    def half_then_fail(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"partial safetensors header")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cio, "save_file", half_then_fail)
    cf = CodesFile(torch.zeros(1, 8, 5, dtype=torch.int64), 24_000, 9_600)
    with pytest.raises(CodecError, match="cannot write"):
        save_codes(tmp_path / "c.safetensors", cf)
    assert os.listdir(tmp_path) == []
    monkeypatch.undo()
    save_codes(tmp_path / "c.safetensors", cf)
    assert torch.equal(load_codes(tmp_path / "c.safetensors").codes, cf.codes)
    assert os.listdir(tmp_path) == ["c.safetensors"]


def test_weights_save_crash_leaves_nothing(tmp_path, monkeypatch, tiny):
    import codec.weights as weights

    def half_then_fail(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")
        raise Boom("killed while saving")

    monkeypatch.setattr(weights, "save_file", half_then_fail)
    with pytest.raises(Boom):
        weights.save_codec(tiny, tmp_path / "m")
    assert os.listdir(tmp_path / "m") == []


# ---- streaming WAV: valid at every instant ------------------------------------------------
def test_stream_writer_is_readable_after_every_append(tmp_path):
    x = (0.1 * np.random.default_rng(0).standard_normal((5000, 2))).astype(np.float32)
    with WavStreamWriter(tmp_path / "r.wav", 48_000, 2) as w:
        assert sf.info(str(w.path)).frames == 0
        for i in range(0, 5000, 1234):
            w.append(x[i : i + 1234])
            got, sr = sf.read(str(w.path), dtype="float32", always_2d=True)
            assert sr == 48_000 and np.array_equal(got, x[: i + 1234])
    assert np.array_equal(load_audio(tmp_path / "r.wav").samples, x.T)
    with pytest.raises(AudioError, match="already exists"):
        WavStreamWriter(tmp_path / "r.wav", 48_000, 2)  # never overwrites a recording


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
    from app.recorder import Recorder
    from tests.fake_audio import FakeBackend
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
    from app.live import LiveEngine
    from codec import load_codec
    from tests.fake_audio import FakeBackend
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
