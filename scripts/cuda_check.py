"""Check the codec's CUDA path against the CPU result, and time it.

    python scripts/cuda_check.py [--weights random:mimi] [--seconds 10]

Prints one JSON object: codes equal to the CPU's (%), decoded audio relative difference
to the CPU decode of the same codes, streaming-vs-batch on CUDA, and timings. Run where a
GPU is available (the device machine); CI never runs this.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codec import load_codec
from codec.audio import load_audio, resample
from codec.cli.bench import measure_streaming

DEVICE = "cuda"  # "cpu" only to try the script itself where there is no GPU


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp(min=1e-12))


def sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def timed(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def check(weights: str, seconds: float, tf32: bool) -> dict:
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    cpu = load_codec(weights, "cpu")
    gpu = load_codec(weights, "cpu").to(DEVICE)
    clip = load_audio(Path(__file__).resolve().parents[1] / "resources/samples/english_speech.flac")
    x = resample(clip.samples.mean(axis=0, keepdims=True), clip.sample_rate, 24_000)[0]
    x = torch.from_numpy(x[: int(seconds * 24_000)]).view(1, 1, -1)
    codes_cpu = cpu.encode(x)
    codes_gpu = gpu.encode(x.to(DEVICE)).cpu()
    y_cpu = cpu.decode(codes_cpu)
    y_gpu = gpu.decode(codes_cpu.to(DEVICE)).cpu()
    # streaming on CUDA, 1 frame per step, against CUDA batch
    enc, dec = gpu.stream_encoder(), gpu.stream_decoder()
    fs = gpu.frame_size
    xs = x.to(DEVICE)
    n_frames = codes_cpu.shape[-1]
    sc, sy = [], []
    for i in range(n_frames):
        chunk = xs[..., i * fs : (i + 1) * fs]
        if chunk.shape[-1] < fs:
            chunk = torch.nn.functional.pad(chunk, (0, fs - chunk.shape[-1]))
        c = enc.step(chunk)
        sc.append(c.cpu())
        sy.append(dec.step(codes_gpu[..., i : i + 1].to(DEVICE)).cpu())
    s_codes = torch.cat(sc, -1)[..., :n_frames]
    s_audio = torch.cat(sy, -1)
    y_gpu_own = gpu.decode(codes_gpu.to(DEVICE)).cpu()
    n = min(s_audio.shape[-1], y_gpu_own.shape[-1])
    xg = x.to(DEVICE)
    return {
        "tf32": tf32,
        "codes_equal_vs_cpu_pct": 100 * float((codes_gpu == codes_cpu).float().mean()),
        "codebook0_equal_vs_cpu_pct": 100
        * float((codes_gpu[:, 0] == codes_cpu[:, 0]).float().mean()),
        "audio_rel_diff_vs_cpu": rel(y_gpu, y_cpu),
        "stream_codes_equal_vs_batch_pct": 100
        * float((s_codes[..., : n_frames - 1] == codes_gpu[..., : n_frames - 1]).float().mean()),
        "stream_audio_rel_diff_vs_batch": rel(s_audio[..., :n], y_gpu_own[..., :n]),
        "seconds": x.shape[-1] / 24_000,
        "gpu_encode_s": timed(lambda: gpu.encode(xg)),
        "gpu_decode_s": timed(lambda: gpu.decode(codes_gpu.to(DEVICE))),
        "gpu_streaming": measure_streaming(gpu, 32, 50),
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--weights", default="random:mimi")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--device", default="cuda")
    args = p.parse_args()
    global DEVICE
    DEVICE = args.device
    name = torch.cuda.get_device_name(0) if DEVICE == "cuda" else "cpu"
    print(json.dumps({"device": name, "torch": torch.__version__}))
    for tf32 in (False, True):
        print(json.dumps(check(args.weights, args.seconds, tf32)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
