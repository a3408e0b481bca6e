"""The distillation's latent stage: codebook 0 learns the phonemes while the SEANet
convolutions (encoder and decoder) keep their weights, trained on cached features.

Why a stage of its own: on this project's 2-core CPU one step of the full trainer (batch
16, 1 s crops) takes 3 s when the cores are free and 10-40 s when others use them, nearly
all of it in the SEANet convolutions at 24 kHz. What must change for codebook 0 to carry
phonemes across voices is smaller: the encoder transformer and downsampling (which run at
25 and 12.5 Hz) and the quantizer. So the SEANet encoder's output h of a fixed set of
training batches (speech, music, augmentation: the trainer's own batches) is computed
once and cached, and the stage trains on it:

* the encoder transformer + downsampling make the latent z from h, the split quantizer
  quantizes it (quantizer dropout: a random K per item, as the trainer does);
* `latent`: the quantized latent must stand in for the *starting* weights' unquantized
  latent z_ref of the same crop, relative squared error. The decoder, untouched, was
  trained to decode z_ref (and quantizations of it), so what it hears stays what it knows;
* `ce` and `center` (distill.py) on codebook 0, and the commitment term.

The latent MSE is only a proxy for what the decoder makes of it; the held-out STOI and
log-mel table (eval-demo) is the judge, and the full trainer can follow to tune the
decoder to the new quantizer (train.py).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..model.mimi import MimiModel
from .codebooks import quantize_train, reseed_dead
from .data import Batches
from .distill import SemanticHead

FEATURE_BATCHES = 1_750_000_000  # batch indices of the cached features, never trained on


@dataclass(frozen=True, eq=False)
class Features:
    """Cached training material: SEANet outputs h [N, C, 2F] (25 Hz), the starting
    weights' latents z_ref [N, D, F] (12.5 Hz) and frame labels [N, F] (MUSIC for music),
    for N crops."""

    h: torch.Tensor
    z_ref: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return self.h.shape[0]


@torch.no_grad()
def make_features(model: MimiModel, batches: Batches, n_batches: int, log=print) -> Features:
    """Run the SEANet encoder (and the rest of the starting encoder, for z_ref) over the
    trainer's batches FEATURE_BATCHES.. (n_batches of them)."""
    model.eval()
    hs, zs, ys = [], [], []
    t0 = time.time()
    for i in range(n_batches):
        x, y = batches.make_labelled(FEATURE_BATCHES + i)
        h = model.encoder(torch.from_numpy(x))
        z = model.downsample(model.encoder_transformer(h))
        hs.append(h.half())
        zs.append(z)
        ys.append(torch.from_numpy(y[:, : z.shape[2]]))
        if (i + 1) % 10 == 0:
            log(f"features: {i + 1}/{n_batches} batches ({time.time() - t0:.0f} s)")
    return Features(torch.cat(hs), torch.cat(zs), torch.cat(ys))


def load_or_make_features(
    path: Path, model: MimiModel, batches: Batches, n_batches: int, log=print
) -> Features:
    """The cached features in `path` (made from the same weights and batches), else made."""
    key = {
        "n_batches": n_batches,
        "crop": batches.crop,
        "batch": batches.batch,
        "seed": batches.seed,
        "weights": weights_key(model),
    }
    if path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=True)
        if json.loads(state["key"]) == key:
            return Features(state["h"], state["z_ref"], state["labels"])
    f = make_features(model, batches, n_batches, log)
    tmp = path.with_suffix(".tmp")
    torch.save({"key": json.dumps(key), "h": f.h, "z_ref": f.z_ref, "labels": f.labels}, tmp)
    tmp.replace(path)
    return f


def weights_key(model: MimiModel) -> str:
    """A short fingerprint of the encoder's weights (the features depend on them)."""
    with torch.no_grad():
        total = sum(float(p.double().abs().sum()) for p in model.encoder.parameters())
        tr = sum(float(p.double().abs().sum()) for p in model.encoder_transformer.parameters())
    return f"{total:.6e}/{tr:.6e}"


def stage_parameters(model: MimiModel) -> list[torch.nn.Parameter]:
    """What the stage trains: the encoder transformer, the downsampling, the quantizer's
    projections (its codebooks follow by EMA). Everything else is frozen."""
    return [
        *model.encoder_transformer.parameters(),
        *model.downsample.parameters(),
        *model.quantizer.parameters(),
    ]


def stage_losses(
    model: MimiModel,
    head: SemanticHead,
    feats: Features,
    index: torch.Tensor,
    ks: torch.Tensor,
    ema: float,
) -> dict[str, torch.Tensor]:
    """The stage's loss parts for crops `index` [B] at prefixes ks [B] (1..n_q)."""
    h = feats.h[index].float()
    z = model.downsample(model.encoder_transformer(h))
    z_ref = feats.z_ref[index]
    zq, commit, (r0, e0) = quantize_train(model, z, ks, ema)
    latent = ((zq - z_ref) ** 2).mean() / (z_ref**2).mean().clamp(min=1e-8)
    d = head.losses(e0, r0, feats.labels[index].reshape(-1))
    return {"latent": latent, "commit": commit, **d}


def per_k_latent_error(model: MimiModel, feats: Features, ks=(1, 2, 4, 8, 16, 32)) -> dict:
    """Relative squared error of the real quantizer's K-prefix decode against z_ref, on
    the first 64 crops: the stage's view of the quality at each K."""
    model.eval()
    model.quantizer.refresh()
    with torch.no_grad():
        idx = torch.arange(min(64, len(feats)))
        z = model.downsample(model.encoder_transformer(feats.h[idx].float()))
        codes = model.quantizer.encode(z)
        ref = feats.z_ref[idx]
        out = {}
        for k in ks:
            zq = model.quantizer.decode(codes[:, :k])
            out[f"lat_k{k}"] = round(float(((zq - ref) ** 2).mean() / (ref**2).mean()), 4)
    model.train()
    return out


def pick(
    rng: np.random.Generator, n: int, batch: int, n_q: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random crops [batch] of n, and a random prefix K [batch] in 1..n_q for each."""
    return (
        torch.from_numpy(rng.integers(0, n, batch)),
        torch.from_numpy(rng.integers(1, n_q + 1, batch)),
    )


# ---- the stage in a train-demo run -----------------------------------------------------------


def reference_state(model: MimiModel) -> dict[str, torch.Tensor]:
    """The starting weights' encoder transformer and downsampling (what z_ref comes from),
    kept in the checkpoint so that a resumed stage can remake its features."""
    sd = model.state_dict()
    keep = ("encoder_transformer.", "downsample.")
    return {k: v.detach().clone() for k, v in sd.items() if k.startswith(keep)}


@torch.no_grad()
def features_for(run, log) -> Features:
    """The stage's features: cached in the work folder, made from the SEANet encoder and
    the reference state (the starting weights' encoder transformer and downsampling)."""
    import copy

    ref = copy.deepcopy(run.model).cpu()
    ref.load_state_dict({**ref.state_dict(), **run.stage["reference"]})
    path = run.work / "latent_features.pt"
    return load_or_make_features(path, ref, run.batches, run.args.feature_batches, log)


def stage_rate(i: int, base: float, total: int, warmup: int = 100) -> float:
    """Warm-up, then cosine to 10 % over the stage's `total` steps."""
    p = min(i / max(total, 1), 1.0)
    return base * min(1.0, (i + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * p)))


def _stage_setup(run, say) -> tuple[Features, list, torch.optim.Optimizer]:
    """Features, the trained parameters (the rest frozen) and their optimizer."""
    from .distill import semantic_init_from

    st = run.stage
    if "reference" not in st:
        st["reference"] = reference_state(run.model)
    feats = features_for(run, say)
    if run.args.sem_init and "sem_init" not in run.schedule:
        z = feats.z_ref.transpose(1, 2).reshape(-1, feats.z_ref.shape[1])
        measured = semantic_init_from(run.model, z, feats.labels.reshape(-1))
        run.schedule["sem_init"] = {"step": run.step, "from": "latent features", **measured}
        say(f"semantic init: {measured}")
    params = stage_parameters(run.model)
    for p in run.model.parameters():
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=run.args.latent_lr, betas=(0.8, 0.99), weight_decay=1e-4)
    if "opt" in st:
        opt.load_state_dict(st["opt"])
    return feats, params, opt


def run_latent_stage(run, say=print) -> None:
    """--latent-steps: train the latent stage to that many steps (resumable: the stage's
    step, optimizer and reference weights are in the checkpoint; a stop signal saves)."""
    from .train import save_checkpoint

    args, sched = run.args, run.schedule
    info = sched.setdefault("latent_stage", {"steps": 0})
    info.update(target=args.latent_steps, batch=args.latent_batch, lr=args.latent_lr)
    if info["steps"] >= args.latent_steps:
        return
    feats, params, opt = _stage_setup(run, say)
    info["crops"] = len(feats)
    rng = np.random.default_rng([args.seed, 7, info["steps"]])
    t_start = t_saved = time.time()
    elapsed0 = run.log[-1]["elapsed_s"] if run.log else 0.0
    run.model.train()
    while info["steps"] < args.latent_steps and not run.stop:
        i = info["steps"]
        for g in opt.param_groups:
            g["lr"] = stage_rate(i, args.latent_lr, args.latent_steps)
        idx, ks = pick(rng, len(feats), args.latent_batch, run.cfg.n_q)
        d = stage_losses(run.model, run.head, feats, idx, ks, args.ema)
        loss = d["latent"] + args.w_commit * d["commit"]
        loss = loss + args.w_phone * d["ce"] + args.w_center * d["center"]
        opt.zero_grad(set_to_none=True)
        run.head_opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        run.head_opt.step()
        info["steps"] = i + 1
        if info["steps"] % 100 == 0:
            with torch.no_grad():
                z = run.model.downsample(run.model.encoder_transformer(feats.h[idx].float()))
            reseed_dead(run.model, z)
        if info["steps"] % args.log_every == 0:
            probe_now = info["steps"] % args.probe_every == 0 or info["steps"] == args.latent_steps
            extra = per_k_latent_error(run.model, feats) if probe_now else {}
            log_stage_step(
                run, "latent_step", info["steps"], elapsed0 + time.time() - t_start, d, extra
            )
        if info["steps"] % args.ckpt_every == 0 or time.time() - t_saved > 120:
            run.stage["opt"] = opt.state_dict()
            save_checkpoint(run.ckpt, run)
            t_saved = time.time()
    end_stage(run, info, run.stage, opt, t_start)


def log_stage_step(run, key: str, step: int, elapsed_s: float, parts: dict, extra: dict) -> None:
    """One log line of a stage (its step under `key`, the time, the loss parts, extra
    figures), kept in the run's log and printed."""
    rec = {key: step, "elapsed_s": round(elapsed_s, 1)}
    rec.update({k: round(float(v.detach()), 4) for k, v in parts.items()})
    rec.update(extra)
    run.log.append(rec)
    print(json.dumps(rec), flush=True)


def end_stage(run, info: dict, holder: dict, opt, t_start: float) -> None:
    """A stage's end: its time, its optimizer state in `holder` (saved with the
    checkpoint), every parameter trainable again, the quantizer's tables refreshed."""
    info["elapsed_s"] = round(info.get("elapsed_s", 0.0) + time.time() - t_start, 1)
    holder["opt"] = opt.state_dict()
    for p in run.model.parameters():
        p.requires_grad_(True)
    run.model.quantizer.refresh()
