"""No data loss: exports, codes and weights appear whole or not at all; the growing WAV of
recordings is valid after every append (a SIGKILL mid-recording: app/realtime/test_crash_safety)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from codec.audio import load_audio, write_audio
from codec.audio.codes_file import CodesFile, load_codes, save_codes
from codec.audio.wav_stream import WavStreamWriter
from codec.errors import AudioError, CodecError
from tests.helpers.signals import speechlike


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
    import codec.audio.codes_file as cio

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
    import codec.weights.save as weights

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
