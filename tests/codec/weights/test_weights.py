"""Loader: format detection, strict checks, refusal of pickle, save/load round trips."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from codec import CodecConfig, WeightsError, load_codec, save_codec
from codec.weights.convert import native_to_hf
from codec.weights.load import detect_format, read_safetensors
from tests.helpers.signals import speechlike


def _same_outputs(a, b) -> None:
    x = speechlike(0.5, seed=2)
    ca, cb = a.encode(x), b.encode(x)
    assert torch.equal(ca, cb)
    assert torch.allclose(a.decode(ca), b.decode(cb), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fmt", ["native", "hf"])
def test_save_load_round_trip_folder(tiny, tmp_path, fmt):
    save_codec(tiny, tmp_path / fmt, fmt=fmt)
    assert (tmp_path / fmt / "config.json").is_file()
    tensors, meta = read_safetensors(tmp_path / fmt / "model.safetensors")
    assert detect_format(tensors) == fmt
    assert meta["format"] == fmt
    _same_outputs(tiny, load_codec(tmp_path / fmt, "cpu"))


@pytest.mark.parametrize("fmt", ["native", "hf"])
def test_bare_safetensors_file_uses_its_metadata(tiny, tmp_path, fmt):
    p = save_codec(tiny, tmp_path / f"w_{fmt}.safetensors", fmt=fmt)
    (tmp_path / "config.json").unlink()  # only the file itself is left
    loaded = load_codec(p, "cpu")
    assert loaded.config == tiny.config
    _same_outputs(tiny, loaded)


def test_native_file_without_config_is_read_as_mimi(tmp_path, mimi_random):
    sd = {k: v.contiguous() for k, v in mimi_random.model.state_dict().items()}
    p = tmp_path / "tokenizer-e351c8d8-checkpoint125.safetensors"
    save_file(sd, str(p))  # no metadata, no config: like Kyutai's file
    loaded = load_codec(p, "cpu")
    assert loaded.config == CodecConfig.mimi()
    assert len(sd) == 318
    assert sum(v.numel() for v in sd.values()) == 96_151_393


def test_hf_nested_layout_loads(tiny, tmp_path):
    """transformers 5.x save_pretrained writes nested names (encoder.encoder_seanet...)."""
    from codec.weights.convert import _NESTED

    flat = native_to_hf(tiny.model.state_dict(), tiny.config.num_heads)
    nested = {}
    for k, v in flat.items():
        for old, new in _NESTED:
            if k.startswith(old):
                k = new + k[len(old) :]
                break
        nested[k] = v.contiguous()
    assert any(k.startswith("encoder.encoder_seanet.") for k in nested)
    save_file(nested, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps(tiny.config.to_hf_dict()))
    _same_outputs(tiny, load_codec(tmp_path, "cpu"))


def _native_file(tiny, tmp_path, mutate) -> str:
    sd = {k: v.clone().contiguous() for k, v in tiny.model.state_dict().items()}
    mutate(sd)
    p = tmp_path / "w.safetensors"
    save_file(sd, str(p), metadata={"codec_config": json.dumps(tiny.config.to_dict())})
    return str(p)


def test_wrong_shape_is_named(tiny, tmp_path):
    def mutate(sd):
        sd["decoder.model.0.conv.conv.weight"] = torch.zeros(3, 3, 3)

    with pytest.raises(WeightsError, match=r"misshapen: decoder\.model\.0\.conv\.conv\.weight"):
        load_codec(_native_file(tiny, tmp_path, mutate), "cpu")


def test_missing_tensor_is_named(tiny, tmp_path):
    def mutate(sd):
        del sd["quantizer.rvq_rest.vq.layers.3._codebook.embedding_sum"]

    with pytest.raises(WeightsError, match=r"missing: quantizer\.rvq_rest\.vq\.layers\.3"):
        load_codec(_native_file(tiny, tmp_path, mutate), "cpu")


def test_extra_tensor_is_named(tiny, tmp_path):
    def mutate(sd):
        sd["encoder.model.99.conv.conv.weight"] = torch.zeros(1)

    with pytest.raises(WeightsError, match=r"unexpected: encoder\.model\.99"):
        load_codec(_native_file(tiny, tmp_path, mutate), "cpu")


def test_config_that_does_not_match_weights(tiny, tmp_path):
    p = save_codec(tiny, tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    cfg["num_layers"] = 3
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(WeightsError, match=r"missing: .*transformer\.layers\.2"):
        load_codec(p.parent, "cpu")


@pytest.mark.parametrize("suffix", [".pt", ".safetensors", ".bin"])
def test_pickle_is_refused(tmp_path, suffix):
    p = tmp_path / f"model{suffix}"
    torch.save({"x": torch.zeros(2)}, p)
    with pytest.raises(WeightsError, match="pickle"):
        load_codec(p, "cpu")
    (tmp_path / "legacy.pkl").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(WeightsError, match="pickle"):
        load_codec(tmp_path / "legacy.pkl", "cpu")


def test_truncated_and_foreign_files(tiny, tmp_path):
    p = save_codec(tiny, tmp_path / "t.safetensors")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="damaged or truncated"):
        load_codec(p, "cpu")
    txt = tmp_path / "notes.safetensors"
    txt.write_text("hello, I am not weights")
    with pytest.raises(WeightsError, match="not a safetensors"):
        load_codec(txt, "cpu")
    other = tmp_path / "other.safetensors"
    save_file({"fc.weight": torch.zeros(2, 2)}, str(other))
    with pytest.raises(WeightsError, match="no Mimi tensor names"):
        load_codec(other, "cpu")
    with pytest.raises(WeightsError, match="not found"):
        load_codec(tmp_path / "absent.safetensors", "cpu")


def test_offline_hub_fails_fast_with_a_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    import time

    t = time.monotonic()
    with pytest.raises(WeightsError, match=r"cannot get (kyutai/mimi|the model)"):
        load_codec("kyutai/mimi", "cpu")
    assert time.monotonic() - t < 5


def test_hf_config_round_trip():
    cfg = CodecConfig.mimi()
    assert CodecConfig.from_dict(cfg.to_hf_dict()) == cfg
    assert CodecConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown codec config keys"):
        CodecConfig.from_dict({"dimensionz": 3})


def test_codes_roundtrip_through_safetensors(tiny, tmp_path):
    from codec.audio.codes_file import CodesFile, load_codes, save_codes

    codes = tiny.encode(speechlike(0.4, batch=2))
    save_codes(tmp_path / "c.safetensors", CodesFile(codes, 44_100, 17_640, model="tiny"))
    back = load_codes(tmp_path / "c.safetensors")
    assert torch.equal(back.codes, codes)
    assert (back.sample_rate, back.num_samples, back.model) == (44_100, 17_640, "tiny")
    assert load_file(str(tmp_path / "c.safetensors"))["codes"].dtype == torch.int64


def test_auto_falls_back_to_the_demo_with_a_reason(tiny, tmp_path, monkeypatch):
    import time

    import codec.weights.load as weights

    demo = tmp_path / "demo"
    save_codec(tiny, demo)
    monkeypatch.setattr(weights, "DEMO_DIR", demo)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    t = time.monotonic()
    codec = load_codec(device="cpu")  # no argument: "auto"
    assert time.monotonic() - t < 5
    assert codec.description.startswith("demo codec")
    assert "cannot get the model from the Hugging Face hub" in codec.fallback_reason
    assert weights.is_fallback(codec)
    monkeypatch.setattr(weights, "DEMO_DIR", tmp_path / "missing")
    with pytest.raises(WeightsError, match=r"Hugging Face hub.*demo codec is missing"):
        load_codec(device="cpu")
