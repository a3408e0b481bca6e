"""The demo-codec trainer runs, checkpoints, resumes and exports loadable weights."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from tests.helpers.paths import ROOT
from tests.helpers.requirements import need_program


@pytest.fixture(autouse=True)
def _espeak():
    need_program("espeak-ng", "the trainer's speech comes from it")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "train-demo", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )


@pytest.mark.slow
def test_train_resume_export(tmp_path):
    work, out = tmp_path / "work", tmp_path / "out"
    common = [
        "--work",
        str(work),
        "--out",
        str(out),
        "--utterances",
        "4",
        "--ae-steps",
        "2",
        "--log-every",
        "1",
        "--ckpt-every",
        "2",
        "--batch",
        "2",
    ]
    r = run("--steps", "3", *common)
    assert r.returncode == 0, r.stderr
    logs = [json.loads(ln) for ln in r.stdout.splitlines() if ln.startswith("{")]
    assert [rec["step"] for rec in logs] == [1, 2, 3]
    assert all({"mel", "wave", "commit", "elapsed_s"} <= set(rec) for rec in logs)
    r = run("--steps", "5", *common)
    assert r.returncode == 0, r.stderr
    assert "resumed at step 3" in r.stderr
    assert [json.loads(ln)["step"] for ln in r.stdout.splitlines() if ln.startswith("{")] == [4, 5]
    from codec import load_codec

    codec = load_codec(out, "cpu")
    assert codec.num_codebooks == 32 and codec.codebook_size == 256
    assert (out / "model.safetensors").stat().st_size < 25_000_000
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["seed"] == 1234 and recipe["steps"] == 5 and "ja" in recipe["languages"]
    codes = codec.encode(torch.zeros(1, 1, 3840))
    assert codes.shape == (1, 32, 2)


def test_batches_depend_only_on_their_index():
    """Batch i is the same made inline or in a worker process, in any order (resume)."""
    import numpy as np

    from codec.training.data import Batches, BatchStream

    corpus = np.sin(np.arange(48_000) * 0.05).astype(np.float32)
    b = Batches(corpus, 1920, 3, seed=7)
    inline = [b.make(i) for i in range(5, 9)]
    stream = BatchStream(b, 5, workers=2)
    try:
        made = [stream.next() for _ in range(4)]
    finally:
        stream.close()
    for x, y in zip(inline, made, strict=True):
        assert x.shape == (3, 1, 1920)
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(inline[0], inline[1])


def test_mel_losses_known_answers():
    """log-mel L1 and mel spectral convergence: 0 for identical signals; for y = x / 2 the
    log term is ln 2 wherever the spectrum is well above the 1e-5 floor, and the spectral
    convergence is exactly 1/2 (mel magnitudes are linear in the signal)."""
    import math

    import torch

    from codec.training.losses import MelLoss

    x = torch.randn(2, 1, 24_000)
    mel = MelLoss()
    log_l1, sc = mel.both(x, x)
    assert float(log_l1) == 0.0 and float(sc) == 0.0
    log_l1, sc = mel.both(x / 2, x)
    assert float(sc) == pytest.approx(0.5, rel=1e-4)
    assert float(log_l1) == pytest.approx(math.log(2), rel=1e-2)
    assert float(mel(x / 2, x)) == float(log_l1)
