"""Metrics of long signals, measured on evenly spaced excerpts (numpy/torch; no Qt).

Measuring every K of a two-hour file in full would take hours (STOI alone costs about
0.15 s per second of audio on a small CPU) and a full decode per K (0.7 GB each for two
hours of mono). Past the long-file policy's threshold (codec.session.policy) the metrics
are therefore measured on `COUNT` excerpts of `SECONDS` each, spread evenly from the start
to the end, and every place that shows them says so (`describe`).

An excerpt is decoded on its own from its codes, starting `WARMUP_S` earlier with a fresh
decoder state; the warm-up output is dropped. The decoder's memory is its causal
convolutions (a few frames) and its transformer's attention window (`context`, 20 s for
Mimi), so after the warm-up the excerpt is close to what the full decode gives there
(checked in tests), at a fraction of the cost.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import check_cancelled
from ..model.codec import CancelCheck, MimiCodec
from ..model.decode_run import DecodeRun
from ..model.runner import ChunkPacer

COUNT = 8
SECONDS = 10.0
WARMUP_S = 20.0


def excerpt_frames(
    num_frames: int, frame_rate: float, count: int | None = None, seconds: float | None = None
) -> list[tuple[int, int]]:
    """`count` (COUNT) frame ranges [f0, f1) of `seconds` (SECONDS) each, evenly spaced
    over num_frames.

    The first starts at frame 0 and the last ends at the last frame. When they would
    overlap, the whole signal is one range.
    """
    count = COUNT if count is None else count
    n = max(1, round((SECONDS if seconds is None else seconds) * frame_rate))
    if count * n >= num_frames:
        return [(0, num_frames)]
    starts = np.linspace(0, num_frames - n, count).round().astype(int)
    return [(int(s), int(s) + n) for s in starts]


def take(x: np.ndarray, ranges: list[tuple[int, int]], frame_size: int) -> np.ndarray:
    """The samples of x [C, T] in the frame ranges, concatenated: [C, sum of lengths]."""
    parts = [x[:, f0 * frame_size : f1 * frame_size] for f0, f1 in ranges]
    return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)


class ExcerptRun:
    """The decode of codes [C, K, F] at the frame ranges, concatenated: [C, samples], as work
    that can stop and go on: `run` raises Cancelled keeping the excerpts done and the one
    in progress (its decoder's state and samples), and the next `run` goes on from there.

    Each range is decoded from `warmup_s` (WARMUP_S) earlier (less at the start) with a
    fresh state; samples past num_samples (the zero-padded last frame) are dropped, as
    `take` of the full decode would drop them. `source` and `key`: what the codes are, for
    a caller that keeps the run (see `matches`). One thread at a time.
    """

    def __init__(
        self,
        codec: MimiCodec,
        codes: np.ndarray,
        ranges: list[tuple[int, int]],
        num_samples: int,
        warmup_s: float | None = None,
        source: object = None,
        key: tuple = (),
    ) -> None:
        self.codec, self.codes, self.ranges = codec, codes, ranges
        self.num_samples = num_samples
        self.warm = round((WARMUP_S if warmup_s is None else warmup_s) * codec.frame_rate)
        self.source, self.key = source, key
        self.done: list[np.ndarray] = []  # the finished excerpts, [C, samples] each
        # the excerpt in progress: its decode from the warm-up on, and the warm-up's samples
        self._current: tuple[DecodeRun, int] | None = None

    def _start(self, f0: int, f1: int) -> tuple[DecodeRun, int]:
        fs, w0 = self.codec.frame_size, max(0, f0 - self.warm)
        end = min(f1 * fs, self.num_samples) - w0 * fs
        run = DecodeRun(self.codec, np.ascontiguousarray(self.codes[..., w0:f1]), end)
        return run, (f0 - w0) * fs

    @torch.inference_mode()
    def run(self, cancel: CancelCheck | None = None, pacer: ChunkPacer | None = None) -> np.ndarray:
        """pacer: the decodes' chunks (default: batch chunks); `cancel` is checked between
        them."""
        while len(self.done) < len(self.ranges):
            check_cancelled(cancel, "decoding")
            if self._current is None:
                self._current = self._start(*self.ranges[len(self.done)])
            run, warm_up = self._current
            self.done.append(run.run(cancel=cancel, chunk_frames=pacer or "batch")[:, warm_up:])
            self._current = None
        return np.ascontiguousarray(np.concatenate(self.done, axis=1), dtype=np.float32)

    def matches(self, codec: MimiCodec, source: object, key: tuple) -> bool:
        """Still these excerpts of these codes (the same codec, source object and key)."""
        return codec is self.codec and source is self.source and key == self.key


def decode(
    codec: MimiCodec,
    codes: np.ndarray,
    ranges: list[tuple[int, int]],
    num_samples: int,
    warmup_s: float | None = None,
    cancel: CancelCheck | None = None,
    pacer: ChunkPacer | None = None,
) -> np.ndarray:
    """ExcerptRun's decode in one go: codes [C, K, F] -> [C, samples] at the ranges."""
    return ExcerptRun(codec, codes, ranges, num_samples, warmup_s).run(cancel, pacer)


def describe(ranges: list[tuple[int, int]], num_frames: int, frame_rate: float) -> str:
    """'' for the whole signal, else e.g. 'on 8 excerpts of 15 s (2.0 of 120.0 min)'."""
    if len(ranges) == 1 and ranges[0] == (0, num_frames):
        return ""
    n = ranges[0][1] - ranges[0][0]
    total = sum(f1 - f0 for f0, f1 in ranges)
    part, whole = total / frame_rate, num_frames / frame_rate
    share = (
        f"{part:.0f} s of {whole:.0f} s"
        if whole < 120
        else f"{part / 60:.1f} of {whole / 60:.1f} min"
    )
    return f"on {len(ranges)} excerpts of {n / frame_rate:.0f} s ({share})"
