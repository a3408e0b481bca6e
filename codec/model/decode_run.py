"""A decode that can stop and go on (torch/numpy; no Qt).

Background decodes (the metrics' whole-signal decode, the long-file excerpts) step aside
for the user's requests: they raise Cancelled between chunks and are asked for again
later. A `DecodeRun` keeps the decoder's state and the samples written so far, so the
next call goes on from the next frame instead of from frame 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import check_cancelled
from .runner import ChunkPacer, DecoderRunner, frame_spans

if TYPE_CHECKING:
    from .codec import MimiCodec

Progress = Callable[[int, int], None]  # (done, total)
CancelCheck = Callable[[], bool]


class DecodeRun:
    """The decode of codes [C, K, F] -> [C, T] float32 (T: num_samples, or all frames'
    samples), as work that can stop and go on: `run(...)` returns the decode, or raises
    Cancelled keeping what it has done. One thread at a time. part: "all", "semantic" or
    "acoustic" (one group of the split quantizer alone). `source` and `key`: what the
    codes are (e.g. a comparison and its codes' generation, K, part), for a caller that
    keeps the run (see `matches`)."""

    def __init__(
        self,
        codec: MimiCodec,
        codes: torch.Tensor | np.ndarray,
        num_samples: int | None = None,
        part: str = "all",
        source: object = None,
        key: tuple = (),
    ) -> None:
        self.codec, self.part = codec, part
        self.source, self.key = source, key
        self.codes = codec.check_codes(codes)
        frames, fs = self.codes.shape[-1], codec.frame_size
        self.total = frames * fs if num_samples is None else min(num_samples, frames * fs)
        self.out = np.empty((self.codes.shape[0], self.total), np.float32)
        self.runner = DecoderRunner(codec.model, chunk_frames=None)  # given its chunks below
        self.frame = 0  # the next frame to decode

    def run(
        self,
        progress: Progress | None = None,
        cancel: CancelCheck | None = None,
        chunk_frames: int | str | ChunkPacer = "batch",
    ) -> np.ndarray:
        frames, fs = self.codes.shape[-1], self.codec.frame_size
        for f, b in frame_spans(self.frame, frames, chunk_frames):
            check_cancelled(cancel, "decoding")
            y = self.runner.push(self.codes[..., f:b], self.part)[:, 0].numpy()
            n = min(y.shape[1], self.total - f * fs)
            if n > 0:
                self.out[:, f * fs : f * fs + n] = y[:, :n]
            self.frame = b
            if progress is not None:
                progress(self.runner.frames, frames)
        return self.out

    def matches(self, codec: MimiCodec, source: object, key: tuple) -> bool:
        """Still the decode of these codes (the same codec, source object and key)."""
        return codec is self.codec and source is self.source and key == self.key
