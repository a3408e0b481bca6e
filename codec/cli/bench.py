"""`main.py bench`: speed of batch and streaming coding, with transformers as the reference.

Everything is measured in the same run on the same input, so ratios are meaningful even on a
busy machine. These are measurements, not tests.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import tempfile
import time

import torch


def _best(fn, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _signal(seconds: float, sr: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    t = torch.arange(int(seconds * sr)) / sr
    x = 0.3 * torch.sin(2 * math.pi * (150 + 40 * torch.sin(2 * math.pi * 0.5 * t)) * t)
    return (x + 0.03 * torch.randn(t.shape, generator=g)).view(1, 1, -1)


def measure_streaming(codec, k: int, frames: int, warmup: int = 5) -> dict:
    """Per-frame ms of streaming encode and decode (1 frame per step), K codebooks decoded."""
    enc, dec = codec.stream_encoder(1), codec.stream_decoder(1)
    x = _signal((frames + warmup) * codec.frame_size / codec.sample_rate, codec.sample_rate)
    x = x.to(codec.device)
    fs = codec.frame_size
    t_enc, t_dec = [], []
    for i in range(frames + warmup):
        chunk = x[..., i * fs : (i + 1) * fs]
        t0 = time.perf_counter()
        codes = enc.step(chunk)
        _sync(codec.device)
        t1 = time.perf_counter()
        dec.step(codes[:, :k])
        _sync(codec.device)
        t2 = time.perf_counter()
        if i >= warmup:
            t_enc.append(1000 * (t1 - t0))
            t_dec.append(1000 * (t2 - t1))
    total = [a + b for a, b in zip(t_enc, t_dec, strict=True)]
    frame_ms = 1000 * fs / codec.sample_rate
    return {
        "k": k,
        "frames": frames,
        "encode_ms_median": statistics.median(t_enc),
        "decode_ms_median": statistics.median(t_dec),
        "total_ms_median": statistics.median(total),
        "total_ms_mean": statistics.fmean(total),
        "total_ms_p95": sorted(total)[int(0.95 * (len(total) - 1))],
        "real_time_factor": statistics.median(total) / frame_ms,
    }


def measure_hf(codec, x: torch.Tensor, repeats: int) -> dict | None:
    try:
        from transformers import MimiModel
    except ImportError:
        return None
    from ..weights.save import save_codec

    with tempfile.TemporaryDirectory() as d:
        save_codec(codec, d, fmt="hf")
        hf = MimiModel.from_pretrained(d).eval().to(codec.device)
    with torch.inference_mode():
        xd = x.to(codec.device)
        codes = hf.encode(xd).audio_codes
        _sync(codec.device)

        def enc():
            hf.encode(xd)
            _sync(codec.device)

        def dec():
            hf.decode(codes)
            _sync(codec.device)

        return {
            "encode_s": _best(enc, repeats),
            "decode_s": _best(dec, repeats),
            "version": __import__("transformers").__version__,
        }


def run_bench(
    weights: str,
    device: str,
    seconds: float,
    threads: int,
    frames: int,
    repeats: int,
    with_hf: bool,
) -> dict:
    from ..weights.load import load_codec

    torch.set_num_threads(threads)
    codec = load_codec(weights, device)
    x = _signal(seconds, codec.sample_rate)
    with torch.inference_mode():
        codes = codec.encode(x)  # warm-up

        def enc():
            codec.encode(x)
            _sync(codec.device)

        def dec():
            codec.decode(codes)
            _sync(codec.device)

        enc_s, dec_s = _best(enc, repeats), _best(dec, repeats)
    result = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "torch": torch.__version__,
            "threads": threads,
            "device": str(codec.device),
            "gpu": torch.cuda.get_device_name() if codec.device.type == "cuda" else None,
        },
        "model": codec.description,
        "audio_seconds": seconds,
        "batch": {
            "encode_s": enc_s,
            "decode_s": dec_s,
            "encode_x_realtime": seconds / enc_s,
            "decode_x_realtime": seconds / dec_s,
        },
        "streaming": [measure_streaming(codec, k, frames) for k in (8, codec.num_codebooks)],
    }
    hf = measure_hf(codec, x, repeats) if with_hf else None
    if hf:
        hf["encode_speedup"] = hf["encode_s"] / enc_s
        hf["decode_speedup"] = hf["decode_s"] / dec_s
        hf["encode_decode_speedup"] = (hf["encode_s"] + hf["decode_s"]) / (enc_s + dec_s)
    result["transformers"] = hf
    return result


def format_table(r: dict) -> str:
    m, b = r["machine"], r["batch"]
    lines = [
        f"model: {r['model']}   device: {m['device']} {m['gpu'] or ''}  torch {m['torch']}, "
        f"{m['threads']} threads",
        f"batch, {r['audio_seconds']:.0f} s of audio:",
        f"  encode  {b['encode_s']:7.3f} s   {b['encode_x_realtime']:6.1f}x real time",
        f"  decode  {b['decode_s']:7.3f} s   {b['decode_x_realtime']:6.1f}x real time (K=32)",
    ]
    hf = r.get("transformers")
    if hf:
        lines += [
            f"transformers {hf['version']} (same weights, same input):",
            f"  encode  {hf['encode_s']:7.3f} s   ours is {hf['encode_speedup']:.2f}x as fast",
            f"  decode  {hf['decode_s']:7.3f} s   ours is {hf['decode_speedup']:.2f}x as fast",
            f"  encode+decode: ours is {hf['encode_decode_speedup']:.2f}x as fast",
        ]
    lines.append("streaming, 1 frame (80 ms) per step, encode+decode:")
    for s in r["streaming"]:
        lines.append(
            f"  K={s['k']:2d}  median {s['total_ms_median']:6.1f} ms/frame "
            f"(enc {s['encode_ms_median']:.1f} + dec {s['decode_ms_median']:.1f}), "
            f"mean {s['total_ms_mean']:.1f}, p95 {s['total_ms_p95']:.1f}, "
            f"RTF {s['real_time_factor']:.2f}"
        )
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    r = run_bench(
        args.weights,
        args.device,
        args.seconds,
        args.threads,
        args.frames,
        args.repeats,
        not args.no_hf,
    )
    print(json.dumps(r, indent=2) if args.json else format_table(r))
    sys.stdout.flush()
    return 0
