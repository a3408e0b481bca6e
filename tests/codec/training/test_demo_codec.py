"""The bundled demo codec: loads offline and fast, codes held-out speech intelligibly,
improves with more codebooks, streams exactly like batch, and is the offline fallback."""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest
import torch

from codec import load_codec
from codec.weights.load import DEMO_DIR, is_fallback
from tests.helpers.parity import analyse_mismatches
from tests.helpers.requirements import need_program
from tests.helpers.signals import rel_err


@pytest.fixture(scope="module")
def demo():
    return load_codec("demo", "cpu")


def test_demo_is_bundled_small_and_loads_offline_fast(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert (DEMO_DIR / "model.safetensors").stat().st_size <= 25_000_000
    t = time.monotonic()
    codec = load_codec("demo", "cpu")
    took = time.monotonic() - t
    print(f"demo loaded in {took * 1000:.0f} ms")
    assert took < 2.0
    assert codec.num_codebooks == 32 and codec.semantic_codebooks == 1
    assert codec.frame_size == 1920 and codec.sample_rate == 24_000
    assert codec.description.startswith("demo codec")


def test_auto_falls_back_to_the_bundled_demo_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty hub cache
    t = time.monotonic()
    codec = load_codec(device="cpu")
    took = time.monotonic() - t
    assert took < 5.0
    assert is_fallback(codec)
    assert codec.description.startswith("demo codec")
    assert "Hugging Face hub" in codec.fallback_reason


@pytest.fixture(scope="module")
def held_out_quality():
    need_program("espeak-ng", "it renders the held-out sentences")
    from codec.training.evaluate import evaluate

    res = evaluate("demo", ks=(1, 2, 4, 8, 16))
    for k, m in res["by_k"].items():
        print(f"K={k}: mel {m['mel_distance']:.3f} STOI {m['stoi']:.3f}")
    return res["by_k"]


def test_held_out_speech_is_intelligible_at_all_codebooks(held_out_quality):
    assert held_out_quality[32]["stoi"] >= 0.75


def test_quality_rises_with_codebooks(held_out_quality):
    mel = {k: m["mel_distance"] for k, m in held_out_quality.items()}
    stoi = {k: m["stoi"] for k, m in held_out_quality.items()}
    assert mel[1] > mel[4] > mel[8] > mel[32]
    assert stoi[1] < stoi[8] <= stoi[32]


def test_demo_streaming_equals_batch(demo):
    from codec.training.data import held_out_speech

    if shutil.which("espeak-ng") is None:
        x = torch.from_numpy(np.sin(np.arange(96_000) * 0.03).astype(np.float32))
    else:
        x = torch.from_numpy(held_out_speech()[0][1])
    x = x[: (len(x) // 1920) * 1920].view(1, 1, -1)
    batch = demo.encode(x)
    enc = demo.stream_encoder()
    stream = torch.cat([enc.step(x[..., s : s + 1920]) for s in range(0, x.shape[-1], 1920)], -1)
    rep = analyse_mismatches(demo.model, demo.encode_latent(x), stream, batch)
    assert rep.semantic_equal == 1.0
    assert rep.near_ties == rep.first_divergences
    assert rep.agreement >= 0.999
    dec = demo.stream_decoder()
    y_stream = torch.cat([dec.step(batch[..., f : f + 1]) for f in range(batch.shape[-1])], -1)
    assert rel_err(y_stream, demo.decode(batch)) < 1e-5
