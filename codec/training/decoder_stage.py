"""The distillation's decoder stage: the decoder learns the codes the latent stage made.

The latent stage (latent_stage.py) changes the encoder transformer and the quantizer so
that codebook 0 carries phonemes, and keeps the decoder as it was; it can only ask the new
quantized latent to stand in for the old unquantized one, and at small K it cannot. Here
the other half moves: the SEANet encoder, the encoder transformer, the downsampling and
the quantizer are frozen, so the codes of every crop stay exactly what the latent stage
made them (and with them everything the token measures see), and the upsampling, the
decoder transformer and the SEANet decoder train on the trainer's own batches. Each item
is decoded from a random K-prefix of its codes (quantizer dropout, as in training), and the
losses are reconstruction only: multi-scale log-mel L1, mel spectral convergence and
waveform L1 (train.py's weights). The encoder runs without gradients, so a step costs the
decoder's forward and backward and the encoder's forward.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ..model.mimi import MimiModel
from .latent_stage import end_stage, log_stage_step, stage_rate

DECODER_BATCHES = 1_250_000_000  # batch indices of the stage, apart from the trainer's


def decoder_parameters(model: MimiModel) -> list[torch.nn.Parameter]:
    """What the stage trains: upsampling, decoder transformer, SEANet decoder."""
    return [
        *model.upsample.parameters(),
        *model.decoder_transformer.parameters(),
        *model.decoder.parameters(),
    ]


def prefix_latent(model: MimiModel, codes: torch.Tensor, ks: torch.Tensor) -> torch.Tensor:
    """codes [B, n_q, F], ks [B] in 1..n_q -> the quantized latent [B, D, F] of each
    item's first ks[i] codebooks (the real quantizer's decode, no gradient)."""
    with torch.no_grad():
        return torch.cat(
            [model.quantizer.decode(codes[i : i + 1, : int(k)]) for i, k in enumerate(ks)]
        )


def decoder_losses(run, x: torch.Tensor, ks: torch.Tensor) -> dict[str, torch.Tensor]:
    """The stage's loss parts for audio x [B, 1, T] decoded at prefixes ks [B]."""
    model = run.model
    with torch.no_grad():
        codes = model.encode(x)
    y_hat = model.decode_latent(prefix_latent(model, codes, ks))
    l_mel, l_sc = run.mel.both(y_hat, x)
    return {"mel": l_mel, "sc": l_sc, "wave": (y_hat - x).abs().mean()}


def _setup(run) -> tuple[list, torch.optim.Optimizer]:
    params = decoder_parameters(run.model)
    for p in run.model.parameters():
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=run.args.decoder_lr, betas=(0.8, 0.99), weight_decay=1e-4)
    if "opt" in run.decoder_stage:
        opt.load_state_dict(run.decoder_stage["opt"])
    # the frozen part in eval mode: the quantizer keeps its tables, and no EMA runs
    run.model.eval()
    run.model.quantizer.refresh()
    for part in (run.model.upsample, run.model.decoder_transformer, run.model.decoder):
        part.train()
    return params, opt


def run_decoder_stage(run, say=print) -> None:
    """--decoder-steps: train the decoder stage to that many steps (resumable: its step
    and optimizer are in the checkpoint; a stop signal saves)."""
    from .train import save_checkpoint

    args, sched = run.args, run.schedule
    info = sched.setdefault("decoder_stage", {"steps": 0})
    info.update(target=args.decoder_steps, batch=args.batch, lr=args.decoder_lr)
    if info["steps"] >= args.decoder_steps:
        return
    params, opt = _setup(run)
    rng = np.random.default_rng([args.seed, 11, info["steps"]])
    t_start = t_saved = time.time()
    elapsed0 = run.log[-1]["elapsed_s"] if run.log else 0.0
    say(f"decoder stage: step {info['steps']} of {args.decoder_steps}")
    while info["steps"] < args.decoder_steps and not run.stop:
        i = info["steps"]
        for g in opt.param_groups:
            g["lr"] = stage_rate(i, args.decoder_lr, args.decoder_steps)
        x, _ = run.batches.make_labelled(DECODER_BATCHES + i)
        x = torch.from_numpy(x).to(run.dev)
        ks = torch.from_numpy(rng.integers(1, run.cfg.n_q + 1, x.shape[0]))
        d = decoder_losses(run, x, ks)
        loss = args.w_mel * d["mel"] + args.w_sc * d["sc"] + args.w_wave * d["wave"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        info["steps"] = i + 1
        if info["steps"] % args.log_every == 0:
            elapsed = elapsed0 + time.time() - t_start
            log_stage_step(run, "decoder_step", info["steps"], elapsed, d, {})
        if info["steps"] % args.ckpt_every == 0 or time.time() - t_saved > 120:
            run.decoder_stage["opt"] = opt.state_dict()
            save_checkpoint(run.ckpt, run)
            t_saved = time.time()
    end_stage(run, info, run.decoder_stage, opt, t_start)
