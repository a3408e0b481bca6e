"""`main.py report` and codec.report.render_figure: every output file, the JSON schema,
one-line errors."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import soundfile as sf

from codec.analysis.metrics import CHANNEL_METRIC_KEYS
from codec.analysis.token_stats import TOKEN_STAT_KEYS
from tests.helpers.cli import run_cli
from tests.helpers.signals import write_tone

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_MAGIC
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@pytest.mark.slow
def test_report_writes_every_file(tmp_path):
    src = tmp_path / "clip.wav"
    x = write_tone(src, seconds=2.5, sr=44_100, channels=2)
    out = tmp_path / "rep"
    ks = [1, 4, 32]
    r = run_cli("report", str(src), "-o", str(out), "--codebooks", "4,1,32", "--weights", "tiny")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr

    # Reconstructions at the file's own rate and length, one per K.
    for k in ks:
        info = sf.info(str(out / f"clip_k{k:02d}.flac"))
        assert (info.samplerate, info.channels, info.frames) == (44_100, 2, x.shape[1])
        assert info.format == "FLAC"

    from codec.audio.codes_file import load_codes

    cf = load_codes(out / "clip.codes.safetensors")
    frames = math.ceil(round(2.5 * 24_000) / 1920)
    assert tuple(cf.codes.shape) == (2, 32, frames)
    assert (cf.sample_rate, cf.num_samples) == (44_100, x.shape[1])

    rep = json.loads((out / "metrics.json").read_text())
    assert rep["format"] == "mimi-explorer-report/1"
    assert isinstance(rep["model"], str) and rep["model"]
    assert rep["input"]["path"] == str(src.resolve())
    assert rep["input"]["sample_rate"] == 44_100 and rep["input"]["channels"] == 2
    assert rep["input"]["num_samples"] == x.shape[1]
    assert abs(rep["input"]["duration_s"] - x.shape[1] / 44_100) < 1e-9
    assert rep["codec"]["sample_rate"] == 24_000 and rep["metrics_sample_rate"] == 24_000
    assert rep["codec"]["frame_rate"] == 12.5 and rep["codec"]["frames"] == frames
    size = rep["codec"]["codebook_size"]
    assert rep["codebooks"] == ks and [res["k"] for res in rep["results"]] == ks
    for res in rep["results"]:
        assert res["bitrate_bps"] == res["k"] * math.log2(size) * 12.5
        assert (out / res["audio"]).is_file()
        assert len(res["channels"]) == 2
        for m in res["channels"]:
            assert tuple(m) == CHANNEL_METRIC_KEYS
            assert all(v is None or isinstance(v, int | float) for v in m.values())
            assert m["lufs_ref"] is not None and m["mel_distance"] is not None
    # The original's level does not depend on K.
    lufs = {res["channels"][0]["lufs_ref"] for res in rep["results"]}
    assert len(lufs) == 1
    assert [t["channel"] for t in rep["token_stats"]] == [0, 1]
    for t in rep["token_stats"]:
        assert len(t["codebooks"]) == 32
        for s in t["codebooks"]:
            assert set(s) == set(TOKEN_STAT_KEYS)
            assert 0 < s["used_share"] <= min(1.0, frames / size)
            assert 0 <= s["entropy_bits"] <= math.log2(frames) + 1e-9
            assert s["nominal_bitrate"] == math.log2(size) * 12.5
    # Token stats agree with the codes file.
    row = cf.codes[1, 5].numpy()
    assert rep["token_stats"][1]["codebooks"][5]["used_share"] == len(np.unique(row)) / size

    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(ks) * 2
    assert list(rows[0]) == ["k", "bitrate_bps", "channel", *CHANNEL_METRIC_KEYS]
    assert {(int(r["k"]), int(r["channel"])) for r in rows} == {(k, c) for k in ks for c in (0, 1)}

    w, h = _png_size(out / "report.png")
    assert w > 800 and h > 800
    assert not list(out.glob(".*"))  # no temporary files left behind


def test_report_bad_input_is_one_line(tmp_path):
    r = run_cli(
        "report", str(tmp_path / "nope.wav"), "-o", str(tmp_path / "o"), "--weights", "tiny"
    )
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("mimi-explorer: error:"), r.stderr
    assert "not found" in lines[0]
    assert not (tmp_path / "o").exists()


def test_report_bad_codebooks_list(tmp_path):
    src = tmp_path / "a.wav"
    write_tone(src, seconds=0.3, sr=24_000, channels=1)
    r = run_cli("report", str(src), "-o", str(tmp_path / "o"), "--codebooks", "1,x")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = run_cli("report", str(src), "-o", str(tmp_path / "o"), "--codebooks", "0,4")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_render_figure_for_the_app(tmp_path):
    """The app calls render_figure directly: mono, short, K missing from metrics."""
    from codec.analysis.metrics import compare
    from codec.report.figure import render_figure

    sr, fr = 24_000, 12.5
    rng = np.random.default_rng(0)
    t = np.arange(int(0.3 * sr)) / sr
    x = (0.3 * np.sin(2 * np.pi * 220 * t))[None].astype(np.float32)
    y = x + 0.01 * rng.normal(size=x.shape).astype(np.float32)
    codes = rng.integers(0, 256, size=(1, 32, 4))
    metrics = {8: compare(x, y, sr), 32: compare(x, x, sr)}  # stoi is NaN: too short
    png = render_figure(x, {8: y}, codes, sr, fr, metrics, 8, tmp_path / "fig.png")
    assert png == tmp_path / "fig.png" and _png_size(png)[0] > 500
    # No metrics (the app before any K is measured): still a figure.
    png = render_figure(x, {}, codes, sr, fr, {}, 4, tmp_path / "bare.png", codebook_size=256)
    assert _png_size(png)[0] > 500


def test_report_of_a_long_file_reads_streamed_and_measures_excerpts(tmp_path, monkeypatch):
    """With the thresholds lowered, a 9 s file takes the long path: read block by block,
    metrics on 3 excerpts of 1 s (said in metrics.json), equal to compare() on the same
    excerpts of an independent whole-file decode; every reconstruction is full length."""
    import torch

    from codec import load_codec
    from codec.analysis import excerpts
    from codec.analysis.metrics import compare
    from codec.audio import load_audio, resample
    from codec.report.make import make_report
    from codec.session.operations import decode_signal
    from codec.session.policy import LongFilePolicy

    policy = LongFilePolicy(long_s=5.0, excerpt_count=3, excerpt_s=1.0)
    src = tmp_path / "long.wav"
    write_tone(src, seconds=9.0, sr=32_000, channels=2)
    codec = load_codec("random:tiny", "cpu")
    rep = make_report(src, tmp_path / "rep", codec, [2, 4], policy=policy)
    assert rep["metrics_scope"] == "on 3 excerpts of 1 s (3 s of 9 s)"
    a = load_audio(src)
    x24 = resample(a.samples, a.sample_rate, 24_000)
    codes = codec.encode(torch.from_numpy(x24)[:, None], 4)
    ranges = excerpts.excerpt_frames(codes.shape[-1], codec.frame_rate, 3, 1.0)
    for r in rep["results"]:
        y = decode_signal(codec, codes[:, : r["k"]], x24.shape[1])
        want = compare(excerpts.take(x24, ranges, 1920), excerpts.take(y, ranges, 1920), 24_000)
        for got_ch, want_ch in zip(r["channels"], want, strict=True):
            assert got_ch["stoi"] == want_ch["stoi"] and got_ch["si_sdr"] == want_ch["si_sdr"]
        info = sf.info(str(tmp_path / "rep" / r["audio"]))
        assert (info.samplerate, info.channels, info.frames) == (32_000, 2, 9 * 32_000)
