"""The fixed-shape streaming step (codec/model/fixed_step.py), run eagerly on the CPU, equals
the usual streaming step: codes, audio, K changes, reset. Its CUDA-graph form is checked on
a GPU by scripts/cuda_check.py; here only that asking for it without CUDA is refused."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from codec.model.codec import MimiCodec
from codec.model.config import CodecConfig
from codec.model.mimi import MimiModel
from codec.weights.random_init import randomize
from tests.helpers.parity import analyse_mismatches
from tests.helpers.signals import rel_err, speechlike


@pytest.fixture(scope="module")
def small_window():
    """The tiny codec with a 12-step attention window: 40 frames run far past it."""
    cfg = dataclasses.replace(CodecConfig.tiny(), context=12, name="tiny-w12")
    return MimiCodec(randomize(MimiModel(cfg), 3))


def _encode(enc, x: torch.Tensor, frames: int) -> torch.Tensor:
    step = frames * 1920
    return torch.cat([enc.step(x[..., s : s + step]) for s in range(0, x.shape[-1], step)], -1)


@pytest.mark.parametrize("frames", [1, 3])
def test_fixed_encoder_equals_streaming(small_window, frames):
    codec = small_window
    x = speechlike(40 * 0.08 * frames, seed=21)  # 40 steps of `frames` frames
    usual = _encode(codec.stream_encoder(), x, frames)
    fixed = _encode(codec.stream_encoder(fixed_frames=frames), x, frames)
    assert fixed.shape == usual.shape == (1, 32, 40 * frames)
    rep = analyse_mismatches(codec.model, codec.encode_latent(x), fixed, usual)
    assert rep.semantic_equal == 1.0
    assert rep.near_ties == rep.first_divergences and rep.agreement >= 0.999


@pytest.mark.parametrize("frames", [1, 2])
def test_fixed_decoder_equals_streaming_with_k_changes(small_window, frames):
    codec = small_window
    codes = codec.encode(speechlike(40 * 0.08 * frames, seed=22))
    ks = [32, 8, 8, 1, 16, 4, 32, 2] * 5
    usual, fixed = codec.stream_decoder(), codec.stream_decoder(fixed_frames=frames)
    a, b = [], []
    for i, k in enumerate(ks):
        c = codes[:, :k, i * frames : (i + 1) * frames]
        a.append(usual.step(c))
        b.append(fixed.step(c))
    assert fixed.frames == usual.frames == 40 * frames
    assert rel_err(torch.cat(b, -1), torch.cat(a, -1)) < 1e-5


def test_fixed_step_reset_and_shape_checks(small_window):
    codec = small_window
    x = speechlike(0.8, seed=23)
    enc = codec.stream_encoder(fixed_frames=1)
    first = _encode(enc, x, 1)
    enc.reset()
    assert enc.frames == 0
    assert torch.equal(_encode(enc, x, 1), first)
    with pytest.raises(ValueError, match="1 frame"):
        enc.step(torch.zeros(1, 1, 2 * 1920))
    dec = codec.stream_decoder(fixed_frames=2)
    with pytest.raises(ValueError, match="2 frame"):
        dec.step(first[..., :1])
    with pytest.raises(ValueError, match="fixed_frames"):
        codec.stream_encoder(fixed_frames=0)


def test_cuda_graph_needs_cuda(small_window):
    if small_window.device.type == "cuda":
        pytest.skip("the codec is on CUDA")
    with pytest.raises(ValueError, match="CUDA"):
        small_window.stream_encoder(cuda_graph=True)
