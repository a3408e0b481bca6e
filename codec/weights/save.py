"""Saving codec weights as safetensors (native or Hugging Face names), atomically."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import save_file

from ..audio.atomic import atomic_write
from ..model.codec import MimiCodec
from ..model.mimi import MimiModel
from .convert import native_to_hf
from .load import CONFIG_META_KEY


def save_codec(codec: MimiCodec | MimiModel, path: str | Path, fmt: str = "native") -> Path:
    """Write weights as safetensors with the config in the metadata and in config.json.

    `path` is a `.safetensors` file (config.json goes beside it) or a folder (then
    `model.safetensors` + `config.json`). `fmt` is 'native' (Kyutai names) or 'hf'.
    The files are written to a temporary name first and then renamed.
    """
    model = codec.model if isinstance(codec, MimiCodec) else codec
    p = Path(path)
    if p.suffix != ".safetensors":
        p.mkdir(parents=True, exist_ok=True)
        p = p / "model.safetensors"
    p.parent.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    cfg = model.cfg
    if fmt == "hf":
        sd = native_to_hf(sd, cfg.num_heads)
        cfg_dict = cfg.to_hf_dict()
    elif fmt == "native":
        cfg_dict = cfg.to_dict()
    else:
        raise ValueError(f"fmt must be 'native' or 'hf', not {fmt!r}")
    # each file appears complete or not at all (temporary beside it, then renamed)
    with atomic_write(p) as tmp:
        meta = {CONFIG_META_KEY: json.dumps(cfg.to_dict()), "format": fmt}
        save_file(sd, str(tmp), metadata=meta)
    with atomic_write(p.parent / "config.json") as tmp:
        tmp.write_text(json.dumps(cfg_dict, indent=2) + "\n")
    return p
