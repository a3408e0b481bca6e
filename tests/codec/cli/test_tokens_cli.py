"""`roundtrip --parts` against an independent decode of each part, and the `tokens` command."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf
import torch

from codec import save_codec
from codec.cli import run
from tests.helpers.requirements import need_module
from tests.helpers.signals import speechlike


def _clip(path, seconds=2.0, seed=51) -> np.ndarray:
    x = speechlike(seconds, seed=seed)[0, 0].numpy()
    sf.write(str(path), x, 24_000, subtype="FLOAT")  # at the codec rate: no resampling
    return x


def test_acoustic_part_equals_transformers_acoustic_quantizer_and_decoder(
    mimi_random, tmp_path, capsys
):
    transformers = need_module("transformers", minversion="5.24")
    src, out = tmp_path / "in.wav", tmp_path / "ac.wav"
    x = _clip(src)
    args = ["roundtrip", str(src), "-o", str(out), "--weights", "random:mimi", "--device", "cpu"]
    assert run([*args, "--codebooks", "8", "--parts", "acoustic"]) == 0, capsys.readouterr().err
    got, _ = sf.read(str(out), dtype="float32")
    save_codec(mimi_random, tmp_path / "hf", fmt="hf")
    hf = transformers.MimiModel.from_pretrained(str(tmp_path / "hf")).eval()
    with torch.inference_mode():
        codes = mimi_random.encode(torch.from_numpy(x).view(1, 1, -1))
        latent = hf.quantizer.acoustic_residual_vector_quantizer.decode(codes[:, 1:8])
        want = hf.decoder(latent).audio_values[0, 0, : len(x)].numpy()
    assert got.shape == want.shape
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-5
    full = tmp_path / "all.wav"
    assert run([*args[:3], str(full), *args[4:], "--codebooks", "8"]) == 0
    assert not np.allclose(sf.read(str(full), dtype="float32")[0], got, atol=1e-3)


def test_semantic_part_equals_one_codebook(tmp_path):
    src = tmp_path / "in.wav"
    _clip(src, 1.0, seed=52)
    sem, one = tmp_path / "sem.wav", tmp_path / "one.wav"
    base = ["roundtrip", str(src), "--weights", "random:tiny", "--device", "cpu"]
    assert run([*base, "-o", str(sem), "--codebooks", "8", "--parts", "semantic"]) == 0
    assert run([*base, "-o", str(one), "--codebooks", "1"]) == 0
    np.testing.assert_array_equal(sf.read(str(sem))[0], sf.read(str(one))[0])


def test_tokens_of_one_clip_and_of_a_clip_against_itself(tmp_path, capsys):
    src = tmp_path / "a.wav"
    _clip(src, 1.5, seed=53)
    tiny = ["--weights", "random:tiny", "--device", "cpu", "--json"]
    assert run(["tokens", str(src), *tiny]) == 0
    one = json.loads(capsys.readouterr().out)
    assert len(one["codebooks"]) == 32 and "alignment" not in one
    row = one["codebooks"][0]
    assert set(row) == {"index", "usage", "entropy_bits", "change_rate", "mean_contribution"}
    assert 0 < row["usage"] <= 1 and row["mean_contribution"] > 0
    assert run(["tokens", str(src), str(src), *tiny]) == 0
    two = json.loads(capsys.readouterr().out)
    assert two["alignment"]["method"] == "offset" and two["alignment"]["offset_frames"] == 0
    assert [r["agreement"] for r in two["codebooks"]] == [1.0] * 32
    assert all(r["distance"] == 0.0 for r in two["codebooks"])


def test_tokens_finds_a_delay_from_the_command_line(tmp_path, capsys):
    x = speechlike(2.0, seed=54)[0, 0].numpy()
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    sf.write(str(a), x, 24_000, subtype="FLOAT")
    sf.write(str(b), np.concatenate([np.zeros(3 * 1920, np.float32), x]), 24_000, subtype="FLOAT")
    assert run(["tokens", str(a), str(b), "--weights", "random:mimi", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["alignment"] == {**out["alignment"], "method": "offset", "offset_frames": 3}
