"""Token analysis: colours from the codebooks' geometry, each level's share of the latent,
the split quantizer's parts, and two clips aligned and compared token by token."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codec.analysis import tokens as tk
from tests.helpers.signals import speechlike


@pytest.fixture(scope="module")
def geometry(mimi_random):
    return tk.CodebookGeometry.of(mimi_random.model)


def test_colours_are_deterministic_and_equal_for_equal_entries(mimi_random):
    table = tk.codebook_tables(mimi_random.model)[3].copy()
    table[7] = table[100]  # two equal entries
    a, b = tk.entry_colours(table), tk.entry_colours(table.copy())
    assert a.shape == (2048, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)  # the same table gives the same colours, every time
    assert np.array_equal(a[7], a[100])


def test_near_entries_get_near_colours():
    """A codebook whose entries lie along a curve (plus noise) in 64 dimensions: entries
    next to each other on the curve get close colours, entries far apart different ones."""
    rng = np.random.default_rng(2)
    t = np.linspace(0, 3 * np.pi, 256)
    basis = rng.standard_normal((3, 64))
    table = np.stack([np.cos(t), np.sin(t), t / 5], axis=1) @ basis
    table += 0.01 * rng.standard_normal(table.shape)
    c = tk.entry_colours(table.astype(np.float32)).astype(float)
    near = np.linalg.norm(c[1:] - c[:-1], axis=1).mean()  # neighbours on the curve
    far = np.linalg.norm(c[:128] - c[128:], axis=1).mean()  # half the curve apart
    assert near < 0.1 * far


def test_principal_coords_fix_the_sign():
    rng = np.random.default_rng(0)
    t = rng.standard_normal((300, 8)) * np.arange(8, 0, -1)
    c1, c2 = tk.principal_coords(t), tk.principal_coords(-t)  # a mirrored table
    assert np.allclose(np.abs(c1), np.abs(c2))  # the same axes ...
    assert np.allclose(tk.principal_coords(t.copy()), c1)  # ... and the same signs each time


def test_contributions_add_up(mimi_random):
    codec = mimi_random
    x = speechlike(2.0, seed=41)
    with torch.inference_mode():
        z = codec.encode_latent(x)
        codes = codec.encode(x)
        q = codec.model.quantizer
        vecs = q.level_vectors(codes)  # [1, 32, 512, F]
        acoustic = q.decode(codes, "acoustic")
        semantic = q.decode(codes, "semantic")
        full = q.decode(codes)
    assert torch.allclose(vecs[:, 1:].sum(1), acoustic, atol=1e-4)  # levels 1.. = acoustic part
    assert torch.allclose(vecs[:, 0], semantic, atol=1e-5)
    assert torch.allclose(semantic + acoustic, full, atol=1e-4)
    (c,) = tk.contributions(codec.model, z, codes)
    assert c.norms.shape == c.residual.shape == (32, codes.shape[-1])
    after_all = torch.linalg.vector_norm(z - full, dim=1)[0].numpy()
    np.testing.assert_allclose(c.residual[-1], after_all, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(c.norms[0], torch.linalg.vector_norm(semantic, dim=1)[0], rtol=1e-4)


def test_a_clip_against_itself_agrees_fully(geometry, mimi_random):
    x = speechlike(3.0, seed=42)
    codes = mimi_random.encode(x)[0].numpy()
    feats = tk.latent_features(mimi_random.encode_latent(x)[0])
    al = tk.align(feats, feats)
    assert al.method == "offset" and al.offset_frames == 0
    rows = tk.agreement(codes, codes, al, geometry)
    assert [r["agreement"] for r in rows] == [1.0] * 32
    assert all(r["distance"] == 0.0 for r in rows)


def test_a_delay_of_whole_frames_of_silence_is_found_exactly(geometry, mimi_random):
    x = speechlike(3.0, seed=43)
    delay = 5  # frames
    delayed = torch.cat([torch.zeros(1, 1, delay * 1920), x], dim=-1)
    a = mimi_random.encode(x)[0].numpy()
    b = mimi_random.encode(delayed)[0].numpy()
    za, zb = (tk.latent_features(mimi_random.encode_latent(s)[0]) for s in (x, delayed))
    al = tk.align(za, zb)
    assert al.method == "offset" and al.offset_frames == delay
    rows = tk.agreement(a, b, al, geometry)
    # the encoder's memory of the silence before (convs, attention) changes a few frames
    assert rows[0]["agreement"] > 0.9


@pytest.mark.parametrize("source", ["random:mimi", "demo"])
def test_speech_against_noise_agrees_on_few_frames(source):
    from codec import load_codec

    codec = load_codec(source, "cpu")
    geometry = tk.CodebookGeometry.of(codec.model)
    x = speechlike(3.0, seed=44)
    noise = 0.1 * torch.randn(1, 1, x.shape[-1], generator=torch.Generator().manual_seed(3))
    a, b = (codec.encode(s)[0].numpy() for s in (x, noise))
    za, zb = (tk.latent_features(codec.encode_latent(s)[0]) for s in (x, noise))
    rows = tk.agreement(a, b, tk.align(za, zb), geometry)
    assert rows[0]["agreement"] < 0.2 and rows[0]["distance"] > 0.3


def test_dtw_follows_a_change_of_tempo():
    """Features b are a's, every second frame doubled (a slower reading): the path maps
    each frame of b back to the frame of a it came from."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((60, 16))
    src = np.repeat(np.arange(60), [2 if i % 2 else 1 for i in range(60)])
    b = a[src]
    path, sim = tk.dtw_path(a, b)
    assert sim > 0.99  # each clip is centred on its own mean, so not exactly 1
    assert path[0].tolist() == [0, 0] and path[-1].tolist() == [59, len(b) - 1]
    assert all(src[j] == i for i, j in path)
    al = tk.align(a, b)
    assert al.method == "dtw"


def test_parts_decode_as_the_split_quantizer_sums(mimi_random):
    codec = mimi_random
    x = speechlike(1.5, seed=45)
    codes = codec.encode(x)[:, :8]
    sem = codec.decode(codes, part="semantic")
    assert torch.allclose(sem, codec.decode(codes[:, :1]), atol=1e-6)  # semantic = K = 1
    ac = codec.decode(codes, part="acoustic")
    assert ac.shape == sem.shape and not torch.allclose(ac, sem, atol=1e-3)
    with pytest.raises(ValueError, match="part must be"):
        codec.decode(codes, part="nonsense")


def _cancel_after(n: int):
    """A cancel check that says stop from its (n + 1)-th call on."""
    asked = iter(range(10**6))
    return lambda: next(asked) >= n


def test_an_analysis_that_steps_aside_goes_on_where_it_stopped(tiny):
    """A TokenAnalysisRun cancelled part-way (as the worker's background job is when the
    user's request waits) keeps its work: run again, it encodes only the frames it had not
    reached, and its result equals one run without a stop (two channels, so the stop also
    falls inside the second)."""
    from codec.errors import Cancelled
    from codec.session.comparison import Comparison

    x = speechlike(1.6, seed=16, batch=2)[:, 0].numpy()  # [2, T]: 20 frames a channel
    c = Comparison("two", x, 24_000)
    c.set_codes(np.stack([tiny.encode(x[i][None, None]).numpy()[0] for i in range(2)]), "tiny")
    whole = tk.analyse_comparison(tiny, c)

    calls = []
    inner = tiny.model.encode_latent
    tiny.model.encode_latent = lambda chunk, state=None: (
        calls.append(chunk.shape[-1] // 1920) or inner(chunk, state)
    )
    try:
        run = tk.TokenAnalysisRun(tiny, c)
        for chunks in (3, 4):  # chunks of 4 frames: stop in channel 0, then in channel 1
            with pytest.raises(Cancelled):
                run.run(cancel=_cancel_after(chunks), pacer=4)
            assert sum(calls) == 4 * (3 if chunks == 3 else 7)
        assert run.channel == 1 and run.frame == 8
        got = run.run(pacer=4)
    finally:
        tiny.model.encode_latent = inner
    assert sum(calls) == 40  # every frame of both channels encoded once
    assert run.matches(tiny, c) and got.generation == whole.generation
    for a, b in zip(got.contrib, whole.contrib, strict=True):
        np.testing.assert_allclose(a.norms, b.norms, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(a.residual, b.residual, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(a.latent_norm, b.latent_norm, rtol=1e-5, atol=1e-6)
    for a, b in zip(got.usage, whole.usage, strict=True):
        assert np.array_equal(a, b)
