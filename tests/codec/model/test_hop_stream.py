"""The hop stream (live coding half a frame at a time) against the frame stream and batch."""

from __future__ import annotations

import pytest
import torch

from codec import load_codec
from tests.helpers.signals import rel_err, speechlike


def _hop_code(codec, x: torch.Tensor, ks: list[int]):
    """Feed x [1, 1, 1920 F] hop by hop; codes [1, n_q, F] and the decode at K = ks[f]."""
    stream = codec.hop_stream()
    codes, audio = [], []
    for f, k in enumerate(ks):
        frame = x[..., f * codec.frame_size : (f + 1) * codec.frame_size]
        got = [stream.encode(h, levels=k) for h in frame.split(stream.hop, dim=-1)]
        assert [g.shape[-1] for g in got] == [0] * (len(got) - 1) + [1]
        assert got[-1].shape[1] == k
        audio.extend(stream.decode(got[-1]))
        codes.append(stream.all_codes())
    return torch.cat(codes, -1), torch.cat(audio, -1)


def _frame_decode(codec, codes: torch.Tensor, ks: list[int]) -> torch.Tensor:
    dec = codec.stream_decoder()
    return torch.cat([dec.step(codes[:, :k, f : f + 1]) for f, k in enumerate(ks)], -1)


@pytest.mark.parametrize("source", ["tiny", "demo"])
def test_hop_stream_equals_frame_stream_and_batch(source):
    codec = load_codec(source, "cpu")
    x = speechlike(4.0, seed=11)
    frames = x.shape[-1] // codec.frame_size
    ks = [32] * 10 + [3] * 10 + [1] * (frames - 20)  # K changes between frames
    codes, audio = _hop_code(codec, x, ks)
    assert codec.hop_stream().hop * 2 == codec.frame_size == 1920
    batch = codec.encode(x[..., : frames * codec.frame_size])
    assert codes.shape == batch.shape == (1, 32, frames)
    assert torch.equal(codes, batch)
    frame_audio = _frame_decode(codec, codes, ks)
    assert audio.shape == frame_audio.shape == (1, 1, frames * 1920)
    assert rel_err(audio, frame_audio) < 1e-5
    # and the batch decode of the K = 32 stretch (a batch decode has one K)
    full = codec.decode(codes[..., :10])
    assert rel_err(audio[..., : 10 * 1920], full) < 1e-5
    assert audio[..., 10 * 1920 :].abs().max() > 0.01  # not silence after the K change


@pytest.mark.slow
def test_hop_stream_full_size(mimi_random):
    x = speechlike(3.0, seed=12)
    frames = x.shape[-1] // 1920
    codes, audio = _hop_code(mimi_random, x, [8] * frames)
    batch = mimi_random.encode(x[..., : frames * 1920])
    assert (codes == batch).float().mean() >= 0.999
    assert rel_err(audio, mimi_random.decode(codes[:, :8])) < 1e-5


def test_whole_frames_are_the_frame_step(tiny):
    """Fed a frame at a time and decoded whole, the hop stream makes the frame-by-frame
    stream's calls: its codes and audio are that stream's."""
    x = speechlike(2.0, seed=15)
    frames = x.shape[-1] // 1920
    stream, enc, dec = tiny.hop_stream(), tiny.stream_encoder(), tiny.stream_decoder()
    for f in range(frames):
        frame = x[..., f * 1920 : (f + 1) * 1920]
        codes = stream.encode(frame, levels=8)
        (y,) = list(stream.decode(codes, whole=True))
        ref_codes = enc.step(frame)
        assert torch.equal(stream.all_codes(), ref_codes)
        assert y.shape == (1, 1, 1920)
        assert rel_err(y, dec.step(ref_codes[:, :8])) < 1e-6


def test_first_hop_comes_out_before_the_second_is_decoded(tiny):
    """What the live loop's latency gains: the decode yields the frame's first hop of audio
    having run the decoder transformer on one hop-rate step only."""
    stream = tiny.hop_stream()
    calls = []
    hook = tiny.model.decoder_transformer.register_forward_hook(
        lambda m, args, out: calls.append(out.shape[-1])
    )
    try:
        x = speechlike(0.08, seed=1)
        assert stream.encode(x[..., :960]).shape == (1, 32, 0)
        codes = stream.encode(x[..., 960:])
        pieces = stream.decode(codes)
        first = next(pieces)
        assert first.shape == (1, 1, 960) and calls == [1]
        second = next(pieces)
        assert second.shape == (1, 1, 960) and calls == [1, 1]
        assert next(pieces, None) is None
    finally:
        hook.remove()


def test_input_in_pieces_of_any_length_codes_as_batch(tiny):
    """The strided convs keep what is short of a stride for the next piece: pieces of any
    length (here 77 samples, and a mix) give the batch codes."""
    x = speechlike(1.6, seed=13)
    batch = tiny.encode(x)
    for sizes in ([77], [1, 500, 1919, 3000, 33]):
        stream, got, pos, i = tiny.hop_stream(), [], 0, 0
        while pos < x.shape[-1]:
            n = sizes[i % len(sizes)]
            got.append(stream.encode(x[..., pos : pos + n]))
            pos, i = pos + n, i + 1
        codes = torch.cat(got, -1)
        assert stream.frames == 20 and stream.pending == 0
        assert torch.equal(codes, batch)


def test_bad_input_and_an_unfinished_decode_are_refused(tiny):
    stream = tiny.hop_stream()
    with pytest.raises(ValueError, match="input must be"):
        stream.encode(torch.zeros(1, 2, 960))
    codes = stream.encode(torch.zeros(1, 1, 1920))
    assert codes.shape == (1, 32, 1) and stream.encode(torch.zeros(1, 1, 0)).shape[-1] == 0
    pieces = stream.decode(codes)
    next(pieces)
    with pytest.raises(RuntimeError, match="not taken to its end"):
        next(stream.decode(codes))


@pytest.mark.parametrize("k", [1, 2, 8, 32])
def test_prefix_search_continued_later_equals_the_full_search(mimi_random, k):
    """The quantizer's K-first search: its first k levels now and the rest later are the
    full search's codes, level for level (the residual carries over exactly)."""
    q = mimi_random.model.quantizer
    z = mimi_random.encode_latent(speechlike(2.0, seed=14))
    with torch.inference_mode():
        full = q.encode(z)
    now, later = q.encode_prefix(z, k)
    assert now.shape == (1, k, z.shape[-1])
    assert torch.equal(now, full[:, :k])
    assert torch.equal(later(), full)
