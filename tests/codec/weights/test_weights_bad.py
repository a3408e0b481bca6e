"""Damaged weights and mismatched configs: each is one precise WeightsError, never a crash,
a traceback, or a huge allocation."""

from __future__ import annotations

import json
import re
import time

import pytest
import torch
from safetensors.torch import save_file

from codec import WeightsError, load_codec, save_codec
from tests.helpers.cli import assert_one_line_error, run_cli


def test_empty_weights_file(tmp_path):
    p = tmp_path / "model.safetensors"
    p.write_bytes(b"")
    with pytest.raises(WeightsError, match=r"empty \(0 bytes\)"):
        load_codec(p, "cpu")


def test_a_download_cut_anywhere_is_a_weights_error(tiny, tmp_path):
    """Cut the file at every interesting place: inside the length prefix, inside the JSON
    header, at the start of the tensor data, in the middle, one byte short."""
    full = save_codec(tiny, tmp_path / "full.safetensors").read_bytes()
    header_end = 8 + int.from_bytes(full[:8], "little")
    cuts = [1, 7, 8, 9, header_end // 2, header_end - 1, header_end, header_end + 1]
    cuts += [len(full) // 2, len(full) - 1]
    for n in cuts:
        p = tmp_path / "cut" / "model.safetensors"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(full[:n])
        with pytest.raises(WeightsError) as e:
            load_codec(p, "cpu")
        assert "\n" not in str(e.value)
        assert any(s in str(e.value) for s in ("truncated", "not a safetensors")), (n, e.value)


# refused while reading config.json, or when the model's shapes are worked out from it
BAD_CONFIG = r"bad config\.json in .*: |the tiny config does not describe a valid codec: "


def _with_config(tiny, tmp_path, **change) -> str:
    """tiny's weights beside a config.json with `change` applied."""
    folder = tmp_path / "m"
    save_codec(tiny, folder)
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(change)
    (folder / "config.json").write_text(json.dumps(cfg))
    return str(folder)


@pytest.mark.parametrize(
    "change, expect",
    [
        ({"num_heads": 0}, BAD_CONFIG),
        ({"ratios": [8, 0, 5]}, BAD_CONFIG),
        ({"frame_rate": 0.0}, BAD_CONFIG),
        ({"n_q": 1}, BAD_CONFIG),
        ({"codebook_size": 4096}, r"misshapen: .*codebook"),
        ({"dimension": 10_000_000}, "misshapen"),  # 2e15 parameters: must not be allocated
        ({"num_layers": 9}, r"missing: .*transformer\.layers\.2"),
        ({"dimensionz": 3}, "unknown codec config keys"),
        ({"num_layers": "two"}, BAD_CONFIG),
        ({"ratios": 5}, BAD_CONFIG),
    ],
)
def test_config_that_does_not_fit_the_weights(tiny, tmp_path, change, expect):
    folder = _with_config(tiny, tmp_path, **change)
    t0 = time.monotonic()
    with pytest.raises(WeightsError, match=expect):
        load_codec(folder, "cpu")
    assert time.monotonic() - t0 < 20  # refused from shapes, not after building a giant


def test_config_in_the_metadata_that_is_not_json(tiny, tmp_path):
    sd = {k: v.contiguous() for k, v in tiny.model.state_dict().items()}
    p = tmp_path / "w.safetensors"
    save_file(sd, str(p), metadata={"codec_config": "{not json"})
    with pytest.raises(WeightsError, match=r"bad codec config for w\.safetensors"):
        load_codec(p, "cpu")


def test_wrong_names_in_a_foreign_mimi_like_file(tiny, tmp_path):
    """Mimi-like names with a typo in every key: named as unexpected and missing."""
    sd = {k.replace("layers", "layerz"): v.contiguous() for k, v in tiny.model.state_dict().items()}
    p = tmp_path / "w.safetensors"
    save_file(sd, str(p), metadata={"codec_config": json.dumps(tiny.config.to_dict())})
    with pytest.raises(WeightsError, match=r"missing: .*; \d+ unexpected: .*layerz"):
        load_codec(p, "cpu")


def test_tensor_with_a_wrong_dtype_shape_is_named(tiny, tmp_path):
    sd = {k: v.contiguous() for k, v in tiny.model.state_dict().items()}
    name = next(k for k in sd if k.endswith("embedding_sum"))
    sd[name] = torch.zeros(3, dtype=torch.int8)
    p = tmp_path / "w.safetensors"
    save_file(sd, str(p), metadata={"codec_config": json.dumps(tiny.config.to_dict())})
    with pytest.raises(WeightsError, match="misshapen: " + re.escape(name)):
        load_codec(p, "cpu")


def test_cli_truncated_weights_is_one_line(tiny, tmp_path):
    from tests.helpers.signals import write_tone

    w = save_codec(tiny, tmp_path / "w.safetensors")
    w.write_bytes(w.read_bytes()[:5000])
    src = tmp_path / "in.wav"
    write_tone(src, seconds=0.2, sr=24_000, channels=1)
    r = run_cli("roundtrip", str(src), "-o", str(tmp_path / "o.wav"), "--weights", str(w))
    assert_one_line_error(r, "damaged or truncated safetensors file")
