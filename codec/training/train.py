"""Train the bundled demo codec: `python main.py train-demo [--steps N] [--work DIR]`.

Phases (in steps): the plain autoencoder first (quantizer bypassed) until speech is
intelligible, then k-means initialisation of every codebook on encoder outputs, then
quantized training with quantizer dropout (each item decodes a random prefix of K
codebooks, so every prefix decodes well) and quantization on half of the items, as Mimi
was trained. Codebooks are EMA k-means (Mimi's storage: embedding_sum / cluster_usage),
with dead entries re-seeded from the batch. Losses: multi-scale log-mel L1 + waveform L1
+ commitment. Checkpoints (model, optimizer, step, RNG) make it resumable.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..analysis.dsp import mel_bank
from ..model.config import CodecConfig
from ..model.mimi import MimiModel
from ..weights.load import DEMO_DIR
from ..weights.save import save_codec
from .data import SR, Batches, BatchStream, build_speech_corpus, save_recipe

DEFAULTS = dict(
    steps=20_000,
    ae_steps=4_000,
    batch=6,
    crop_s=1.0,
    lr=1e-3,
    seed=1234,
    ema=0.99,
    w_mel=1.0,
    w_sc=0.0,
    w_wave=0.1,
    w_commit=0.1,
    w_latent=1.0,
    quant_prob=0.5,
)
CALIBRATION_STEPS = 50  # quantized steps at the base rate before the cosine decay starts
KMEANS_BATCHES = 1_000_000_000  # batch indices for k-means, never used for training
PROBE_BATCH = 2_000_000_000  # a fixed batch for the per-K progress probe


class MelLoss:
    """Multi-resolution mel losses (n_fft 512/1024/2048, hop n_fft/4).

    Calling it gives the log-mel L1. `both` also gives the mel spectral convergence,
    ||M(x) - M(y)||_F / ||M(x)||_F per item: a linear-magnitude term that weighs the loud
    parts of the signal, which carry intelligibility, more than the log term does.
    """

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self.scales = [
            (n, torch.as_tensor(mel_bank(n, m)).to(device), torch.hann_window(n, device=device))
            for n, m in ((512, 64), (1024, 80), (2048, 128))
        ]

    def __call__(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.both(y, x)[0]

    def both(self, y: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(log-mel L1, mel spectral convergence), each averaged over the scales."""
        log_l1 = sc = y.new_zeros(())
        for n, fb, win in self.scales:

            def mel(s, n=n, fb=fb, win=win):
                spec = torch.stft(s.flatten(0, 1), n, n // 4, window=win, return_complex=True)
                return fb @ spec.abs().clamp(min=1e-7)

            my, mx = mel(y), mel(x)
            log_l1 = log_l1 + (torch.log(my + 1e-5) - torch.log(mx + 1e-5)).abs().mean()
            num = torch.linalg.vector_norm(my - mx, dim=(-2, -1))
            sc = sc + (num / torch.linalg.vector_norm(mx, dim=(-2, -1)).clamp(min=1e-5)).mean()
        return log_l1 / len(self.scales), sc / len(self.scales)


@torch.no_grad()
def init_for_training(model: MimiModel) -> None:
    """He-normal convs with zero biases; residual branches and the output conv start small.

    With PyTorch's default init the signal shrinks through the ~30 conv layers and the
    decoder's output hardly depends on its input (measured: 0.4 % of the output changed
    when the latent was replaced by noise), which stalls training at an average spectrum.
    Here it changes fully, and the output starts near the input's level.
    """
    from torch import nn

    from ..model.modules.seanet import ResBlock

    for m in model.modules():
        if isinstance(m, nn.ConvTranspose1d):
            fan_in = m.weight.shape[0] // m.groups * 2  # k = 2 stride: 2 taps per output
        elif isinstance(m, nn.Conv1d):
            fan_in = m.weight.shape[1] * m.weight.shape[2]
        else:
            continue
        nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_in))
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    for m in model.modules():
        if isinstance(m, ResBlock):
            m.block[3].conv.conv.weight.mul_(0.1)
    model.decoder.model[-1].conv.conv.weight.mul_(0.1)


def quantize_train(
    model: MimiModel, z: torch.Tensor, ks: torch.Tensor, ema: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Straight-through split RVQ with a K-prefix per item. z [B, D, F], ks [B] in 1..n_q.

    Returns (quantized latent [B, D, F], commitment loss). Updates the codebooks (EMA).
    """
    q = model.quantizer
    b, _, f = z.shape
    out = z.new_zeros(z.shape)
    commit = z.new_zeros(())
    for group, first_level, n_levels in (
        (q.rvq_first, 0, q.n_sem),
        (q.rvq_rest, q.n_sem, q.n_q - q.n_sem),
    ):
        r = group.input_proj(z).transpose(1, 2).reshape(b * f, -1)  # [B*F, d]
        acc = torch.zeros_like(r)
        levels = torch.arange(n_levels, device=z.device)
        used = (ks[:, None] > first_level + levels[None]).float()  # [B, L]
        for lvl in range(n_levels):
            cb = group.vq.layers[lvl]._codebook
            table = cb.embeddings()
            with torch.no_grad():
                d = (
                    (r.detach() ** 2).sum(1, keepdim=True)
                    - 2 * r.detach() @ table.t()
                    + (table**2).sum(1)[None]
                )
                idx = d.argmin(1)
                e = table[idx]
                _ema_update(cb, r.detach(), idx, ema)
            mask = used[:, lvl].repeat_interleave(f)[:, None]  # [B*F, 1]
            # no float()/item() here: on a GPU each would stall the step (32 per step)
            commit = commit + (((r - e) ** 2).mean(1, keepdim=True) * mask).sum() / (
                mask.sum().clamp(min=1.0)
            )
            acc = acc + mask * (r + (e - r).detach())  # straight-through
            r = r - e  # the next level codes what is left (no gradient through e)
        out = out + group.output_proj(acc.view(b, f, -1).transpose(1, 2))
    return out, commit


@torch.no_grad()
def _ema_update(cb, r: torch.Tensor, idx: torch.Tensor, decay: float) -> None:
    size = cb.cluster_usage.shape[0]
    # index_add_ rather than bincount, which waits for the GPU to size its output
    counts = torch.zeros(size, device=r.device).index_add_(
        0, idx, torch.ones_like(idx, dtype=r.dtype)
    )
    sums = torch.zeros_like(cb.embedding_sum).index_add_(0, idx, r)
    cb.cluster_usage.mul_(decay).add_(counts, alpha=1 - decay)
    cb.embedding_sum.mul_(decay).add_(sums, alpha=1 - decay)


@torch.no_grad()
def reseed_dead(model: MimiModel, z: torch.Tensor, threshold: float = 0.05) -> int:
    """Entries used less than `threshold` (EMA count) get a residual vector from the batch."""
    q = model.quantizer
    n = 0
    for group in (q.rvq_first, q.rvq_rest):
        r = group.input_proj(z).transpose(1, 2).reshape(-1, group.input_proj.out_channels)
        for holder in group.vq.layers:
            cb = holder._codebook
            dead = cb.cluster_usage < threshold
            k = int(dead.sum())
            if k:
                pick = r[torch.randint(0, len(r), (k,), device=r.device)]
                cb.embedding_sum[dead] = pick
                cb.cluster_usage[dead] = 1.0
                n += k
            table = cb.embeddings()
            r = r - table[(torch.cdist(r, table)).argmin(1)]
    return n


@torch.no_grad()
def kmeans_init(model: MimiModel, batches: Batches, n_batches: int = 40, iters: int = 12) -> None:
    """Initialise every codebook with k-means on encoder outputs (residuals for levels > 0)."""
    dev = next(model.parameters()).device
    zs = torch.cat(
        [
            model.encode_latent(torch.from_numpy(batches.make(KMEANS_BATCHES + i)).to(dev))
            for i in range(n_batches)
        ],
        0,
    )
    q = model.quantizer
    for group in (q.rvq_first, q.rvq_rest):
        r = group.input_proj(zs).transpose(1, 2).reshape(-1, group.input_proj.out_channels)
        for holder in group.vq.layers:
            cb = holder._codebook
            size = cb.cluster_usage.shape[0]
            cent = r[torch.randperm(len(r), device=r.device)[:size]].clone()
            if len(cent) < size:
                cent = torch.cat(
                    [
                        cent,
                        cent[torch.randint(0, len(cent), (size - len(cent),))]
                        + 1e-3 * torch.randn(size - len(cent), r.shape[1], device=r.device),
                    ]
                )
            for _ in range(iters):
                idx = torch.cdist(r, cent).argmin(1)
                counts = torch.bincount(idx, minlength=size).float()
                sums = torch.zeros_like(cent).index_add_(0, idx, r)
                alive = counts > 0
                cent[alive] = sums[alive] / counts[alive, None]
            cb.embedding_sum.copy_(cent)
            cb.cluster_usage.fill_(1.0)
            cb._initialized.fill_(1.0)
            r = r - cent[torch.cdist(r, cent).argmin(1)]
        # start each output projection as half the inverse of its input projection, so
        # that semantic + acoustic outputs together begin near the latent they code
        w_in = group.input_proj.weight[:, :, 0]  # [d, D]
        group.output_proj.weight.copy_(0.5 * torch.linalg.pinv(w_in)[:, :, None])
    q.refresh()


def save_checkpoint(path: Path, model, opt, step: int, schedule: dict, log: list) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": model.state_dict(),
            "opt": opt.state_dict(),
            "step": step,
            "schedule": schedule,
            "config": model.cfg.to_dict(),
            "log": log,
        },
        tmp,
    )
    os.replace(tmp, path)


def export(model: MimiModel, out: Path, info: dict) -> None:
    model.eval()
    model.to("cpu")
    save_codec(model, out)
    save_recipe(out / "recipe.json", info)


def learning_rate(step: int, base: float, schedule: dict) -> float:
    """Warm-up, constant through the autoencoder phase and calibration, then cosine to 10 %."""
    lr = base * min(1.0, (step + 1 - schedule.get("warm_from", 0)) / 500)
    decay_from = schedule["ae_steps"] + CALIBRATION_STEPS
    if step >= decay_from:
        span = max(schedule["steps"] - decay_from, 1)
        p = min((step - decay_from) / span, 1.0)
        lr *= 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p))
    return lr


@torch.no_grad()
def probe(model: MimiModel, x: torch.Tensor, mel: MelLoss, n_q: int) -> dict:
    """Mel loss of the plain autoencoder and of the real quantizer at K = 1, 4 and all."""
    model.quantizer.refresh()
    out = {"probe_ae": round(mel(model.decode_latent(model.encode_latent(x)), x).item(), 4)}
    codes = model.encode(x)
    for k in (1, 4, n_q):
        out[f"probe_k{k}"] = round(mel(model.decode(codes[:, :k]), x).item(), 4)
    return out


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(name)
    if dev.type == "cuda":
        # training only: TF32 and autotuned convolutions (inference keeps full fp32)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    return dev


def train(args: argparse.Namespace) -> int:
    cfg = CodecConfig.demo()
    work = Path(args.work).expanduser()
    work.mkdir(parents=True, exist_ok=True)
    dev = pick_device(args.device)
    print(f"training on {dev}", file=sys.stderr, flush=True)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    print(f"building the speech corpus in {work} ...", file=sys.stderr, flush=True)
    corpus = build_speech_corpus(work, n=args.utterances, seed=args.seed)
    print(f"corpus: {len(corpus) / SR / 60:.1f} min of speech", file=sys.stderr, flush=True)
    crop = max(1, round(args.crop_s * SR / cfg.frame_size)) * cfg.frame_size  # whole frames
    batches = Batches(corpus, crop, args.batch, args.seed)
    model = MimiModel(cfg)
    init_for_training(model)
    ckpt = work / "checkpoint.pt"
    step, log, opt_state = 0, [], None
    schedule = {
        "steps": DEFAULTS["steps"] if args.steps is None else args.steps,
        "ae_steps": DEFAULTS["ae_steps"] if args.ae_steps is None else args.ae_steps,
    }
    if ckpt.is_file() and not args.restart:
        # our own checkpoint, written by this command (trusted; never a user's file)
        state = torch.load(ckpt, weights_only=False, map_location="cpu")
        if state.get("config") != cfg.to_dict():
            raise SystemExit(f"{ckpt} was made with another demo config; use --restart")
        model.load_state_dict(state["model"])
        step, log, opt_state = state["step"], state["log"], state.get("opt")
        saved = state.get("schedule", {})
        # a resumed run keeps its schedule unless --steps / --ae-steps are given again
        for key, value in (("steps", args.steps), ("ae_steps", args.ae_steps)):
            if value is None and key in saved:
                schedule[key] = saved[key]
        schedule["devices"] = saved.get("devices", [])
        schedule["warm_from"] = saved.get("warm_from", 0)
        schedule["train_args"] = saved.get("train_args", [])
        if opt_state is None:  # weights only (no optimizer moments): warm up again
            schedule["warm_from"] = step
            print("no optimizer state: warming up again", file=sys.stderr, flush=True)
        print(f"resumed at step {step} of {schedule['steps']}", file=sys.stderr, flush=True)
    workers = args.workers
    if workers < 0:  # auto: on a GPU the batches must be made in parallel to keep up
        workers = min(8, (os.cpu_count() or 2) - 2) if dev.type == "cuda" else 0
    # the data processes fork before CUDA is initialised in this one
    stream = BatchStream(batches, step, workers)
    model.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.8, 0.99), weight_decay=1e-4)
    if opt_state is not None:
        opt.load_state_dict(opt_state)
    budget = args.time_budget
    mel = MelLoss(dev)
    x_probe = torch.from_numpy(batches.make(PROBE_BATCH)).to(dev)
    here = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform_name()
    if step < schedule["steps"]:  # this run trains: record where and with what
        if here not in schedule.setdefault("devices", []):
            schedule["devices"].append(here)
        schedule.setdefault("train_args", []).append(
            {"from_step": step, **{k: getattr(args, k) for k in DEFAULTS if k != "steps"}}
        )
    t_start, t_last = time.time(), time.time()
    elapsed0 = log[-1]["elapsed_s"] if log else 0.0
    t_calib, t_saved = None, time.time()
    stop: list[int] = []
    # `timeout` and the device machine end a run with SIGTERM: finish the step, save, export
    old_handler = signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))
    model.train()
    try:
        while step < schedule["steps"] and not stop:
            elapsed = time.time() - t_start  # this run's time: the budget is per run
            if budget and step < schedule["ae_steps"] and elapsed >= args.ae_share * budget:
                schedule["ae_steps"] = step  # time budget: end the autoencoder phase now
            if step == schedule["ae_steps"]:
                print("k-means initialisation of the codebooks", file=sys.stderr, flush=True)
                model.eval()
                kmeans_init(model, batches)
                model.train()
                t_calib = time.time()
            if budget and t_calib and step == schedule["ae_steps"] + CALIBRATION_STEPS:
                per_step = (time.time() - t_calib) / CALIBRATION_STEPS
                left = budget - (time.time() - t_start)
                schedule["steps"] = step + max(int(left / per_step), 0)
                print(f"time budget: {schedule}", file=sys.stderr, flush=True)
                if step >= schedule["steps"]:
                    break
            batch = stream.next(lambda: bool(stop))
            if batch is None:
                break
            x = torch.from_numpy(batch).to(dev, non_blocking=True)
            lr = learning_rate(step, args.lr, schedule)
            for g in opt.param_groups:
                g["lr"] = lr
            z = model.encode_latent(x)
            commit = latent = z.new_zeros(())
            if step >= schedule["ae_steps"]:
                rng = np.random.default_rng([args.seed, step, 1])
                ks = torch.from_numpy(rng.integers(1, cfg.n_q + 1, size=x.shape[0])).to(dev)
                zq, commit = quantize_train(model, z, ks, args.ema)
                # the quantized latent must stand in for z in the same decoder: without
                # this the projections drifted (decoded latent 6x off) and every K sounded
                # the same
                zd = z.detach()
                latent = ((zq - zd) ** 2).mean() / (zd**2).mean().clamp(min=1e-8)
                keep = torch.from_numpy(rng.random(x.shape[0]) < args.quant_prob).float()
                keep = keep.to(dev)[:, None, None]
                z = keep * zq + (1 - keep) * z
            y = model.decode_latent(z)
            l_mel, l_sc = mel.both(y, x)
            l_wave = (y - x).abs().mean()
            loss = (
                args.w_mel * l_mel
                + args.w_sc * l_sc
                + args.w_wave * l_wave
                + args.w_commit * commit
                + args.w_latent * latent
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            if step > schedule["ae_steps"] and step % 100 == 0:
                reseed_dead(model, model.encode_latent(x).detach())
            if step % args.log_every == 0:
                now = time.time()
                rec = {
                    "step": step,
                    "elapsed_s": round(elapsed0 + now - t_start, 1),
                    "s_per_step": round((now - t_last) / args.log_every, 3),
                    "lr": lr,
                    "mel": round(l_mel.item(), 4),
                    "sc": round(l_sc.item(), 4),
                    "wave": round(l_wave.item(), 5),
                    "commit": round(commit.item(), 5),
                    "latent": round(latent.item(), 5),
                }
                if step > schedule["ae_steps"] and step % args.probe_every == 0:
                    model.eval()
                    rec.update(probe(model, x_probe, mel, cfg.n_q))
                    model.train()
                t_last = time.time()
                log.append(rec)
                print(json.dumps(rec), flush=True)
            if step % args.ckpt_every == 0 or time.time() - t_saved > 120:
                save_checkpoint(ckpt, model, opt, step, schedule, log)
                t_saved = time.time()
    finally:
        stream.close()
        signal.signal(signal.SIGTERM, old_handler)
    if stop:
        print(f"stopped by signal at step {step}", file=sys.stderr, flush=True)
    save_checkpoint(ckpt, model, opt, step, schedule, log)
    model.eval()
    final_probe = probe(model, x_probe, mel, cfg.n_q) if step > schedule["ae_steps"] else {}
    info = {
        "config": cfg.to_dict(),
        "seed": args.seed,
        "steps": step,
        "schedule": schedule,
        "train_args": schedule.get("train_args", []),  # one entry per run that trained
        "trained_on": schedule.get("devices", []),
        "utterances": args.utterances,
        "elapsed_s": log[-1]["elapsed_s"] if log else 0,
        "final_probe": final_probe,
        "log_tail": log[-5:],
    }
    (work / "train_log.json").write_text(json.dumps(log))
    export(model, Path(args.out), info)
    print(f"exported the demo codec to {args.out}", file=sys.stderr)
    return 0


def platform_name() -> str:
    import platform

    return f"{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores"


def add_arguments(p: argparse.ArgumentParser) -> None:
    for k, v in DEFAULTS.items():
        # steps: None means the checkpoint's schedule when resuming, else the default
        default = None if k in ("steps", "ae_steps") else v
        p.add_argument(f"--{k.replace('_', '-')}", type=type(v), default=default)
    p.add_argument(
        "--work",
        default="~/.cache/mimi-explorer/train-demo",
        help="data and checkpoints (kept out of git)",
    )
    p.add_argument("--out", default=str(DEMO_DIR), help="where the final weights go")
    p.add_argument("--utterances", type=int, default=700)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=-1, help="data processes (-1: auto)")
    p.add_argument(
        "--time-budget",
        type=float,
        default=0.0,
        help="seconds for this run: end the autoencoder phase at --ae-share of it, then fit the "
        "quantized phase's step count to what is left (0: use --steps/--ae-steps)",
    )
    p.add_argument("--ae-share", type=float, default=0.25)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--probe-every", type=int, default=500)
    p.add_argument("--ckpt-every", type=int, default=500)
    p.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
