"""Long files: the streamed roundtrip/encode equals the whole-file path, cancels cleanly,
and its memory does not grow with the input's duration."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import codec.audio.reader as reader
import codec.audio.write as writer
from codec.audio import load_audio, resample
from codec.audio.resample import from_codec_rate
from codec.errors import Cancelled
from codec.session import operations as ops
from codec.session.operations import decode_signal, encode_signal
from tests.helpers.paths import ROOT


@pytest.fixture(scope="module")
def tiny():
    from codec import load_codec

    return load_codec("random:tiny", "cpu")


def write_signal(path: Path, seconds: float, sr: int, channels: int, seed: int = 0) -> None:
    """A noisy two-tone signal written in 1 s blocks (never the whole file in memory)."""
    rng = np.random.default_rng(seed)
    with sf.SoundFile(str(path), "w", sr, channels, subtype="FLOAT") as f:
        for start in range(0, round(seconds * sr), sr):
            n = min(sr, round(seconds * sr) - start)
            t = (start + np.arange(n)) / sr
            x = [
                0.3 * np.sin(2 * np.pi * (220 + 110 * c) * t) * np.sin(2 * np.pi * 0.5 * t)
                + 0.05 * rng.standard_normal(n)
                for c in range(channels)
            ]
            f.write(np.stack(x, axis=1).astype(np.float32))


def whole_file(codec, path: Path, k: int) -> tuple[torch.Tensor, np.ndarray]:
    """The reference: load everything, code it in one call, resample back (codes, [C, T])."""
    a = load_audio(path)
    x24 = resample(a.samples, a.sample_rate, codec.sample_rate)
    codes = encode_signal(codec, x24, k)
    y24 = decode_signal(codec, codes, x24.shape[1])
    return codes, from_codec_rate(y24, codec.sample_rate, a.sample_rate, a.num_samples)


@pytest.mark.parametrize(
    ("sr", "channels", "suffix"), [(44_100, 2, ".wav"), (24_000, 1, ".wav"), (48_000, 1, ".flac")]
)
def test_streamed_equals_whole_file(tiny, tmp_path, monkeypatch, sr, channels, suffix):
    # odd, small blocks: chunk edges, resampler edges and read edges all fall differently
    monkeypatch.setattr(reader, "BLOCK_FRAMES", 10_007)
    src, dst = tmp_path / "in.wav", tmp_path / f"out{suffix}"
    write_signal(src, 20.3, sr, channels)
    codes_ref, y_ref = whole_file(tiny, src, 8)

    codes, info = ops.encode_file(tiny, src, 8)
    assert info.sample_rate == sr and info.channels == channels
    assert codes.shape == codes_ref.shape and torch.equal(codes, codes_ref)

    done = []
    ops.roundtrip_file(tiny, src, dst, 8, progress=lambda d, t: done.append((d, t)))
    y, rate = sf.read(str(dst), dtype="float32", always_2d=True)
    assert rate == sr and y.shape == (y_ref.shape[1], channels)
    if suffix == ".flac":  # 24-bit PCM, clipped: compare at that resolution
        y_ref = np.clip(y_ref, -1, 1)
        assert np.abs(y.T - y_ref).max() < 2e-7 * 8
    else:
        err = np.linalg.norm(y.T - y_ref) / np.linalg.norm(y_ref)
        assert err < 1e-5, err
    assert done[-1][0] == codes.shape[-1] and all(d <= t for d, t in done)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries


def test_cli_streams_long_inputs(tiny, tmp_path, monkeypatch, capsys):
    from codec.cli import run

    src = tmp_path / "in.wav"
    write_signal(src, 12.0, 32_000, 1)
    out, codes_out = tmp_path / "o.wav", tmp_path / "c.safetensors"
    assert run(["roundtrip", str(src), "-o", str(out), "--weights", "random:tiny"]) == 0
    assert "1 ch, 12.00 s at 32000 Hz" in capsys.readouterr().err
    assert run(["encode", str(src), "-o", str(codes_out), "--weights", "random:tiny"]) == 0
    codes_ref, y_ref = whole_file(tiny, src, 32)
    y, _ = sf.read(str(out), dtype="float32", always_2d=True)
    assert np.linalg.norm(y.T - y_ref) / np.linalg.norm(y_ref) < 1e-5
    from codec.audio.codes_file import load_codes

    cf = load_codes(codes_out)
    assert torch.equal(cf.codes, codes_ref) and cf.num_samples == 12 * 32_000


@pytest.mark.parametrize("how", ["cancel", "ctrl-c"])
def test_cancel_leaves_no_output(tiny, tmp_path, monkeypatch, how):
    monkeypatch.setattr(reader, "BLOCK_FRAMES", 24_000)
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    write_signal(src, 30.0, 24_000, 1)
    dst.write_bytes(b"old")  # an earlier result must survive a cancelled run untouched
    calls = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if how == "ctrl-c" and len(calls) == 3:
            raise KeyboardInterrupt

    exc = Cancelled if how == "cancel" else KeyboardInterrupt
    with pytest.raises(exc):
        ops.roundtrip_file(
            tiny, src, dst, progress=progress, cancel=lambda: how == "cancel" and len(calls) >= 2
        )
    assert dst.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "out.wav"]
    assert len(calls) < 6  # it stopped early, not after coding everything


MEMORY_SCRIPT = textwrap.dedent("""
    import json, sys, torch
    from codec import load_codec
    from codec.session.operations import roundtrip_file as stream_roundtrip

    def hwm_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

    torch.set_num_threads(1)
    codec = load_codec(sys.argv[3], "cpu")
    base = hwm_mb()
    info = stream_roundtrip(codec, sys.argv[1], sys.argv[2])
    print(json.dumps({"base_mb": base, "peak_mb": hwm_mb(), "seconds": info.duration}))
""")


def peak_rss(src: Path, dst: Path, weights: str = "random:tiny") -> dict:
    r = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(src), str(dst), weights],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_memory_does_not_grow_with_duration(tmp_path):
    """1 vs 8 minutes at 48 kHz stereo: 7 more minutes are 161 MB of float32 source alone
    (the whole-file path holds several times that); the streamed peak must barely move."""
    runs = {}
    for minutes in (1, 8):
        src = tmp_path / f"in{minutes}.wav"
        write_signal(src, 60 * minutes, 48_000, 2)
        runs[minutes] = peak_rss(src, tmp_path / f"out{minutes}.wav")
        src.unlink()
    print(runs)
    extra_mb = 7 * 60 * 48_000 * 2 * 4 / 2**20
    growth = runs[8]["peak_mb"] - runs[1]["peak_mb"]
    assert runs[8]["seconds"] == 480
    # measured: 1-10 MB (allocator noise); the whole-file path grows by several x extra_mb
    assert growth < 0.25 * extra_mb, (growth, extra_mb)


@pytest.mark.parametrize("sr,channels", [(44_100, 2), (24_000, 1), (8_000, 3)])
def test_read_resampled_equals_load_and_resample(tmp_path, monkeypatch, sr, channels):
    monkeypatch.setattr(reader, "BLOCK_FRAMES", 3001)  # many blocks, odd edges
    src = tmp_path / "in.wav"
    x = (np.random.default_rng(3).standard_normal((int(2.3 * sr), channels)) * 0.2).astype(
        np.float32
    )
    sf.write(str(src), x, sr, subtype="FLOAT")
    seen = []
    got, info = reader.read_resampled(src, 24_000, progress=lambda d, t: seen.append((d, t)))
    want = to_codec_rate_of(load_audio(src))
    assert got.shape == want.shape and got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)
    assert (info.sample_rate, info.channels, info.num_samples) == (sr, channels, len(x))
    assert seen[-1] == (len(x), len(x)) and len(seen) > 5
    assert all(a[0] < b[0] for a, b in itertools.pairwise(seen))


def to_codec_rate_of(audio) -> np.ndarray:
    from codec.audio import resample

    return resample(audio.samples, audio.sample_rate, 24_000)


def test_read_resampled_cancels(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "BLOCK_FRAMES", 1000)
    src = tmp_path / "in.wav"
    sf.write(str(src), np.zeros((48_000, 1), np.float32), 48_000)
    calls = []
    with pytest.raises(Cancelled):
        reader.read_resampled(src, 24_000, cancel=lambda: calls.append(1) or len(calls) > 3)
    assert len(calls) == 4  # checked before each block, stopped at once


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_write_resampled_equals_whole_export(tiny, tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(writer, "BLOCK_SAMPLES", 2999)
    from codec.audio import write_audio

    y = (np.random.default_rng(4).standard_normal((2, 50_000)) * 0.3).astype(np.float32)
    y[0, 100] = 1.7  # beyond full scale: FLAC clips it in both paths
    n = 91_877  # the source's length at 44.1 kHz (not exactly 50_000 * 44.1 / 24)
    writer.write_resampled(y, 24_000, tmp_path / f"a{suffix}", 44_100, n)
    write_audio(tmp_path / f"b{suffix}", from_codec_rate(y, 24_000, 44_100, n), 44_100)
    a, sa = sf.read(str(tmp_path / f"a{suffix}"), dtype="float32")
    b, sb = sf.read(str(tmp_path / f"b{suffix}"), dtype="float32")
    assert sa == sb == 44_100 and a.shape == b.shape == (n, 2)
    np.testing.assert_array_equal(a, b)


def test_write_resampled_cancel_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "BLOCK_SAMPLES", 1000)
    y = np.zeros((1, 20_000), np.float32)
    calls = []
    with pytest.raises(Cancelled):
        writer.write_resampled(
            y,
            24_000,
            tmp_path / "o.wav",
            48_000,
            40_000,
            cancel=lambda: len(calls) > 2 or calls.append(1),
        )
    assert list(tmp_path.iterdir()) == []


def test_decode_signal_equals_the_codec_decode(tiny):
    codes = torch.randint(0, tiny.codebook_size, (2, 5, 150))
    want = tiny.decode(codes)[:, 0].numpy()
    np.testing.assert_array_equal(decode_signal(tiny, codes), want)
    np.testing.assert_array_equal(decode_signal(tiny, codes, 150 * 1920 - 777), want[:, :-777])
