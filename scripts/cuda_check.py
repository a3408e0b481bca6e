"""Check the codec's CUDA path against the CPU result, and time it.

    python scripts/cuda_check.py [--weights random:mimi] [--seconds 10]

Prints JSON objects: codes equal to the CPU's (%), decoded audio relative difference
to the CPU decode of the same codes, streaming-vs-batch on CUDA, and timings; then the
fixed-shape streaming step replayed as a CUDA graph (codec/model/fixed_step.py) against the
CPU's usual streaming step, with its per-frame time. Run where a GPU is available (the
device machine); CI never runs this. Its figures are only what a run printed: none is
claimed anywhere until a GPU run has produced it.
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


def check_graph(weights: str, frames: int = 150) -> dict:
    """Streaming, 1 frame per step, K = 32: the CUDA-graph step (eager fixed-shape step on
    a CPU-only trial) against the CPU's usual step on the same audio."""
    cpu = load_codec(weights, "cpu")
    gpu = load_codec(weights, "cpu").to(DEVICE)
    clip = load_audio(Path(__file__).resolve().parents[1] / "resources/samples/english_speech.flac")
    x = resample(clip.samples.mean(axis=0, keepdims=True), clip.sample_rate, 24_000)[0]
    x = torch.from_numpy(x).view(1, 1, -1)
    fs = cpu.frame_size
    frames = min(frames, x.shape[-1] // fs)
    x = x[..., : frames * fs]
    graph = DEVICE == "cuda"
    ref_enc, ref_dec = cpu.stream_encoder(), cpu.stream_decoder()
    enc = gpu.stream_encoder(fixed_frames=1, cuda_graph=graph)
    dec = gpu.stream_decoder(fixed_frames=1, cuda_graph=graph)
    rc, ry, gc, gy, ms = [], [], [], [], []
    xg = x.to(DEVICE)
    for i in range(frames):
        c = ref_enc.step(x[..., i * fs : (i + 1) * fs])
        rc.append(c)
        ry.append(ref_dec.step(c))
        sync()
        t0 = time.perf_counter()
        g = enc.step(xg[..., i * fs : (i + 1) * fs])
        y = dec.step(c.to(DEVICE))  # the CPU's codes: the decoders see the same input
        sync()
        ms.append(1000 * (time.perf_counter() - t0))
        gc.append(g.cpu())
        gy.append(y.cpu())
    rc_, gc_ = torch.cat(rc, -1), torch.cat(gc, -1)
    warm = sorted(ms[10:]) or ms
    return {
        "step": "cuda graph" if graph else "fixed-shape, eager",
        "frames": frames,
        "codes_equal_vs_cpu_streaming_pct": 100 * float((gc_ == rc_).float().mean()),
        "codebook0_equal_vs_cpu_streaming_pct": 100
        * float((gc_[:, 0] == rc_[:, 0]).float().mean()),
        "audio_rel_diff_vs_cpu_streaming": rel(torch.cat(gy, -1), torch.cat(ry, -1)),
        "ms_per_frame_median": warm[len(warm) // 2],
        "usual_step_on_device": measure_streaming(gpu, 32, 50),
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
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    print(json.dumps(check_graph(args.weights)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
