"""Bad and odd input files, through the CLI (one line on stderr, exit 2, no traceback).

Must fail clearly: empty, truncated, text named .wav, a directory, missing, unreadable.
Must work: any rate from 8 to 192 kHz, 8 channels, 24-bit and float, MP3/OGG/FLAC,
silence, a single sample, samples beyond ±1.0 (kept and reported), NaN/Inf (replaced and
reported). The expected lengths and rates come from the files we write, not from the code
under test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from codec.audio import load_audio
from codec.cli import run
from codec.errors import AudioError
from tests.helpers.bad_files import BAD, TINY, tone
from tests.helpers.cli import ROOT, assert_one_line_error, run_cli
from tests.helpers.requirements import need
from tests.helpers.signals import write_tone


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_file_fails_with_one_line(tmp_path, case):
    make, expect = BAD[case]
    src = tmp_path / f"{case}.wav"
    make(src)
    out = tmp_path / "out.wav"
    r = run_cli("roundtrip", str(src), "-o", str(out), *TINY)
    assert_one_line_error(r, expect)
    assert not out.exists() and sorted(os.listdir(tmp_path)) == sorted(
        [src.name] if src.exists() else []
    )
    with pytest.raises(AudioError, match=re.escape(expect)):  # the library says the same
        load_audio(src)


# The interpreter lives under /root (mode 0700), so `setpriv --reuid=65534 python` cannot even
# start it. The child imports what it needs as root, drops to nobody with setresuid, and only
# then reads the file: the kernel's permission check is the real one.
DROP_AND_RUN = """
import os, sys
sys.path.insert(0, {root!r})
import codec.audio, codec.cli
os.setgroups([]); os.setresgid(65534, 65534, 65534); os.setresuid(65534, 65534, 65534)
sys.exit(codec.cli.run(sys.argv[1:]))
"""


def test_unreadable_file_fails_with_one_line(tmp_path):
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="mimi-perm-", dir="/tmp"))  # tmp_path is root-only
    try:
        shared.chmod(0o777)
        src = shared / "secret.wav"
        write_tone(src, seconds=0.2, sr=24_000, channels=1)
        src.chmod(0o000)
        out = shared / "out.wav"
        args = ["roundtrip", str(src), "-o", str(out), *TINY]
        if os.geteuid() == 0:
            cmd = [sys.executable, "-c", DROP_AND_RUN.format(root=str(ROOT)), *args]
        else:
            cmd = [sys.executable, str(ROOT / "main.py"), *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
        if "Operation not permitted" in r.stderr and "setres" in r.stderr:
            need(False, "cannot drop root privileges here, and root reads any file")
        assert_one_line_error(r, "no permission to read")
        assert not out.exists()
    finally:
        for p in shared.iterdir():
            p.unlink()
        shared.rmdir()


def write_case(path: Path, case: str) -> tuple[np.ndarray, int]:
    """Write the odd-but-valid file `case` to `path`; returns (what was written [T, C], rate)."""
    if case in ("8k", "44k", "96k", "192k"):
        sr = {"8k": 8_000, "44k": 44_100, "96k": 96_000, "192k": 192_000}[case]
        x = tone(0.3, sr)
        sf.write(str(path), x, sr, subtype="PCM_16")
    elif case == "8ch":
        sr, x = 48_000, tone(0.3, 48_000, channels=8)
        sf.write(str(path), x, sr, subtype="PCM_16")
    elif case == "pcm24":
        sr, x = 24_000, tone(0.3, 24_000)
        sf.write(str(path), x, sr, subtype="PCM_24")
    elif case == "float32":
        sr, x = 22_050, tone(0.3, 22_050, channels=2)
        sf.write(str(path), x, sr, subtype="FLOAT")
    elif case in ("mp3", "ogg", "flac"):
        sr, x = 32_000, tone(0.5, 32_000)
        fmt = {
            "mp3": ("MP3", "MPEG_LAYER_III"),
            "ogg": ("OGG", "VORBIS"),
            "flac": ("FLAC", "PCM_16"),
        }
        sf.write(str(path), x, sr, format=fmt[case][0], subtype=fmt[case][1])
    elif case == "silence":
        sr, x = 16_000, np.zeros((8_000, 1), np.float32)
        sf.write(str(path), x, sr, subtype="PCM_16")
    elif case == "one_sample":
        sr, x = 24_000, np.full((1, 1), 0.25, np.float32)
        sf.write(str(path), x, sr, subtype="FLOAT")
    else:
        raise ValueError(case)
    return x, sr


ODD = [
    "8k",
    "44k",
    "96k",
    "192k",
    "8ch",
    "pcm24",
    "float32",
    "mp3",
    "ogg",
    "flac",
    "silence",
    "one_sample",
]
SUFFIX = {"mp3": ".mp3", "ogg": ".ogg", "flac": ".flac"}


@pytest.mark.parametrize("case", ODD)
def test_odd_but_valid_files_work(tmp_path, capsys, case):
    src = tmp_path / f"{case}{SUFFIX.get(case, '.wav')}"
    x, sr = write_case(src, case)
    # what soundfile itself decodes (MP3/OGG may add or drop a few samples of codec delay)
    ref, ref_sr = sf.read(str(src), dtype="float32", always_2d=True)
    out = tmp_path / "out.wav"
    assert run(["roundtrip", str(src), "-o", str(out), *TINY]) == 0, capsys.readouterr().err
    y, y_sr = sf.read(str(out), always_2d=True)
    assert y_sr == sr == ref_sr
    assert y.shape == ref.shape and ref.shape[1] == x.shape[1]
    if case in ("mp3", "ogg", "flac"):
        assert abs(len(ref) - len(x)) < 4096  # the file really holds our signal's length
    assert np.isfinite(y).all()
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("case", ["8k", "44k", "96k", "192k", "8ch", "pcm24", "flac"])
def test_odd_rates_load_to_the_codec_rate_as_an_independent_resampler_does(tmp_path, case):
    """The one reader's 24 kHz signal against scipy's polyphase resampler on the decoded
    file: the same signal in the passband (the two anti-alias filters differ near the
    Nyquist frequency and at the ends, so those are left out of the comparison)."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    from codec.audio import read_resampled

    src = tmp_path / f"{case}{SUFFIX.get(case, '.wav')}"
    write_case(src, case)
    ref, sr = sf.read(str(src), dtype="float64", always_2d=True)
    got, info = read_resampled(src, 24_000)
    ratio = Fraction(24_000, sr)
    want = resample_poly(ref, ratio.numerator, ratio.denominator, axis=0).T
    assert info.sample_rate == sr and got.shape[0] == ref.shape[1]
    assert abs(got.shape[1] - want.shape[1]) <= 1
    n = min(got.shape[1], want.shape[1])
    edge = 2400  # 100 ms at each end, where the two filters start and stop differently
    g, w = got[:, edge : n - edge], want[:, edge : n - edge]
    passband = np.fft.rfftfreq(g.shape[1], 1 / 24_000) < 0.8 * min(sr, 24_000) / 2
    gf, wf = np.fft.rfft(g, axis=1)[:, passband], np.fft.rfft(w, axis=1)[:, passband]
    err = np.linalg.norm(gf - wf) / np.linalg.norm(wf)
    print(f"{case}: {sr} Hz -> 24 kHz, passband rel. difference to resample_poly {err:.1e}")
    assert err < 1e-3


def test_samples_beyond_full_scale_are_kept_and_reported(tmp_path, capsys):
    src = tmp_path / "loud.wav"
    x = tone(0.4, 24_000)
    x[1000:1010] = 3.0  # ten samples at +9.5 dBFS (float WAV can hold them)
    sf.write(str(src), x, 24_000, subtype="FLOAT")
    a = load_audio(src)
    assert np.array_equal(a.samples[0], x[:, 0])  # kept as they are, not clipped
    out = tmp_path / "out.wav"
    assert run(["roundtrip", str(src), "-o", str(out), *TINY]) == 0
    err = capsys.readouterr().err
    assert "warning: 10 samples exceed full scale (peak 3.00, +9.5 dBFS)" in err


def test_nan_and_inf_are_replaced_and_reported(tmp_path):
    src = tmp_path / "nan.wav"
    x = tone(0.4, 24_000, channels=2)
    x[100, 0], x[200, 1], x[300:303, 0] = np.nan, np.inf, -np.inf
    sf.write(str(src), x, 24_000, subtype="FLOAT")
    out = tmp_path / "out.wav"
    r = run_cli("roundtrip", str(src), "-o", str(out), *TINY)
    assert r.returncode == 0, r.stderr
    assert "warning: 5 NaN/Inf samples were replaced by silence" in r.stderr
    assert "Traceback" not in r.stderr
    y, _ = sf.read(str(out), always_2d=True)
    assert y.shape == x.shape and np.isfinite(y).all()
    a = load_audio(src)
    finite = np.isfinite(x.T)
    assert np.array_equal(a.samples[finite], x.T[finite]) and (a.samples[~finite] == 0).all()


def cut_in_half(tmp_path: Path, fmt: str, suffix: str) -> Path:
    p = tmp_path / f"cut{suffix}"
    sf.write(str(p), tone(2.0, 24_000), 24_000, format=fmt)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return p


def test_truncated_flac_fails_clearly(tmp_path):
    with pytest.raises(AudioError, match=r"cannot decode cut\.flac \(damaged or truncated\?\)"):
        load_audio(cut_in_half(tmp_path, "FLAC", ".flac"))


def test_truncated_ogg_loads_with_a_warning(tmp_path):
    """Ogg has no total length; a cut stream reads as a shorter one, but lacks its
    end-of-stream page. The intact file has no such warning."""
    whole = tmp_path / "whole.ogg"
    sf.write(str(whole), tone(2.0, 24_000), 24_000, format="OGG")
    assert load_audio(whole).warnings == []
    a = load_audio(cut_in_half(tmp_path, "OGG", ".ogg"))
    assert any("may be truncated" in w for w in a.warnings)


def test_truncated_mp3_loads_with_a_warning(tmp_path):
    """An MP3's length is only an estimate (VBR without a Xing header), so a shortfall is
    a warning: what decodes is kept."""
    a = load_audio(cut_in_half(tmp_path, "MP3", ".mp3"))
    assert any("may be truncated" in w for w in a.warnings)
    assert 0.5 * 24_000 < a.num_samples < 1.5 * 24_000


def test_a_recording_whose_header_lags_its_data_still_loads(tmp_path):
    """The opposite of truncated: a header promising less than is there (a killed writer)."""
    p = tmp_path / "rec.wav"
    x = tone(0.2, 24_000)
    sf.write(str(p), x, 24_000, subtype="FLOAT")
    with open(p, "ab") as f:
        f.write(np.ones(100, np.float32).tobytes())  # appended after the header was written
    assert np.array_equal(load_audio(p).samples[0], x[:, 0])


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(AudioError, match="not a regular file"):
        load_audio(fifo)


def test_absurd_sample_rate_is_refused(tmp_path):
    p = tmp_path / "rate.wav"
    sf.write(str(p), tone(0.05, 24_000), 24_000, subtype="PCM_16")
    data = bytearray(p.read_bytes())
    data[24:28] = (3).to_bytes(4, "little")  # the fmt chunk's sample rate: 3 Hz
    p.write_bytes(bytes(data))
    with pytest.raises(AudioError, match="unsupported sample rate"):
        load_audio(p)
