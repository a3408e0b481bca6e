"""Parity with an independent implementation: transformers' MimiModel, same random weights.

Both directions: weights made by us (native names) converted to HF and loaded by
transformers, and weights made by transformers (HF names) loaded by us.
Inputs: 3 s, 1.03 s (not a multiple of 1920 samples) and 15 s (past the 250-step window).
"""

from __future__ import annotations

import pytest
import torch

from codec import load_codec, save_codec

from .helpers import analyse_mismatches, rel_err, speechlike

transformers = pytest.importorskip("transformers", minversion="5.24")

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
@pytest.mark.parametrize("length", list(LENGTHS))
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
    assert rep.first_divergences + rep.after_divergence == rep.mismatches
