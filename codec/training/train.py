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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..model.config import CodecConfig
from ..model.mimi import MimiModel
from ..weights.load import DEMO_DIR
from ..weights.save import save_codec
from .codebooks import kmeans_init, quantize_train, reseed_dead
from .data import SR, Batches, BatchStream, build_labelled_corpus, save_recipe
from .distill import SemanticHead, semantic_init
from .losses import MelLoss
from .phonemes import Inventory

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
    w_phone=0.0,  # the phoneme head's cross-entropy on codebook 0 (distill.py)
    w_center=0.0,  # the within-phoneme spread of the semantic projection (distill.py)
    head_lr=1e-3,  # the head's own optimizer (constant rate)
    latent_steps=0,  # steps of the latent stage (latent_stage.py), before the full steps
    latent_batch=64,
    latent_lr=3e-4,
    feature_batches=120,  # the latent stage's cached batches (of --batch crops each)
    decoder_steps=0,  # steps of the decoder stage (decoder_stage.py), after the latent stage
    decoder_lr=1e-4,
)
CALIBRATION_STEPS = 50  # quantized steps at the base rate before the cosine decay starts
WARMUP_FROM_WEIGHTS = 200  # warm-up steps of a run started from exported weights
SEM_INIT_BATCHES = 1_500_000_000  # batch indices for the semantic init, never trained on
PROBE_BATCH = 2_000_000_000  # a fixed batch for the per-K progress probe
SEMANTIC_DISTILLATION = (
    "phonemes: espeak-ng's phoneme labels of the trainer's own speech "
    "(not a speech model such as WavLM)"
)


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


def save_checkpoint(path: Path, run: Run) -> None:
    """Model, optimizers, step, schedule, log (and the distillation head), atomically."""
    tmp = path.with_suffix(".tmp")
    state = {
        "model": run.model.state_dict(),
        "opt": run.opt.state_dict(),
        "step": run.step,
        "schedule": run.schedule,
        "config": run.model.cfg.to_dict(),
        "log": run.log,
        "inventory": list(run.inventory.names),
    }
    if run.head is not None:
        state["head"] = run.head.state_dict()
        state["head_opt"] = run.head_opt.state_dict()
    if run.stage:
        state["stage"] = run.stage
    if run.decoder_stage:
        state["decoder_stage"] = run.decoder_stage
    torch.save(state, tmp)
    os.replace(tmp, path)


def export(model: MimiModel, out: Path, info: dict) -> None:
    model.eval()
    model.to("cpu")
    save_codec(model, out)
    save_recipe(out / "recipe.json", info)


def learning_rate(step: int, base: float, schedule: dict) -> float:
    """Warm-up, constant through the autoencoder phase and calibration, then cosine to 10 %.

    A run started from exported weights (no optimizer moments) warms up again from
    `warm_from` over `warmup` steps and decays from `decay_from` to its last step."""
    lr = base * min(1.0, (step + 1 - schedule.get("warm_from", 0)) / schedule.get("warmup", 500))
    decay_from = schedule.get("decay_from", schedule["ae_steps"] + CALIBRATION_STEPS)
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


# ---- one training run ------------------------------------------------------------------------


@dataclass(eq=False)
class Run:
    """Everything one `train-demo` run holds. `head` (and `head_opt`) exist when the
    semantic distillation is on (--w-phone or --w-center above 0) or the checkpoint has
    them; the head is a training aid, saved in checkpoints and never exported."""

    args: argparse.Namespace
    cfg: CodecConfig
    dev: torch.device
    work: Path
    batches: Batches
    inventory: Inventory
    model: MimiModel
    schedule: dict
    step: int = 0
    log: list = field(default_factory=list)
    opt: torch.optim.Optimizer | None = None
    head: SemanticHead | None = None
    head_opt: torch.optim.Optimizer | None = None
    mel: MelLoss | None = None
    x_probe: torch.Tensor | None = None
    stop: list = field(default_factory=list)
    stage: dict = field(default_factory=dict)  # the latent stage's reference and optimizer
    decoder_stage: dict = field(default_factory=dict)  # the decoder stage's optimizer

    @property
    def ckpt(self) -> Path:
        return self.work / "checkpoint.pt"

    @property
    def quantized(self) -> bool:
        return self.step >= self.schedule["ae_steps"]


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _new_schedule(args: argparse.Namespace) -> dict:
    return {
        "steps": DEFAULTS["steps"] if args.steps is None else args.steps,
        "ae_steps": DEFAULTS["ae_steps"] if args.ae_steps is None else args.ae_steps,
    }


def _resume(run: Run, state: dict) -> tuple[dict | None, dict]:
    """Take a checkpoint's model, step, log and schedule; return its optimizer states."""
    if state.get("config") != run.cfg.to_dict():
        raise SystemExit(f"{run.ckpt} was made with another demo config; use --restart")
    saved_inv = state.get("inventory")
    if "head" in state and saved_inv != list(run.inventory.names):
        raise SystemExit(f"{run.ckpt} has another phoneme inventory; use --restart")
    run.model.load_state_dict(state["model"])
    run.step, run.log = state["step"], state["log"]
    saved = state.get("schedule", {})
    # a resumed run keeps its schedule unless --steps / --ae-steps are given again
    for key, value in (("steps", run.args.steps), ("ae_steps", run.args.ae_steps)):
        if value is None and key in saved:
            run.schedule[key] = saved[key]
    keys = ("devices", "train_args", "warm_from", "warmup", "decay_from", "sem_init")
    for key in (*keys, "latent_stage", "decoder_stage"):
        if key in saved:
            run.schedule[key] = saved[key]
    if state.get("opt") is None:  # weights only (no optimizer moments): warm up again
        run.schedule["warm_from"] = run.step
        _say("no optimizer state: warming up again")
    run.stage = state.get("stage", {})
    run.decoder_stage = state.get("decoder_stage", {})
    _say(f"resumed at step {run.step} of {run.schedule['steps']}")
    return state.get("opt"), {k: state[k] for k in ("head", "head_opt") if k in state}


def _start_from_weights(run: Run, folder: Path) -> None:
    """Start from exported weights (config.json + model.safetensors, loaded strictly) and
    continue their history from the recipe.json beside them: the step count, the
    schedule's record of runs and devices, the elapsed time. No optimizer state is
    exported, so the learning rate warms up again and decays over this run."""
    from ..weights.load import load_folder

    loaded = load_folder(folder)
    if loaded.cfg.to_dict() != run.cfg.to_dict():
        raise SystemExit(f"{folder} is not the demo codec's configuration")
    run.model.load_state_dict(loaded.state_dict())
    try:
        recipe = json.loads((folder / "recipe.json").read_text())
    except (OSError, ValueError):
        recipe = {}
    run.step = int(recipe.get("steps", 0))
    sched = recipe.get("schedule", {})
    run.schedule["ae_steps"] = min(sched.get("ae_steps", 0), run.step)
    if run.args.steps is None:
        raise SystemExit("--init-from needs --steps (the total, counting the weights' steps)")
    run.schedule.update(
        warm_from=run.step,
        warmup=WARMUP_FROM_WEIGHTS,
        decay_from=run.step,
        devices=list(recipe.get("trained_on", sched.get("devices", []))),
        train_args=list(recipe.get("train_args", sched.get("train_args", []))),
    )
    run.log = list(recipe.get("log_tail", []))
    _say(f"starting from the weights in {folder} at step {run.step} of {run.schedule['steps']}")


def prepare(args: argparse.Namespace) -> Run:
    """Data, model, head and optimizers: from the checkpoint in --work, else from
    --init-from's weights, else a fresh initialisation."""
    cfg = CodecConfig.demo()
    work = Path(args.work).expanduser()
    work.mkdir(parents=True, exist_ok=True)
    dev = pick_device(args.device)
    _say(f"training on {dev}")
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    _say(f"building the speech corpus in {work} ...")
    corpus = build_labelled_corpus(work, n=args.utterances, seed=args.seed)
    _say(
        f"corpus: {len(corpus.audio) / SR / 60:.1f} min of speech, {len(corpus.inventory)} "
        "phoneme classes"
    )
    crop = max(1, round(args.crop_s * SR / cfg.frame_size)) * cfg.frame_size  # whole frames
    batches = Batches(corpus.audio, crop, args.batch, args.seed, labels=corpus.labels)
    model = MimiModel(cfg)
    init_for_training(model)
    run = Run(args, cfg, dev, work, batches, corpus.inventory, model, _new_schedule(args))
    opt_state, head_states = None, {}
    if run.ckpt.is_file() and not args.restart:
        # our own checkpoint, written by this command (trusted; never a user's file)
        opt_state, head_states = _resume(
            run, torch.load(run.ckpt, weights_only=False, map_location="cpu")
        )
    elif args.init_from:
        _start_from_weights(run, Path(args.init_from).expanduser())
    model.to(dev)
    run.opt = torch.optim.AdamW(
        model.parameters(), lr=args.lr, betas=(0.8, 0.99), weight_decay=1e-4
    )
    if opt_state is not None:
        run.opt.load_state_dict(opt_state)
    if args.w_phone > 0 or args.w_center > 0 or "head" in head_states:
        run.head = SemanticHead(cfg.codebook_dim, len(run.inventory)).to(dev)
        run.head_opt = torch.optim.AdamW(run.head.parameters(), lr=args.head_lr)
        if "head" in head_states:
            run.head.load_state_dict(head_states["head"])
            run.head_opt.load_state_dict(head_states["head_opt"])
    return run


def record_run(run: Run) -> None:
    """When this run trains: note the device and this run's arguments in the schedule."""
    done = {k: run.schedule.get(k, {}).get("steps", 0) for k in ("latent_stage", "decoder_stage")}
    stage_left = run.args.latent_steps > done["latent_stage"]
    decoder_left = run.args.decoder_steps > done["decoder_stage"]
    if run.step >= run.schedule["steps"] and not (stage_left or decoder_left):
        return
    here = torch.cuda.get_device_name(run.dev) if run.dev.type == "cuda" else platform_name()
    if here not in run.schedule.setdefault("devices", []):
        run.schedule["devices"].append(here)
    entry = {"from_step": run.step, **{k: getattr(run.args, k) for k in DEFAULTS if k != "steps"}}
    entry["to_step"] = run.schedule["steps"]
    if run.args.init_from:
        entry["init_from"] = str(run.args.init_from)
    if run.head is not None:
        entry["phoneme_classes"] = len(run.inventory)
    if stage_left:
        entry["latent_from_step"] = done["latent_stage"]
    if decoder_left:
        entry["decoder_from_step"] = done["decoder_stage"]
    run.schedule.setdefault("train_args", []).append(entry)


def maybe_semantic_init(run: Run) -> None:
    """--sem-init: re-initialise the semantic group on the phonemes, once per training
    (recorded in the schedule, so a resumed run does not repeat it)."""
    if not run.args.sem_init or "sem_init" in run.schedule or not run.quantized:
        return
    _say("semantic init: LDA projection, codebook 0 re-clustered, P_sem refit")
    run.model.eval()
    measured = semantic_init(run.model, run.batches, SEM_INIT_BATCHES)
    run.model.train()
    run.schedule["sem_init"] = {"step": run.step, **measured}
    _say(f"semantic init: {measured}")


def phase_changes(run: Run, t_start: float, t_calib: float | None) -> tuple[float | None, bool]:
    """The time budget and the start of the quantized phase, before a step.
    Returns (the calibration start time, whether to stop now)."""
    args, sched = run.args, run.schedule
    budget = args.time_budget
    if budget and run.step < sched["ae_steps"] and time.time() - t_start >= args.ae_share * budget:
        sched["ae_steps"] = run.step  # time budget: end the autoencoder phase now
    if run.step == sched["ae_steps"]:
        _say("k-means initialisation of the codebooks")
        run.model.eval()
        kmeans_init(run.model, run.batches)
        run.model.train()
        t_calib = time.time()
    if budget and t_calib and run.step == sched["ae_steps"] + CALIBRATION_STEPS:
        per_step = (time.time() - t_calib) / CALIBRATION_STEPS
        left = budget - (time.time() - t_start)
        sched["steps"] = run.step + max(int(left / per_step), 0)
        _say(f"time budget: {sched}")
        if run.step >= sched["steps"]:
            return t_calib, True
    return t_calib, False


def step_losses(run: Run, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """The training loss of one batch x [B, 1, T] with frame labels y [B, F], and its
    parts (tensors) for the log."""
    args, model = run.args, run.model
    z = model.encode_latent(x)
    commit = latent = z.new_zeros(())
    sem = None
    if run.quantized:
        rng = np.random.default_rng([args.seed, run.step, 1])
        ks = torch.from_numpy(rng.integers(1, run.cfg.n_q + 1, size=x.shape[0])).to(run.dev)
        zq, commit, sem = quantize_train(model, z, ks, args.ema)
        # the quantized latent must stand in for z in the same decoder: without this the
        # projections drifted (decoded latent 6x off) and every K sounded the same
        zd = z.detach()
        latent = ((zq - zd) ** 2).mean() / (zd**2).mean().clamp(min=1e-8)
        keep = torch.from_numpy(rng.random(x.shape[0]) < args.quant_prob).float()
        keep = keep.to(run.dev)[:, None, None]
        z = keep * zq + (1 - keep) * z
    y_hat = model.decode_latent(z)
    l_mel, l_sc = run.mel.both(y_hat, x)
    l_wave = (y_hat - x).abs().mean()
    loss = (
        args.w_mel * l_mel
        + args.w_sc * l_sc
        + args.w_wave * l_wave
        + args.w_commit * commit
        + args.w_latent * latent
    )
    parts = {"mel": l_mel, "sc": l_sc, "wave": l_wave, "commit": commit, "latent": latent}
    if run.head is not None and sem is not None:
        labels = y[:, : z.shape[2]].reshape(-1)
        d = run.head.losses(sem[1], sem[0], labels)
        loss = loss + args.w_phone * d["ce"] + args.w_center * d["center"]
        parts.update(ce=d["ce"], center=d["center"], acc=d["acc"])
    return loss, parts


def optimise(run: Run, loss: torch.Tensor) -> None:
    run.opt.zero_grad(set_to_none=True)
    if run.head_opt is not None:
        run.head_opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), 1.0)
    run.opt.step()
    if run.head_opt is not None:
        run.head_opt.step()


def log_record(run: Run, parts: dict, lr: float, elapsed_s: float, s_per_step: float) -> dict:
    """One log line: the step, time, learning rate and every loss part."""
    digits = {"wave": 5, "commit": 5, "latent": 5}
    rec = {"step": run.step, "elapsed_s": round(elapsed_s, 1), "s_per_step": s_per_step, "lr": lr}
    rec.update({k: round(float(v.detach()), digits.get(k, 4)) for k, v in parts.items()})
    if run.step > run.schedule["ae_steps"] and run.step % run.args.probe_every == 0:
        run.model.eval()
        rec.update(probe(run.model, run.x_probe, run.mel, run.cfg.n_q))
        run.model.train()
    return rec


def loop(run: Run) -> None:
    """Train until the schedule's last step or a stop signal; log and checkpoint."""
    args, model = run.args, run.model
    workers = args.workers
    if workers < 0:  # auto: on a GPU the batches must be made in parallel to keep up
        workers = min(8, (os.cpu_count() or 2) - 2) if run.dev.type == "cuda" else 0
    # the data processes fork before CUDA is initialised in this one
    stream = BatchStream(run.batches, run.step, workers, labelled=True)
    t_start = t_last = t_saved = time.time()
    elapsed0 = run.log[-1]["elapsed_s"] if run.log else 0.0
    t_calib = None
    model.train()
    try:
        while run.step < run.schedule["steps"] and not run.stop:
            t_calib, done = phase_changes(run, t_start, t_calib)
            maybe_semantic_init(run)
            if done:
                break
            item = stream.next(lambda: bool(run.stop))
            if item is None:
                break
            x = torch.from_numpy(item[0]).to(run.dev, non_blocking=True)
            y = torch.from_numpy(item[1]).to(run.dev)
            lr = learning_rate(run.step, args.lr, run.schedule)
            for g in run.opt.param_groups:
                g["lr"] = lr
            loss, parts = step_losses(run, x, y)
            optimise(run, loss)
            run.step += 1
            if run.step > run.schedule["ae_steps"] and run.step % 100 == 0:
                reseed_dead(model, model.encode_latent(x).detach())
            if run.step % args.log_every == 0:
                now = time.time()
                rate = round((now - t_last) / args.log_every, 3)
                run.log.append(log_record(run, parts, lr, elapsed0 + now - t_start, rate))
                t_last = time.time()
                print(json.dumps(run.log[-1]), flush=True)
            if run.step % args.ckpt_every == 0 or time.time() - t_saved > 120:
                save_checkpoint(run.ckpt, run)
                t_saved = time.time()
    finally:
        stream.close()


def export_info(run: Run, final_probe: dict) -> dict:
    """recipe.json's training part: every run's arguments, the schedule, devices, time,
    and, once distillation has trained, what codebook 0 was distilled from."""
    sched, log = run.schedule, run.log
    info = {
        "config": run.cfg.to_dict(),
        "seed": run.args.seed,
        "steps": run.step,
        "schedule": sched,
        "train_args": sched.get("train_args", []),  # one entry per run that trained
        "trained_on": sched.get("devices", []),
        "utterances": run.args.utterances,
        "elapsed_s": log[-1]["elapsed_s"] if log else 0,
        "final_probe": final_probe,
        "log_tail": log[-5:],
    }
    distilled = [a for a in info["train_args"] if a.get("w_phone", 0) or a.get("w_center", 0)]
    if distilled:
        info["semantic_distillation"] = SEMANTIC_DISTILLATION
        info["phoneme_inventory"] = {
            "size": len(run.inventory),
            "names": list(run.inventory.names),
            "labels": "espeak-ng's phoneme events (IPA names, one inventory for every "
            "language), the majority phoneme of each 80 ms frame; class 0 is silence "
            "(pauses and music)",
        }
    return info


def finish(run: Run) -> int:
    """Save the last checkpoint and export the weights with their recipe."""
    if run.stop:
        _say(f"stopped by signal at step {run.step}")
    save_checkpoint(run.ckpt, run)
    run.model.eval()
    quantized = run.step > run.schedule["ae_steps"]
    final_probe = probe(run.model, run.x_probe, run.mel, run.cfg.n_q) if quantized else {}
    (run.work / "train_log.json").write_text(json.dumps(run.log))
    export(run.model, Path(run.args.out), export_info(run, final_probe))
    _say(f"exported the demo codec to {run.args.out}")
    return 0


def train(args: argparse.Namespace) -> int:
    run = prepare(args)
    run.mel = MelLoss(run.dev)
    run.x_probe = torch.from_numpy(run.batches.make(PROBE_BATCH)).to(run.dev)
    if args.latent_steps and run.head is None:
        raise SystemExit("--latent-steps trains the distillation: give --w-phone/--w-center")
    record_run(run)
    # `timeout` and the device machine end a run with SIGTERM: finish the step, save, export
    old_handler = signal.signal(signal.SIGTERM, lambda signum, frame: run.stop.append(signum))
    try:
        if args.latent_steps:
            from .latent_stage import run_latent_stage

            run_latent_stage(run, _say)
        if args.decoder_steps and not run.stop:
            from .decoder_stage import run_decoder_stage

            run_decoder_stage(run, _say)
        if not run.stop:
            loop(run)
    finally:
        signal.signal(signal.SIGTERM, old_handler)
    return finish(run)


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
    p.add_argument(
        "--init-from",
        default="",
        metavar="FOLDER",
        help="without a checkpoint: start from exported weights (e.g. resources/demo) and "
        "continue their recipe's history (needs --steps, the new total)",
    )
    p.add_argument(
        "--sem-init",
        action="store_true",
        help="re-initialise the semantic group on the phonemes before training (LDA "
        "projection, codebook 0 re-clustered, P_sem refit); once per training",
    )
