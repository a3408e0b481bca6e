"""Parity with an independent implementation: transformers' MimiModel, same random weights.

Both directions: weights made by us (native names) converted to HF and loaded by
transformers, and weights made by transformers (HF names) loaded by us.
Inputs: 3 s, 1.03 s (not a multiple of 1920 samples) and 15 s (past the 250-step window).
Beyond whole-codebook round trips: K-codebook prefixes decoded by transformers' own
quantizer and decoder, a batch of two clips against each clip alone, our streaming encoder
against transformers' streaming encoder past 10 s, and a negative control (a 249-step
attention window must fail the 15 s parity).
"""

from __future__ import annotations

import pytest
import torch

from codec import load_codec, save_codec
from tests.helpers.parity import analyse_mismatches
from tests.helpers.requirements import need_module
from tests.helpers.signals import rel_err, speechlike

transformers = need_module("transformers", minversion="5.24")

LENGTHS = {"3s": 72_000, "1.03s": 24_720, "15s": 360_000}


@pytest.fixture(scope="module")
def ours_to_hf(mimi_random, tmp_path_factory):
    d = tmp_path_factory.mktemp("hf_from_ours")
    save_codec(mimi_random, d, fmt="hf")
    hf, info = transformers.MimiModel.from_pretrained(str(d), output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    return mimi_random, hf.eval()


@pytest.fixture(scope="module")
def hf_to_ours(tmp_path_factory):
    torch.manual_seed(1234)
    hf = transformers.MimiModel(transformers.MimiConfig()).eval()
    # transformers leaves every codebook at zero: give them Gaussian entries at the scale
    # of the quantizer input, shrinking per level, before the first forward caches them.
    with torch.no_grad():
        lat = hf.encoder(speechlike(1.0)).latents
        for group in (
            hf.quantizer.semantic_residual_vector_quantizer,
            hf.quantizer.acoustic_residual_vector_quantizer,
        ):
            std = float(group.input_proj(lat).std())
            for lvl, layer in enumerate(group.layers):
                cb = layer.codebook
                usage = 0.5 + torch.rand(cb.cluster_usage.shape)
                cb.cluster_usage.copy_(usage)
                cb.embed_sum.copy_(
                    torch.randn(cb.embed_sum.shape) * std * 0.75**lvl * usage[:, None]
                )
                cb._embed = None
    d = tmp_path_factory.mktemp("ours_from_hf")
    hf.save_pretrained(str(d))
    return load_codec(str(d), "cpu"), hf


@pytest.mark.parametrize("direction", ["ours_to_hf", "hf_to_ours"])
@pytest.mark.parametrize(
    "length", [pytest.param(n, marks=[pytest.mark.slow] if n == "15s" else []) for n in LENGTHS]
)
def test_parity(direction, length, request):
    ours, hf = request.getfixturevalue(direction)
    x = speechlike(LENGTHS[length] / 24_000, seed=7)
    assert x.shape[-1] == LENGTHS[length]
    with torch.inference_mode():
        lat_ref = hf.encoder(x).latents
        lat = ours.encode_latent(x)
        codes_ref = hf.encode(x).audio_codes
        codes = ours.encode(x)
        # decoders on the same codes
        audio_ref = hf.decode(codes_ref).audio_values
        audio = ours.decode(codes_ref)
    f = -(-LENGTHS[length] // 1920)
    assert lat.shape == lat_ref.shape == (1, 512, f)
    assert codes.shape == codes_ref.shape == (1, 32, f)
    assert audio.shape == audio_ref.shape == (1, 1, 1920 * f)

    assert rel_err(lat, lat_ref) < 1e-5
    assert rel_err(audio, audio_ref) < 1e-5

    rep = analyse_mismatches(ours.model, lat, codes, codes_ref)
    print(
        f"{direction} {length}: latent rel {rel_err(lat, lat_ref):.2e}, audio rel "
        f"{rel_err(audio, audio_ref):.2e}, codes {100 * rep.agreement:.3f} % equal, "
        f"{rep.mismatches} mismatches = {rep.first_divergences} first divergences "
        f"(worst gap {rep.worst_gap:.1e}) + {rep.after_divergence} after them"
    )
    assert rep.semantic_equal == 1.0
    assert rep.agreement >= 0.995
    assert rep.near_ties == rep.first_divergences  # every divergence starts at a near-tie


@pytest.mark.parametrize("k", [1, 2, 8, 31])
def test_prefix_decode_matches_transformers(ours_to_hf, k):
    """codes[:, :K] through transformers' split quantizer and decoder, and through ours."""
    ours, hf = ours_to_hf
    x = speechlike(3.0, seed=17)
    with torch.inference_mode():
        codes = hf.encode(x).audio_codes
        ref = hf.decode(codes[:, :k]).audio_values
        got = ours.decode(codes[:, :k])
        full = ours.decode(codes)
    assert got.shape == ref.shape
    assert rel_err(got, ref) < 1e-5
    if k < 31:  # fewer codebooks decode to something else: the prefix really was used
        assert rel_err(got, full) > 1e-3


def test_a_batch_of_two_equals_each_clip_alone(ours_to_hf):
    ours, hf = ours_to_hf
    a, b = speechlike(4.0, seed=21), speechlike(4.0, seed=22)
    both = torch.cat([a, b])
    with torch.inference_mode():
        lat_both = ours.encode_latent(both)
        codes_both = ours.encode(both)
        audio_both = ours.decode(codes_both)
        hf_codes_both = hf.encode(both).audio_codes
        for i, x in enumerate((a, b)):
            lat = ours.encode_latent(x)
            assert rel_err(lat_both[i : i + 1], lat) < 1e-5
            rep = analyse_mismatches(ours.model, lat, codes_both[i : i + 1], ours.encode(x))
            assert rep.semantic_equal == 1.0 and rep.agreement >= 0.995
            assert rep.near_ties == rep.first_divergences
            assert rel_err(audio_both[i : i + 1], ours.decode(codes_both[i : i + 1])) < 1e-5
            # and transformers' batch agrees with ours, clip by clip
            rep = analyse_mismatches(
                ours.model, lat, codes_both[i : i + 1], hf_codes_both[i : i + 1]
            )
            assert rep.semantic_equal == 1.0 and rep.near_ties == rep.first_divergences


@pytest.mark.slow
def test_streaming_encoder_matches_transformers_streaming_past_10s(ours_to_hf):
    """Frame by frame on both sides (transformers' `use_streaming` caches), 11.5 s: past
    the 250-step (10 s) attention window, where a window kept wrongly would show."""
    ours, hf = ours_to_hf
    x = speechlike(144 * 1920 / 24_000, seed=9)  # 11.52 s, whole frames
    with torch.inference_mode():
        cache = padding = None
        ref = []
        for s in range(0, x.shape[-1], 1920):
            out = hf.encode(
                x[..., s : s + 1920], encoder_cache=cache, padding_cache=padding, use_streaming=True
            )
            cache, padding = out.encoder_cache, out.padding_cache
            ref.append(out.audio_codes)
        ref = torch.cat(ref, -1)
        enc = ours.stream_encoder()
        got = torch.cat([enc.step(x[..., s : s + 1920]) for s in range(0, x.shape[-1], 1920)], -1)
        lat = ours.encode_latent(x)
    assert got.shape == ref.shape == (1, 32, 144)
    rep = analyse_mismatches(ours.model, lat, got, ref)
    print(f"streaming vs transformers streaming: {100 * rep.agreement:.3f} % of codes equal")
    assert rep.semantic_equal == 1.0 and rep.agreement >= 0.995
    assert rep.near_ties == rep.first_divergences
    late = slice(126, 144)  # the frames after the window filled: each sees exactly 250 steps
    assert (got[..., late] == ref[..., late]).float().mean() >= 0.99


def test_a_249_step_window_fails_the_15s_parity(ours_to_hf, tmp_path):
    """Negative control: the same weights with the attention window one step short must
    fail the latent tolerance of `test_parity` on 15 s (and pass it within the window)."""
    import dataclasses

    from codec.model.codec import MimiCodec
    from codec.model.mimi import MimiModel

    ours, hf = ours_to_hf
    short_cfg = dataclasses.replace(ours.config, context=249)
    short = MimiModel(short_cfg)
    short.load_state_dict(ours.model.state_dict())
    short = MimiCodec(short)
    long_x = speechlike(15.0, seed=7)
    with torch.inference_mode():
        err_long = rel_err(short.encode_latent(long_x), hf.encoder(long_x).latents)
        short_x = long_x[..., : 8 * 24_000]  # under 10 s the window never fills: no difference
        err_short = rel_err(short.encode_latent(short_x), hf.encoder(short_x).latents)
    print(f"249-step window: latent rel. error {err_long:.2e} on 15 s, {err_short:.2e} on 8 s")
    assert err_long > 1e-5  # test_parity's tolerance catches it
    assert err_short < 1e-5
