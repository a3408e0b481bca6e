"""Codes on disk: safetensors holding `codes` [C, K, F] int64 plus metadata.

Metadata (strings): sample_rate (of the source file), codec_sample_rate, frame_rate,
frames, channels, num_samples (source length at its own rate), codebook_size, model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..errors import CodecError
from .atomic import atomic_write


@dataclass
class CodesFile:
    codes: torch.Tensor  # [C, K, F] int64
    sample_rate: int  # the source's rate; decode resamples back to it
    num_samples: int  # source length at sample_rate
    codec_sample_rate: int = 24_000
    frame_rate: float = 12.5
    codebook_size: int = 2048
    model: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, info, codes: torch.Tensor, sample_rate: int, num_samples: int) -> CodesFile:
        """Codes [C, K, F] made by the codec `info` describes (a CodecInfo), of a source at
        sample_rate Hz, num_samples long."""
        return cls(
            codes=codes,
            sample_rate=sample_rate,
            num_samples=num_samples,
            codec_sample_rate=info.sample_rate,
            frame_rate=info.frame_rate,
            codebook_size=info.codebook_size,
            model=info.description,
        )


def save_codes(path: str | os.PathLike, cf: CodesFile) -> Path:
    """Write `cf` atomically; CodecError (one line) when the file cannot be written."""
    p = Path(path)
    c = cf.codes
    meta = {
        "format": "mimi-explorer-codes/1",
        "sample_rate": str(cf.sample_rate),
        "num_samples": str(cf.num_samples),
        "codec_sample_rate": str(cf.codec_sample_rate),
        "frame_rate": str(cf.frame_rate),
        "codebook_size": str(cf.codebook_size),
        "channels": str(c.shape[0]),
        "num_codebooks": str(c.shape[1]),
        "frames": str(c.shape[2]),
        "model": cf.model,
        **cf.extra,
    }
    try:  # a temporary beside `p`, renamed when complete: no half-written codes file
        with atomic_write(p) as tmp:
            save_file({"codes": c.to(torch.int64).contiguous().cpu()}, str(tmp), metadata=meta)
    except (OSError, SafetensorError) as e:
        raise CodecError(f"cannot write {p}: {e}") from e
    return p


def load_codes(path: str | os.PathLike) -> CodesFile:
    p = Path(path)
    if not p.is_file():
        raise CodecError(f"codes file not found: {p}")
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = dict(f.metadata() or {})
            codes = f.get_tensor("codes")
    except (SafetensorError, OSError, ValueError, KeyError) as e:
        raise CodecError(f"{p.name} is not a codes file: {e}") from e
    if not meta.get("format", "").startswith("mimi-explorer-codes/"):
        raise CodecError(f"{p.name} is safetensors but not a Mimi Explorer codes file")
    if codes.dim() != 3:
        raise CodecError(f"{p.name}: codes must be [channels, codebooks, frames]")
    try:
        known = {
            "format",
            "sample_rate",
            "num_samples",
            "codec_sample_rate",
            "frame_rate",
            "codebook_size",
            "channels",
            "num_codebooks",
            "frames",
            "model",
        }
        return CodesFile(
            codes=codes.to(torch.int64),
            sample_rate=int(meta["sample_rate"]),
            num_samples=int(meta["num_samples"]),
            codec_sample_rate=int(meta.get("codec_sample_rate", 24_000)),
            frame_rate=float(meta.get("frame_rate", 12.5)),
            codebook_size=int(meta.get("codebook_size", 2048)),
            model=meta.get("model", ""),
            extra={k: v for k, v in meta.items() if k not in known},
        )
    except (KeyError, ValueError) as e:
        raise CodecError(f"{p.name}: bad codes metadata ({e})") from e
