"""`CodecInfo`: the one frozen description of a loaded codec that everything else reads.

The window, the views, the CLI and the reports take every size from here (codebooks,
entries per codebook, semantic codebooks, frame and sample rate, bits per token), so a
codec of other sizes (the 256-entry demo codec, a future model) needs no change elsewhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class CodecInfo:
    """What a codec is and where it runs; immutable, so threads may share it freely."""

    description: str  # e.g. "Mimi (kyutai/mimi@89091b3)"
    source: str  # what was asked for: "kyutai/mimi", "demo", a path, "random:mimi"...
    device: str  # "cpu", "cuda:0"
    sample_rate: int  # Hz
    frame_rate: float  # codec frames per second
    frame_size: int  # samples per frame at sample_rate
    num_codebooks: int
    codebook_size: int  # entries per codebook
    semantic_codebooks: int  # the first this many codebooks form the semantic group
    fallback_reason: str = ""  # why "auto" fell back to the bundled demo ('' if it did not)
    distilled: str = ""  # what the semantic group was distilled from ('' when unknown)

    @property
    def bits_per_token(self) -> float:
        return math.log2(self.codebook_size)

    @property
    def frame_seconds(self) -> float:
        return self.frame_size / self.sample_rate

    def bitrate(self, k: int) -> float:
        """Nominal bit/s when k codebooks are sent."""
        return k * self.bits_per_token * self.frame_rate

    def is_semantic(self, codebook: int) -> bool:
        return codebook < self.semantic_codebooks

    def num_frames(self, num_samples: int) -> int:
        return math.ceil(num_samples / self.frame_size)


def describe(
    cfg, description: str = "", source: str = "", device: str = "cpu", **extra
) -> CodecInfo:
    """The CodecInfo of a codec built from `cfg` (a CodecConfig)."""
    return CodecInfo(
        description=description or cfg.name,
        source=source,
        device=device,
        sample_rate=cfg.sample_rate,
        frame_rate=cfg.frame_rate,
        frame_size=cfg.frame_size,
        num_codebooks=cfg.n_q,
        codebook_size=cfg.codebook_size,
        semantic_codebooks=cfg.n_q_semantic,
        **extra,
    )
