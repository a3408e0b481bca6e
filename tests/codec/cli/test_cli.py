"""The command line: round trip, encode/decode, bench, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.helpers.cli import assert_one_line_error, run_cli
from tests.helpers.signals import write_tone


def test_roundtrip_stereo_44k(tmp_path):
    src = tmp_path / "in.wav"
    x = write_tone(src, seconds=1.3, sr=44_100, channels=2)
    out = tmp_path / "out.wav"
    r = run_cli("roundtrip", str(src), "-o", str(out), "--weights", "tiny", "--codebooks", "8")
    assert r.returncode == 0, r.stderr
    y, sr = sf.read(str(out), always_2d=True)
    assert sr == 44_100 and y.shape == (x.shape[1], 2)
    assert np.isfinite(y).all() and np.abs(y).max() > 0
    assert not np.allclose(y[:, 0], y[:, 1])  # channels are coded separately


def test_encode_then_decode(tmp_path):
    src = tmp_path / "in.flac"
    x = write_tone(tmp_path / "tmp.wav", seconds=0.9, sr=16_000, channels=1)
    sf.write(str(src), x.T, 16_000)
    codes = tmp_path / "codes.safetensors"
    r = run_cli("encode", str(src), "-o", str(codes), "--weights", "tiny")
    assert r.returncode == 0, r.stderr
    from codec.audio.codes_file import load_codes

    cf = load_codes(codes)
    assert cf.codes.shape == (1, 32, 12)  # 0.9 s = 21,600 samples at 24 kHz = 11.25 frames
    out = tmp_path / "out.flac"
    r = run_cli("decode", str(codes), "-o", str(out), "--weights", "tiny", "--codebooks", "4")
    assert r.returncode == 0, r.stderr
    info = sf.info(str(out))
    assert (info.samplerate, info.frames, info.channels) == (16_000, x.shape[1], 1)


@pytest.mark.parametrize(
    "case",
    ["missing", "directory", "text", "empty", "bad_ext", "bad_k", "bad_weights", "pickle_weights"],
)
def test_errors_are_one_line(tmp_path, case):
    good = tmp_path / "good.wav"
    write_tone(good, seconds=0.3, sr=24_000, channels=1)
    out = str(tmp_path / "out.wav")
    args = {
        "missing": (
            ["roundtrip", str(tmp_path / "nope.wav"), "-o", out, "--weights", "tiny"],
            "not found",
        ),
        "directory": (
            ["roundtrip", str(tmp_path), "-o", out, "--weights", "tiny"],
            "is a directory",
        ),
        "text": (
            ["roundtrip", str(tmp_path / "t.wav"), "-o", out, "--weights", "tiny"],
            "cannot read t.wav as audio",
        ),
        "empty": (["roundtrip", str(tmp_path / "e.wav"), "-o", out, "--weights", "tiny"], "empty"),
        "bad_ext": (
            ["roundtrip", str(good), "-o", str(tmp_path / "o.xyz"), "--weights", "tiny"],
            "use .wav or .flac",
        ),
        "bad_k": (["roundtrip", str(good), "-o", out, "--codebooks", "33"], "must be 1..32"),
        "bad_weights": (
            ["roundtrip", str(good), "-o", out, "--weights", str(tmp_path / "w.st")],
            "not found",
        ),
        "pickle_weights": (
            ["roundtrip", str(good), "-o", out, "--weights", str(tmp_path / "w.pt")],
            "pickle",
        ),
    }[case]
    (tmp_path / "t.wav").write_text("this is text, not audio\n" * 20)
    (tmp_path / "e.wav").write_bytes(b"")
    import torch

    torch.save({"a": torch.zeros(1)}, tmp_path / "w.pt")
    r = run_cli(*args[0])
    if case == "bad_k":  # argparse's own error format
        assert r.returncode == 2 and "must be 1..32" in r.stderr and "Traceback" not in r.stderr
        return
    assert_one_line_error(r, args[1])
    assert not Path(out).exists()


def test_offline_hub_is_a_clear_error(tmp_path):
    good = tmp_path / "good.wav"
    write_tone(good, seconds=0.3, sr=24_000, channels=1)
    r = run_cli("roundtrip", str(good), "-o", str(tmp_path / "o.wav"), "--weights", "kyutai/mimi")
    assert_one_line_error(r, "Hugging Face hub")


@pytest.mark.slow
def test_help_for_each_command():
    for cmd in ("roundtrip", "encode", "decode", "bench"):
        r = run_cli(cmd, "--help")
        assert r.returncode == 0 and "usage:" in r.stdout


def test_bench_json_small():
    r = run_cli(
        "bench", "--json", "--weights", "tiny", "--seconds", "1", "--frames", "3", "--repeats", "1"
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["batch"]["encode_x_realtime"] > 0
    assert [s["k"] for s in data["streaming"]] == [8, 32]
    assert data["transformers"]["encode_speedup"] > 0
