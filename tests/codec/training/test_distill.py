"""Semantic distillation: the head's loss falls on a tiny training run through the
trainer's own step; the centre loss and the LDA directions on constructed data with known
answers; the semantic init keeps the weights' format; the head is never exported."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

from codec.model.config import CodecConfig
from codec.model.mimi import MimiModel
from codec.training.data import Batches
from codec.training.distill import SemanticHead, lda_directions, semantic_init
from codec.training.phonemes import Inventory

CLASSES = 6
FRAME = 1920


def tone_corpus(frames: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 'language' of 6 phonemes: each 80 ms frame is one tone (class c: 300 * (c + 1) Hz;
    class 0 is silence). Returns (audio float32 [frames * 1920], labels uint8 [same])."""
    rng = np.random.default_rng(seed)
    cls = rng.integers(0, CLASSES, frames)
    t = np.arange(FRAME) / 24_000
    audio = np.concatenate(
        [0.3 * np.sin(2 * np.pi * 300 * c * t) if c else np.zeros(FRAME) for c in cls]
    ).astype(np.float32)
    return audio, np.repeat(cls, FRAME).astype(np.uint8)


def tiny_run(tmp_path, *flags: str, sem_init: bool = False):
    from codec.training.codebooks import kmeans_init
    from codec.training.losses import MelLoss
    from codec.training.train import Run, add_arguments, init_for_training

    p = argparse.ArgumentParser()
    add_arguments(p)
    args = p.parse_args(["--work", str(tmp_path), "--lr", "3e-3", "--head-lr", "1e-2", *flags])
    audio, labels = tone_corpus()
    torch.manual_seed(0)
    cfg = CodecConfig.tiny()
    model = MimiModel(cfg)
    init_for_training(model)
    batches = Batches(audio, 4 * FRAME, 8, seed=1, music_share=0.0, labels=labels)
    kmeans_init(model, batches, n_batches=4, iters=4)
    if sem_init:
        semantic_init(model, batches, 1000, n_batches=6)
    inv = Inventory(tuple(f"p{c}" for c in range(CLASSES)))
    schedule = {"steps": 60, "ae_steps": 0}
    run = Run(args, cfg, torch.device("cpu"), tmp_path, batches, inv, model, schedule)
    run.opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    run.head = SemanticHead(cfg.codebook_dim, CLASSES)
    run.head_opt = torch.optim.AdamW(run.head.parameters(), lr=args.head_lr)
    run.mel = MelLoss()
    return run


def test_head_loss_falls_on_a_tiny_training_run(tmp_path):
    """The latent stage (the distillation as the demo codec trains it): cached features of
    the tone corpus, the semantic init, then the stage's own loss parts and optimizer."""
    from codec.training import latent_stage as stage
    from codec.training.distill import semantic_init_from

    run = tiny_run(tmp_path, "--w-phone", "1.0", "--w-center", "0.5")
    feats = stage.make_features(run.model, run.batches, 8, log=lambda msg: None)
    z = feats.z_ref.transpose(1, 2).reshape(-1, feats.z_ref.shape[1])
    semantic_init_from(run.model, z, feats.labels.reshape(-1))
    params = stage.stage_parameters(run.model)
    opt = torch.optim.AdamW(params, lr=1e-3)
    rng = np.random.default_rng(0)
    run.model.train()
    ce, acc = [], []
    for _ in range(80):
        idx, ks = stage.pick(rng, len(feats), 16, run.cfg.n_q)
        d = stage.stage_losses(run.model, run.head, feats, idx, ks, 0.99)
        loss = d["latent"] + 0.1 * d["commit"] + d["ce"] + 0.5 * d["center"]
        opt.zero_grad()
        run.head_opt.zero_grad()
        loss.backward()
        opt.step()
        run.head_opt.step()
        ce.append(float(d["ce"].detach()))
        acc.append(float(d["acc"]))
    first, last = np.mean(ce[:10]), np.mean(ce[-10:])
    print(f"head cross-entropy {first:.3f} -> {last:.3f}")
    assert last < 0.85 * first
    assert np.mean(acc[-10:]) > np.mean(acc[:10]) + 0.1
    # the head is a training aid: the model's weights are the codec's own, nothing more
    assert set(run.model.state_dict()) == set(MimiModel(run.cfg).state_dict())


def test_the_trainer_step_trains_the_head_beside_reconstruction(tmp_path):
    from codec.training.train import optimise, step_losses

    run = tiny_run(tmp_path, "--w-phone", "1.0", "--w-center", "0.5", sem_init=True)
    run.model.train()
    before = run.head.linear.weight.detach().clone()
    x, y = run.batches.make_labelled(0)
    loss, parts = step_losses(run, torch.from_numpy(x), torch.from_numpy(y))
    assert {"mel", "sc", "wave", "commit", "latent", "ce", "center", "acc"} <= set(parts)
    assert torch.isfinite(loss)
    optimise(run, loss)
    assert not torch.equal(before, run.head.linear.weight)


def test_without_distillation_the_step_has_no_head_terms(tmp_path):
    from codec.training.train import step_losses

    run = tiny_run(tmp_path)
    run.head = None
    x, y = run.batches.make_labelled(0)
    _, parts = step_losses(run, torch.from_numpy(x), torch.from_numpy(y))
    assert set(parts) == {"mel", "sc", "wave", "commit", "latent"}


def test_center_loss_known_answers():
    head = SemanticHead(4, 3)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, -1, -1])  # the last two are music: left out
    centres = torch.tensor([[1.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 3.0, 0]])
    r = torch.cat([centres[labels[:6]], torch.randn(2, 4) * 100])
    out = head.losses(r, r, labels)
    assert float(out["center"]) == pytest.approx(0.0, abs=1e-6)  # each class in one point
    # classes that say nothing about r: within-class spread ~ total spread
    head = SemanticHead(4, 3, decay=0.0)  # centres = this batch's class means
    g = torch.Generator().manual_seed(0)
    r = torch.randn(3000, 4, generator=g)
    y = torch.randint(0, 3, (3000,), generator=g)
    assert float(head.losses(r, r, y)["center"]) == pytest.approx(1.0, abs=0.01)
    # music frames are the silence class for the head's cross-entropy
    logits_target = head.linear(r[:2]).argmax(1)
    assert logits_target.shape == (2,)


def test_lda_finds_the_axis_that_carries_the_classes():
    g = torch.Generator().manual_seed(0)
    n = 4000
    y = torch.randint(0, 4, (n,), generator=g)
    z = torch.randn(n, 6, generator=g, dtype=torch.float64) * torch.tensor(
        [5.0, 5, 1, 5, 5, 5], dtype=torch.float64
    )
    z[:, 2] += 3.0 * y  # only axis 2 depends on the class, and it has the least variance
    w = lda_directions(z, y, 2)
    assert w.shape == (2, 6)
    top = w[0] / w[0].norm()
    assert abs(float(top[2])) > 0.99
    # scaled so that the within-class variance along it is 1
    within = torch.cat([(z[y == c] - z[y == c].mean(0)) @ w[0] for c in range(4)])
    assert float(within.var()) == pytest.approx(1.0, rel=0.05)


def test_semantic_init_keeps_the_format(tmp_path):
    from codec import load_codec
    from codec.weights.save import save_codec

    run = tiny_run(tmp_path)
    model = run.model.eval()
    measured = semantic_init(model, run.batches, 1000, n_batches=6)
    assert measured["frames"] == 6 * 8 * 4 and 0 <= measured["p_sem_rel_err"] < 1
    save_codec(model, tmp_path / "out")
    codec = load_codec(tmp_path / "out", "cpu")  # strict: every tensor, nothing more
    x, _ = run.batches.make_labelled(2000)
    assert codec.encode(torch.from_numpy(x)).shape == (8, 32, 4)


def test_semantic_init_clusters_codebook_0_on_the_classes():
    """Constructed latents with a known answer: the class is a small offset along two axes,
    under much larger class-free noise on the others; after the init, codebook 0's token
    alone tells the class, while before it did not."""
    from codec.training.content import chance_scores, probe_scores
    from codec.training.distill import semantic_init_from

    cfg = CodecConfig.tiny()
    torch.manual_seed(0)
    model = MimiModel(cfg).eval()
    g = torch.Generator().manual_seed(1)

    def latents(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, CLASSES, (n,), generator=g)
        z = torch.randn(n, cfg.dimension, generator=g) * 4.0
        z[:, 3] = torch.cos(y * 2 * np.pi / CLASSES) * 2 + 0.2 * torch.randn(n, generator=g)
        z[:, 7] = torch.sin(y * 2 * np.pi / CLASSES) * 2 + 0.2 * torch.randn(n, generator=g)
        return z, y

    def tokens(z: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return model.quantizer.encode(z.T[None])[0, 0].numpy()

    (z_fit, y_fit), (z_test, y_test) = latents(3000), latents(1000)
    fit, test = (tokens(z_fit), y_fit.numpy()), (tokens(z_test), y_test.numpy())
    before = probe_scores(fit, test, cfg.codebook_size, CLASSES)["all"]
    semantic_init_from(model, z_fit, y_fit)
    fit, test = (tokens(z_fit), y_fit.numpy()), (tokens(z_test), y_test.numpy())
    after = probe_scores(fit, test, cfg.codebook_size, CLASSES)["all"]
    chance = chance_scores(y_fit.numpy(), y_test.numpy())["all"]
    print(f"codebook-0 probe: chance {chance:.2f}, before {before:.2f}, after {after:.2f}")
    assert after > 0.95 and before < 0.5


def test_the_decoder_stage_trains_the_decoder_and_keeps_every_code(tmp_path):
    """The decoder stage (after the latent stage): only the decoder side moves, so the
    codes of any audio are the same before and after, and the reconstruction loss falls."""
    from codec.training import decoder_stage

    run = tiny_run(tmp_path, "--decoder-steps", "30", "--decoder-lr", "1e-2", "--log-every", "10")
    run.model.quantizer.refresh()
    x, _ = run.batches.make_labelled(99)
    x = torch.from_numpy(x)
    run.model.eval()
    with torch.no_grad():
        codes_before = run.model.encode(x)
    frozen = {
        k: v.clone()
        for k, v in run.model.state_dict().items()
        if not k.startswith(("upsample.", "decoder_transformer.", "decoder."))
    }
    ks = torch.full((x.shape[0],), run.cfg.n_q)
    with torch.no_grad():
        before = float(decoder_stage.decoder_losses(run, x, ks)["mel"])
    decoder_stage.run_decoder_stage(run, say=lambda msg: None)
    assert run.schedule["decoder_stage"]["steps"] == 30 and "opt" in run.decoder_stage
    run.model.eval()
    with torch.no_grad():
        after = float(decoder_stage.decoder_losses(run, x, ks)["mel"])
        assert torch.equal(run.model.encode(x), codes_before)
    state = run.model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in frozen.items())
    print(f"decoder stage: held-out log-mel {before:.3f} -> {after:.3f}")
    assert after < 0.9 * before
    assert all(p.requires_grad for p in run.model.parameters())  # unfrozen for what follows
