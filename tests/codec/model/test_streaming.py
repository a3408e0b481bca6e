"""Streaming equals batch; causality; prefix encoding; K changes while decoding."""

from __future__ import annotations

import pytest
import torch

import codec.model.runner as runner
from tests.helpers.parity import analyse_mismatches
from tests.helpers.signals import rel_err, speechlike


def _stream_encode(codec, x: torch.Tensor, frames_per_step: int) -> torch.Tensor:
    enc = codec.stream_encoder(x.shape[0])
    step = frames_per_step * codec.frame_size
    return torch.cat([enc.step(x[..., s : s + step]) for s in range(0, x.shape[-1], step)], -1)


def _stream_decode(codec, codes: torch.Tensor, frames_per_step: int) -> torch.Tensor:
    dec = codec.stream_decoder(codes.shape[0])
    return torch.cat(
        [
            dec.step(codes[..., s : s + frames_per_step])
            for s in range(0, codes.shape[-1], frames_per_step)
        ],
        -1,
    )


@pytest.mark.slow
@pytest.mark.parametrize("frames_per_step", [1, 3])
def test_streaming_equals_batch_24s(mimi_random, frames_per_step):
    codec = mimi_random
    x = speechlike(24.0, seed=3)  # 300 frames: past the 250-step attention window
    batch_codes = codec.encode(x)
    stream_codes = _stream_encode(codec, x, frames_per_step)
    assert stream_codes.shape == batch_codes.shape == (1, 32, 300)
    rep = analyse_mismatches(codec.model, codec.encode_latent(x), stream_codes, batch_codes)
    print(
        f"{frames_per_step} frame(s)/step: codes {100 * rep.agreement:.3f} % equal, "
        f"{rep.mismatches} mismatches, worst gap {rep.worst_gap:.1e}"
    )
    assert rep.semantic_equal == 1.0
    assert rep.near_ties == rep.first_divergences
    assert rep.agreement >= 0.999

    batch_audio = codec.decode(batch_codes)
    stream_audio = _stream_decode(codec, batch_codes, frames_per_step)
    assert stream_audio.shape == batch_audio.shape == (1, 1, 300 * 1920)
    err = rel_err(stream_audio, batch_audio)
    print(f"  decoded audio rel. diff {err:.2e}")
    assert err < 1e-5


@pytest.mark.slow
def test_batch_chunking_is_invisible(mimi_random, monkeypatch):
    """Batch calls run in chunks with carried state; one big pass must give the same."""
    codec = mimi_random
    x = speechlike(12.3, seed=5)  # 154 frames, a partial last frame, > 250 encoder steps
    chunked_lat = codec.encode_latent(x)
    chunked = codec.encode(x)
    monkeypatch.setattr(runner, "BATCH_CHUNK_FRAMES", 10_000)
    whole_lat = codec.encode_latent(x)
    whole = codec.encode(x)
    assert rel_err(chunked_lat, whole_lat) < 1e-5
    rep = analyse_mismatches(codec.model, whole_lat, chunked, whole)
    assert rep.near_ties == rep.first_divergences and rep.agreement >= 0.999
    a_whole = codec.decode(whole)
    monkeypatch.setattr(runner, "BATCH_CHUNK_FRAMES", 7)
    assert rel_err(codec.decode(whole), a_whole) < 1e-5


def test_two_streams_are_independent(tiny):
    x1, x2 = speechlike(1.0, seed=1), speechlike(1.0, seed=2)
    n = 12 * 1920
    e1, e2 = tiny.stream_encoder(), tiny.stream_encoder()
    interleaved1, interleaved2 = [], []
    for s in range(0, n, 1920):
        interleaved1.append(e1.step(x1[..., s : s + 1920]))
        interleaved2.append(e2.step(x2[..., s : s + 1920]))
    assert torch.equal(torch.cat(interleaved1, -1), tiny.encode(x1[..., :n]))
    assert torch.equal(torch.cat(interleaved2, -1), tiny.encode(x2[..., :n]))
    e1.reset()
    assert torch.equal(e1.step(x2[..., :1920]), tiny.encode(x2[..., :1920]))


def test_stream_encoder_rejects_partial_frames(tiny):
    enc = tiny.stream_encoder()
    with pytest.raises(ValueError, match="multiple of 1920"):
        enc.step(torch.zeros(1, 1, 1000))
    with pytest.raises(ValueError):
        enc.step(torch.zeros(2, 1, 1920))


def test_encoder_causality(mimi_random):
    """Codes of frames <= k do not depend on samples after frame k."""
    codec = mimi_random
    x = speechlike(4.0, seed=11)
    k = 20
    y = x.clone()
    y[..., 1920 * (k + 1) :] = torch.randn_like(y[..., 1920 * (k + 1) :])
    cx, cy = codec.encode(x), codec.encode(y)
    lx, ly = codec.encode_latent(x), codec.encode_latent(y)
    assert torch.equal(cx[..., : k + 1], cy[..., : k + 1])
    assert torch.allclose(lx[..., : k + 1], ly[..., : k + 1], rtol=0, atol=1e-6)
    assert not torch.equal(cx[..., k + 1 :], cy[..., k + 1 :])  # the change is visible later
    # and the very last sample of frame k does count
    z = x.clone()
    z[..., 1920 * (k + 1) - 1] += 0.5
    assert not torch.allclose(codec.encode_latent(z)[..., k], lx[..., k], atol=1e-7)


def test_decoder_causality(mimi_random):
    codec = mimi_random
    codes = codec.encode(speechlike(3.0, seed=12))
    k = 15
    other = codes.clone()
    other[..., k + 1 :] = torch.randint(0, 2048, other[..., k + 1 :].shape)
    a, b = codec.decode(codes), codec.decode(other)
    n = 1920 * (k + 1)
    assert torch.allclose(a[..., :n], b[..., :n], rtol=0, atol=1e-6)
    assert not torch.allclose(a[..., n:], b[..., n:])


@pytest.mark.parametrize("k", [1, 2, 8, 31])
def test_prefix_encoding(mimi_random, k):
    x = speechlike(2.0, seed=13)
    full = mimi_random.encode(x)
    assert torch.equal(mimi_random.encode(x, num_codebooks=k), full[:, :k])


def test_decode_uses_prefix_not_zero_fill(mimi_random):
    codes = mimi_random.encode(speechlike(1.0, seed=14))
    a8 = mimi_random.decode(codes[:, :8])
    zero_filled = codes.clone()
    zero_filled[:, 8:] = 0  # 0 is a valid code: filling with it is wrong
    assert not torch.allclose(a8, mimi_random.decode(zero_filled), atol=1e-4)
    # the K-prefix decode equals decoding the latent summed over the first K levels only
    q = mimi_random.model.quantizer
    with torch.inference_mode():
        z = q.rvq_first.decode(codes[:, :1]) + q.rvq_rest.decode(codes[:, 1:8])
        assert rel_err(a8, mimi_random.model.decode_latent(z)) < 1e-6


def test_streaming_decoder_k_changes_take_effect_next_step(mimi_random):
    codec = mimi_random
    codes = codec.encode(speechlike(2.0, seed=15))
    ks = [32, 32, 8, 8, 1, 16, 4, 32] * 4
    f = min(len(ks), codes.shape[-1])
    dec = codec.stream_decoder()
    out = torch.cat([dec.step(codes[:, : ks[i], i : i + 1]) for i in range(f)], -1)
    # reference: batch-decode a latent where frame i is quantized with its own K
    q = codec.model.quantizer
    z = torch.cat([q.decode(codes[:, : ks[i], i : i + 1]) for i in range(f)], -1)
    with torch.inference_mode():
        ref = codec.model.decode_latent(z)
    assert rel_err(out, ref) < 1e-5


def test_remembered_frames_fill_the_attention_as_decoded_ones_do(tiny):
    """DecoderRunner.remember gives the transformer (and the upsampling) the state a full
    decode of those frames leaves, and leaves the SEANet decoder fresh: the frames pushed
    next differ from the one-pass decode only until its convolutions have warmed up."""
    codes = tiny.encode(speechlike(3.0, seed=21))
    a, b, n = runner.DecoderRunner(tiny.model, None), runner.DecoderRunner(tiny.model, None), 20
    a.push(codes[..., :n])
    b.remember(codes[..., :n])
    assert a.frames == b.frames == n
    ta, tb = a.state.transformer, b.state.transformer
    assert ta.offset == tb.offset == 2 * n  # steps at twice the frame rate
    for ca, cb in zip(ta.caches, tb.caches, strict=True):
        assert ca.n == cb.n > 0
        assert torch.equal(ca.buf[..., : ca.n, :], cb.buf[..., : cb.n, :])
    assert torch.equal(a.state.upsample.partial, b.state.upsample.partial)
    ya, yb = a.push(codes[..., n:]), b.push(codes[..., n:])
    fresh = runner.DecoderRunner(tiny.model, None).push(codes[..., n:])
    warm = 6 * 1920  # the convolutions' warm-up (codec.session.quick.WARMUP_S)
    assert not torch.allclose(ya[..., :1920], yb[..., :1920], atol=1e-4)  # SEANet was fresh
    assert rel_err(yb[..., warm:], ya[..., warm:]) < 1e-3
    assert rel_err(yb[..., warm:], ya[..., warm:]) < rel_err(fresh[..., warm:], ya[..., warm:])
