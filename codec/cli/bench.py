"""`main.py bench`: speed of batch and streaming coding, with transformers as the reference,
and optionally Kyutai's moshi package as the streaming reference.

Everything is measured in the same run on the same input, so ratios are meaningful even on a
busy machine. These are measurements, not tests.

moshi is never a dependency: it is found as another Python interpreter (`--moshi-python`,
or the MIMI_BENCH_MOSHI_PYTHON environment variable) of an environment where it is
installed (`pip install --no-deps moshi` next to torch, numpy, safetensors and einops). That
interpreter runs this file as a script (`_moshi_worker` below, which imports only torch,
safetensors and moshi); the two sides take turns on blocks of frames of the same signal,
with the same weights, so load on the machine weighs on both.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

MOSHI_ENV = "MIMI_BENCH_MOSHI_PYTHON"
# the parts of one streaming step, in order (profile)
PARTS = (
    "seanet_encoder",
    "encoder_transformer",
    "downsample",
    "quantizer_encode",
    "quantizer_decode",
    "upsample",
    "decoder_transformer",
    "seanet_decoder",
)


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
    """Per-frame ms of streaming encode and decode (1 frame per step), K codebooks decoded;
    and, frame for frame in the same loop, the live loop's hop stream (hop_stream.py): the
    compute between a frame's last sample and its first decoded hop, and its total."""
    enc, dec = codec.stream_encoder(1), codec.stream_decoder(1)
    hops = codec.hop_stream()
    x = _signal((frames + warmup) * codec.frame_size / codec.sample_rate, codec.sample_rate)
    x = x.to(codec.device)
    fs = codec.frame_size
    t_enc, t_dec, h_first, h_total = [], [], [], []
    for i in range(frames + warmup):
        chunk = x[..., i * fs : (i + 1) * fs]
        t0 = time.perf_counter()
        codes = enc.step(chunk)
        _sync(codec.device)
        t1 = time.perf_counter()
        dec.step(codes[:, :k])
        _sync(codec.device)
        t2 = time.perf_counter()
        *early, last = chunk.split(hops.hop, dim=-1)
        for h in early:
            hops.encode(h, levels=k)
        t3 = time.perf_counter()
        pieces = hops.decode(hops.encode(last, levels=k))
        next(pieces)
        t4 = time.perf_counter()
        list(pieces)
        hops.all_codes()
        t5 = time.perf_counter()
        if i >= warmup:
            t_enc.append(1000 * (t1 - t0))
            t_dec.append(1000 * (t2 - t1))
            h_first.append(1000 * (t4 - t3))
            h_total.append(1000 * (t5 - t2))
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
        "hop_first_out_ms_median": statistics.median(h_first),
        "hop_total_ms_median": statistics.median(h_total),
    }


def _ours_parts(model, es, ds, chunk: torch.Tensor, k: int, device: torch.device) -> list:
    """One streaming step of ours, part by part: [ms per part in PARTS order], codes."""
    t = [time.perf_counter()]

    def tick(v):
        _sync(device)
        t.append(time.perf_counter())
        return v

    with torch.inference_mode():
        h = tick(model.encoder(chunk, es.seanet))
        h = tick(model.encoder_transformer(h, es.transformer))
        z = tick(model.downsample(h, es.downsample))
        codes = tick(model.quantizer.encode(z, model.cfg.n_q))
        q = tick(model.quantizer.decode(codes[:, :k]))
        h = tick(model.upsample(q, ds.upsample))
        h = tick(model.decoder_transformer(h, ds.transformer))
        tick(model.decoder(h, ds.seanet))
    return [1000 * (b - a) for a, b in itertools.pairwise(t)], codes


def _moshi_python(args: argparse.Namespace) -> str | None:
    return getattr(args, "moshi_python", None) or os.environ.get(MOSHI_ENV) or None


class MoshiRef:
    """moshi's Mimi streaming in another interpreter (see the module docstring).

    `steps(n, k, profile)` codes the next n frames of the shared signal there, one frame
    per step, and returns what that process timed (per-frame encode and decode ms, or ms
    per part) and its codes.
    """

    def __init__(self, python: str, workdir: str, threads: int) -> None:
        code = "import runpy, sys; p = sys.argv.pop(1); runpy.run_path(p, run_name='__main__')"
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        self.proc = subprocess.Popen(
            [python, "-c", code, __file__, "--moshi-worker", workdir, str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=workdir,
            env=env,
        )
        self.info = self._reply()

    def _reply(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read().strip().splitlines()
            raise RuntimeError("moshi worker failed: " + (err[-1] if err else "no output"))
        r = json.loads(line)
        if "error" in r:
            raise RuntimeError(f"moshi worker: {r['error']}")
        return r

    def steps(self, n: int, k: int, profile: bool = False) -> dict:
        self.proc.stdin.write(json.dumps({"n": n, "k": k, "profile": profile}) + "\n")
        self.proc.stdin.flush()
        return self._reply()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _moshi_worker(workdir: str, threads: int) -> None:
    """The moshi side (run by MoshiRef in moshi's interpreter): imports no part of codec/."""
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    sys.stdout = sys.stderr  # whatever moshi prints stays off the reply channel

    def send(obj: dict) -> None:
        reply.write(json.dumps(obj) + "\n")

    try:
        torch.set_num_threads(threads)
        import moshi
        from moshi.models.loaders import get_mimi
        from safetensors.torch import load_file

        d = Path(workdir)
        cfg = json.loads((d / "config.json").read_text())
        mimi = get_mimi(None, device="cpu", num_codebooks=int(cfg.get("n_q", 32)))
        mimi.load_state_dict(load_file(str(d / "model.safetensors")))
        x = torch.load(d / "signal.pt")
    except Exception as e:  # reported to the parent, which explains
        send({"error": f"{type(e).__name__}: {e}"})
        return
    send({"ready": True, "moshi": moshi.__version__, "torch": torch.__version__})
    fs, pos = mimi.frame_size, 0
    with torch.no_grad(), mimi.streaming(1):
        for line in sys.stdin:
            req = json.loads(line)
            enc_ms, dec_ms, parts, codes = [], [], [], []
            for _ in range(req["n"]):
                chunk = x[..., pos * fs : (pos + 1) * fs]
                pos += 1
                t = [time.perf_counter()]
                if req["profile"]:
                    h = mimi.encoder(chunk)
                    t.append(time.perf_counter())
                    (h,) = mimi.encoder_transformer(h)
                    t.append(time.perf_counter())
                    z = mimi._to_framerate(h)
                    t.append(time.perf_counter())
                    c = mimi.quantizer.encode(z)
                    t.append(time.perf_counter())
                    q = mimi.quantizer.decode(c[:, : req["k"]])
                    t.append(time.perf_counter())
                    h = mimi._to_encoder_framerate(q)
                    t.append(time.perf_counter())
                    (h,) = mimi.decoder_transformer(h)
                    t.append(time.perf_counter())
                    mimi.decoder(h)
                    t.append(time.perf_counter())
                    parts.append([1000 * (b - a) for a, b in itertools.pairwise(t)])
                else:
                    c = mimi.encode(chunk)
                    t.append(time.perf_counter())
                    mimi.decode(c[:, : req["k"]])
                    t.append(time.perf_counter())
                    enc_ms.append(1000 * (t[1] - t[0]))
                    dec_ms.append(1000 * (t[2] - t[1]))
                codes.append(c[0, :, 0].tolist())
            send({"enc_ms": enc_ms, "dec_ms": dec_ms, "parts": parts, "codes": codes})


def _summary(enc: list[float], dec: list[float]) -> dict:
    total = [a + b for a, b in zip(enc, dec, strict=True)]
    return {
        "encode_ms_median": statistics.median(enc),
        "decode_ms_median": statistics.median(dec),
        "total_ms_median": statistics.median(total),
        "total_ms_mean": statistics.fmean(total),
    }


def _part_medians(rows: list[list[float]]) -> dict:
    return {name: statistics.median(r[i] for r in rows) for i, name in enumerate(PARTS)}


def measure_vs_moshi(
    codec,
    python: str,
    frames: int,
    warmup: int = 130,
    block: int = 10,
    threads: int = 2,
    profile: bool = True,
) -> dict:
    """Streaming (1 frame per step, K = all codebooks), ours against moshi, interleaved.

    Both sides code the same signal with the same weights; they take turns on blocks of
    `block` frames (the order alternating), after `warmup` frames each (130: past the
    10 s attention window, where the caches are full). With `profile`, a second pass of
    the same length times each part of the step on both sides. Medians per frame; ratio
    = ours / moshi. Also the share of codes that agree between the two.
    """
    from ..model.config import CodecConfig
    from ..weights.save import save_codec

    if codec.config.to_dict() | {"name": "mimi"} != CodecConfig.mimi().to_dict():
        raise ValueError("the moshi reference needs the released Mimi configuration")
    k = codec.num_codebooks
    fs, sr = codec.frame_size, codec.sample_rate
    passes = 2 if profile else 1
    n_sig = passes * (warmup + frames) + block
    with tempfile.TemporaryDirectory() as d:
        save_codec(codec, d, fmt="native")
        (Path(d) / "config.json").write_text(json.dumps(codec.config.to_dict()))
        x = _signal(n_sig * fs / sr, sr)
        torch.save(x, Path(d) / "signal.pt")
        ref = MoshiRef(python, d, threads)
        try:
            return _interleave(codec, ref, x, k, frames, warmup, block, profile)
        finally:
            ref.close()


class _OursSide:
    """Our streaming codec stepped as MoshiRef steps moshi's: `steps(n, k, profile)` codes
    the next n frames of x [1, 1, T], one frame per step, and returns the same fields."""

    def __init__(self, codec, x: torch.Tensor) -> None:
        self.codec, self.x, self.pos = codec, x.to(codec.device), 0
        self.enc, self.dec = codec.stream_encoder(1), codec.stream_decoder(1)
        # the profile's part-by-part states, fresh where the profile starts
        self.states = codec.model.init_encoder_state(), codec.model.init_decoder_state()

    def steps(self, n: int, k: int, profile: bool = False) -> dict:
        fs, device = self.codec.frame_size, self.codec.device
        r: dict = {"enc_ms": [], "dec_ms": [], "parts": [], "codes": []}
        for _ in range(n):
            chunk = self.x[..., self.pos * fs : (self.pos + 1) * fs]
            self.pos += 1
            if profile:
                ms, codes = _ours_parts(self.codec.model, *self.states, chunk, k, device)
                r["parts"].append(ms)
            else:
                t0 = time.perf_counter()
                codes = self.enc.step(chunk)
                _sync(device)
                t1 = time.perf_counter()
                self.dec.step(codes[:, :k])
                _sync(device)
                r["enc_ms"].append(1000 * (t1 - t0))
                r["dec_ms"].append(1000 * (time.perf_counter() - t1))
            r["codes"].append(codes[0, :, 0].tolist())
        return r


def _alternate(sides, k: int, frames: int, warmup: int, block: int, profile: bool) -> list:
    """The sides code warmup + frames frames each, taking turns on blocks of `block` frames
    (who goes first alternating); returns what each side reported after its warm-up."""
    kept = [{"enc_ms": [], "dec_ms": [], "parts": [], "codes": []} for _ in sides]
    done, turn = 0, 0
    while done < warmup + frames:
        n = min(block, warmup + frames - done)
        order = range(len(sides)) if turn % 2 == 0 else reversed(range(len(sides)))
        for i in order:
            r = sides[i].steps(n, k, profile)
            if done >= warmup:
                for name, values in kept[i].items():
                    values += r[name]
        done, turn = done + n, turn + 1
    return kept


def _interleave(codec, ref: MoshiRef, x, k, frames, warmup, block, profile) -> dict:
    sides = (_OursSide(codec, x), ref)
    ours, theirs = _alternate(sides, k, frames, warmup, block, profile=False)
    a, b = torch.tensor(ours["codes"]), torch.tensor(theirs["codes"])
    out = {
        "moshi": ref.info["moshi"],
        "frames": frames,
        "warmup_frames": warmup,
        "block_frames": block,
        "k": k,
        "ours": _summary(ours["enc_ms"], ours["dec_ms"]),
        "moshi_side": _summary(theirs["enc_ms"], theirs["dec_ms"]),
        "codes_equal": float((a == b).float().mean()),
        "codebook0_equal": float((a[:, 0] == b[:, 0]).float().mean()),
    }
    out["ratio"] = out["ours"]["total_ms_median"] / out["moshi_side"]["total_ms_median"]
    if profile:
        # both sides carry on from where they are (moshi with its streaming state), ours
        # on its fresh part-by-part states at the same position
        ours, theirs = _alternate(sides, k, frames, warmup, block, profile=True)
        out["profile_ours"] = _part_medians(ours["parts"])
        out["profile_moshi"] = _part_medians(theirs["parts"])
    return out


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
    moshi_python: str | None = None,
    moshi_frames: int = 60,
    profile: bool = True,
) -> dict:
    """The whole bench as a dict; `moshi_python` adds the moshi reference (measure_vs_moshi),
    else `moshi` is None and `moshi_skipped` says why."""
    from ..weights.load import load_codec

    torch.set_num_threads(threads)
    load_before = _load()
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
            "cpu": _cpu_name(),
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
    result["moshi"] = None
    if moshi_python is None:
        result["moshi_skipped"] = (
            f"no moshi environment given (--moshi-python PYTHON or ${MOSHI_ENV})"
        )
    elif not Path(moshi_python).exists():
        result["moshi_skipped"] = f"{moshi_python} does not exist"
    else:
        try:
            result["moshi"] = measure_vs_moshi(
                codec, moshi_python, moshi_frames, threads=threads, profile=profile
            )
            result["moshi"]["load"] = _load()
        except (OSError, RuntimeError, ValueError) as e:
            result["moshi_skipped"] = f"{moshi_python}: {e}"
    result["machine"]["load_before"], result["machine"]["load_after"] = load_before, _load()
    return result


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def format_table(r: dict) -> str:
    m, b = r["machine"], r["batch"]
    lines = [
        f"model: {r['model']}   device: {m['device']} {m['gpu'] or ''}  torch {m['torch']}, "
        f"{m['threads']} threads",
        f"cpu: {m['cpu']}   load average (1, 5, 15 min) before {m['load_before']}, "
        f"after {m['load_after']}",
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
        first = s["hop_first_out_ms_median"]
        lines.append(
            f"        live hop stream: {first:.1f} ms from a frame's last sample to its first "
            f"decoded hop ({first / s['total_ms_median']:.2f}x the step), "
            f"{s['hop_total_ms_median']:.1f} ms/frame in all"
        )
    return "\n".join(lines)


def format_moshi(m: dict | None, reason: str = "") -> str:
    if m is None:
        return f"moshi reference: skipped ({reason})"
    o, t = m["ours"], m["moshi_side"]
    lines = [
        f"streaming against moshi {m['moshi']}, K={m['k']}, 1 frame per step, "
        f"{m['frames']} frames each after {m['warmup_frames']}, interleaved in blocks of "
        f"{m['block_frames']} (load {m.get('load', '?')}):",
        f"  ours   median {o['total_ms_median']:6.1f} ms/frame "
        f"(enc {o['encode_ms_median']:.1f} + dec {o['decode_ms_median']:.1f})",
        f"  moshi  median {t['total_ms_median']:6.1f} ms/frame "
        f"(enc {t['encode_ms_median']:.1f} + dec {t['decode_ms_median']:.1f})",
        f"  ratio ours / moshi: {m['ratio']:.2f}   codes equal to moshi's: "
        f"{100 * m['codes_equal']:.2f} % (codebook 0: {100 * m['codebook0_equal']:.1f} %)",
    ]
    if "profile_ours" in m:
        po, pm = m["profile_ours"], m["profile_moshi"]
        lines.append("  per part, median ms/frame:      ours    moshi")
        for name in PARTS:
            lines.append(f"    {name:22s} {po[name]:8.2f} {pm[name]:8.2f}")
        lines.append(f"    {'sum':22s} {sum(po.values()):8.2f} {sum(pm.values()):8.2f}")
    return "\n".join(lines)


def _load() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def main(args: argparse.Namespace) -> int:
    r = run_bench(
        args.weights,
        args.device,
        args.seconds,
        args.threads,
        args.frames,
        args.repeats,
        not args.no_hf,
        moshi_python=_moshi_python(args),
        moshi_frames=getattr(args, "moshi_frames", 60),
        profile=not getattr(args, "no_profile", False),
    )
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        print(format_table(r))
        print(format_moshi(r["moshi"], r.get("moshi_skipped", "")))
    sys.stdout.flush()
    return 0


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--moshi-worker":
    _moshi_worker(sys.argv[2], int(sys.argv[3]))
