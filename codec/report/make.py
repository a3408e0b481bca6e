"""`report`: code a file at several codebook counts and write audio, codes, metrics and a
figure. The same operations as the window (codec.session.operations): open, encode, then
for each K decode, export and measure.

Metrics compare the signals the codec sees: the input resampled to the codec rate and the
reconstruction at that rate (`metrics_sample_rate` in metrics.json). The reconstruction
files are at the input file's own rate. Every output file is written to a temporary name in
the output folder and then renamed, so a reader never sees a half-written file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..analysis.metrics import (
    ALIGN_MAX_LAG_S,
    CHANNEL_METRIC_KEYS,
    LOUDNESS,
    MEL,
    MRSTFT,
    PESQ,
    STOI_MIN_SECONDS,
)
from ..analysis.token_stats import token_stats
from ..audio.atomic import write_text_atomic
from ..audio.codes_file import CodesFile, save_codes
from ..session import operations as ops
from ..session.policy import DEFAULT_POLICY, LongFilePolicy, report_ks
from .figure import render_figure

FORMAT = "mimi-explorer-report/1"

Log = Callable[[str], None]
ProgressFactory = Callable[[str], Callable[[int, int], None]]


def json_safe(obj):
    """obj with numpy scalars made Python and non-finite floats made None (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def csv_text(results: list[dict]) -> str:
    """metrics.csv: one row per K and channel."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["k", "bitrate_bps", "channel", *CHANNEL_METRIC_KEYS])
    for res in results:
        for ch, m in enumerate(res["channels"]):
            w.writerow(
                [res["k"], res["bitrate_bps"], ch, *(repr(m[key]) for key in CHANNEL_METRIC_KEYS)]
            )
    return buf.getvalue()


def _document(src, comp, codec, codes, ks, k_fig, results, scope, codes_name) -> dict:
    """metrics.json's content (before json_safe): what was coded, how, and every number."""
    rate = codec.sample_rate
    return {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": codec.description,
        "device": str(codec.device),
        "input": {
            "path": str(src.resolve()),
            "sample_rate": comp.source_rate,
            "channels": comp.channels,
            "num_samples": comp.source_length,
            "duration_s": comp.source_length / comp.source_rate,
            "warnings": list(comp.warnings),
        },
        "codec": {
            "sample_rate": rate,
            "frame_rate": codec.frame_rate,
            "codebook_size": codec.codebook_size,
            "num_codebooks": codec.num_codebooks,
            "frames": int(codes.shape[2]),
        },
        "metrics_sample_rate": rate,
        "metrics_scope": scope or "the whole signal",
        "parameters": {
            "mel": MEL,
            "mrstft": MRSTFT,
            "loudness": LOUDNESS,
            "stoi_min_seconds": STOI_MIN_SECONDS,
            "align_max_lag_s": ALIGN_MAX_LAG_S,
            "pesq": PESQ,
        },
        "codebooks": ks,
        "figure_k": k_fig,
        "results": results,
        "token_stats": [
            {
                "channel": c,
                "codebooks": token_stats(codes[c], codec.codebook_size, codec.frame_rate),
            }
            for c in range(codes.shape[0])
        ],
        "files": {
            "codes": codes_name,
            "csv": "metrics.csv",
            "figure": "report.png",
            "audio": {str(r["k"]): r["audio"] for r in results},
        },
        "notes": "Metrics compare the input and the reconstruction at metrics_sample_rate. "
        "null marks a value that is undefined (STOI of a clip under stoi_min_seconds or of "
        "silence; PESQ (pesq_wb, speech only) where no utterance is found or the clip is "
        "under parameters.pesq.min_seconds; change_rate with one frame) or infinite (SI-SDR "
        "of identical signals). "
        "Silence reads the loudness floors in parameters.loudness.",
        "elapsed_s": 0.0,
    }


def make_report(
    input_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    codec,
    ks: Sequence[int] | None = None,
    *,
    progress: ProgressFactory | None = None,
    log: Log | None = None,
    policy: LongFilePolicy = DEFAULT_POLICY,
) -> dict:
    """Code `input_path` once with max(ks) codebooks, decode every K, and write to out_dir:
    `<stem>_kNN.flac` per K (at the file's own rate), `<stem>.codes.safetensors`,
    `metrics.json`, `metrics.csv` (one row per K x channel) and `report.png` (drawn at the
    largest K). Returns the metrics.json content. Raises AudioError/CodecError/ValueError.
    out_dir is created if its parent exists.
    """

    def say(msg: str) -> None:
        if log:
            log(msg)

    def prog(label: str):
        return progress(label) if progress else None

    t0 = time.perf_counter()
    src, out = Path(input_path), Path(out_dir)
    ks = report_ks(ks, codec.num_codebooks)
    rate = codec.sample_rate
    comp = ops.open_file(src, rate, progress=prog("read"), policy=policy)
    comp.cache_bytes = 0  # one decode at a time: each is written and measured, then replaced
    for w in comp.warnings:
        say(f"warning: {w}")
    out.mkdir(exist_ok=True)
    stem = src.stem or "audio"

    codes_t = ops.encode_signal(codec, comp.x24, max(ks), progress=prog("encode"))
    comp.set_codes(codes_t.numpy(), codec.description)
    codes_name = f"{stem}.codes.safetensors"
    save_codes(
        out / codes_name, CodesFile.of(codec.info, codes_t, comp.source_rate, comp.source_length)
    )

    results, scope = [], ""
    for k in ks:
        ops.decode(codec, comp, k, progress=prog(f"decode K={k}"))
        name = f"{stem}_k{k:02d}.flac"
        ops.export(comp, k, out / name)
        m = ops.measure(codec, comp, k, policy)
        scope = m.scope
        channels = [dict(c) for c in m.channels]
        mean = float(np.mean([c["si_sdr_aligned"] for c in channels]))
        say(f"K={k}: wrote {name}, SI-SDR (aligned, mean over channels) {mean:.2f} dB")
        results.append(
            {"k": k, "bitrate_bps": codec.bitrate(k), "audio": name, "channels": channels}
        )

    k_fig = max(ks)
    codes = comp.codes
    render_figure(
        comp.x24,
        {k_fig: comp.reconstruction(k_fig)},
        codes,
        rate,
        codec.frame_rate,
        {r["k"]: r["channels"] for r in results},
        k_fig,
        out / "report.png",
        title=f"{src.name}  \u2014  {codec.description}",
        codebook_size=codec.codebook_size,
    )
    report = _document(src, comp, codec, codes, ks, k_fig, results, scope, codes_name)
    write_text_atomic(out / "metrics.csv", csv_text(results))
    report["elapsed_s"] = round(time.perf_counter() - t0, 3)
    safe = json_safe(report)
    write_text_atomic(out / "metrics.json", json.dumps(safe, indent=2, allow_nan=False) + "\n")
    return safe
