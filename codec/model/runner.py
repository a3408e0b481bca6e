"""The one chunk runner: the model over chunks of whole frames, state carried across calls.

Batch calls, long files and streaming all code through these two classes; they differ
only in the chunk size. Batch and long-file coding use chunks of `BATCH_CHUNK_FRAMES`
frames (5.12 s for Mimi), which keeps activations near the CPU cache and memory bounded
whatever the length; streaming uses every whole frame as it arrives (chunk_frames=None).
Because every conv and the attention window carry their state exactly (see
`MimiModel.init_encoder_state`), any chunking gives the result of one pass.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from .mimi import MimiModel

# Frames per chunk in batch calls (5.12 s). Chunks of 2.5-5 s were 1.2-1.7x faster than
# 20 s chunks on a 2-core CPU; results are the same.
BATCH_CHUNK_FRAMES = 64
# Frames per chunk of background work (the quality sweep's decodes, the token analysis),
# at most: the worker checks between chunks whether the user's request waits, so a chunk
# is the longest a K switch can wait for it. A ChunkPacer keeps them shorter where 8
# frames take long (the full-size Mimi on a small CPU: 0.18 s idle, 0.36 s beside the GUI)
BACKGROUND_CHUNK_FRAMES = 8


class ChunkPacer:
    """Chunk sizes (frames) for work that must stop promptly when asked: each chunk takes
    about `target_s()` seconds, whatever the model's size and the machine's load.

    Work that checks between chunks whether to stop (the background jobs, a decode the user
    may overtake) can only stop that soon; a fixed chunk is either long for the full-size
    Mimi on a small CPU (8 frames: 0.18-0.36 s on 2 cores) or needlessly short for the demo
    codec. The pacer times each chunk and sizes the next from it: at least 1 frame, at most
    `most`, growing by at most 2x at a time (one fast chunk is no proof), shrinking at once.
    `target_s` (and `threads`, the torch threads to run the chunk on, when given) are read
    before every chunk, so the caller may change them meanwhile (the app asks for shorter
    chunks on one thread while audio plays); `first_threads`, when given, is the count for
    the first chunk instead (a guess, which whatever arrives meanwhile waits for); whoever
    passes either restores the count after the work. Used from one thread.
    """

    def __init__(
        self,
        target_s: Callable[[], float],
        most: int,
        first: int = 2,
        threads: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        first_threads: int | None = None,
    ) -> None:
        self.target_s = target_s
        self.threads = threads
        self._first_threads = first_threads  # used up by the first chunk
        self.clock = clock
        self.most = max(1, int(most))
        self.frames = min(max(1, int(first)), self.most)  # the next chunk's size

    def spans(self, start: int, stop: int) -> Iterator[tuple[int, int]]:
        """(a, b) frame ranges covering start..stop; the time until the next one is asked
        for is the chunk's cost."""
        a = start
        while a < stop:
            b = min(stop, a + self.frames)
            n = self.threads() if self.threads is not None else None
            if self._first_threads is not None:
                n, self._first_threads = self._first_threads, None
            if n is not None and n != torch.get_num_threads():
                torch.set_num_threads(n)
            t0 = self.clock()
            yield a, b
            self._learn(b - a, self.clock() - t0)
            a = b

    def _learn(self, frames: int, seconds: float) -> None:
        per_frame = max(seconds, 1e-6) / max(frames, 1)
        want = int(self.target_s() / per_frame)
        self.frames = max(1, min(self.most, want, 2 * self.frames))


def frame_spans(
    start: int, stop: int, chunk: int | str | ChunkPacer | None
) -> Iterator[tuple[int, int]]:
    """(a, b) frame ranges covering start..stop: chunks of `chunk` frames ("batch": the
    batch chunk; None: all at once), or a pacer's."""
    if isinstance(chunk, ChunkPacer):
        yield from chunk.spans(start, stop)
        return
    step = batch_chunk_frames() if chunk == "batch" else (chunk or max(stop - start, 1))
    for a in range(start, stop, step):
        yield a, min(stop, a + step)


def batch_chunk_frames() -> int:
    """Frames per chunk of batch calls, read when a runner is made (tests change it)."""
    return BATCH_CHUNK_FRAMES


def as_tensor(x: Any, dtype: torch.dtype) -> torch.Tensor:
    """A torch tensor of `dtype` from a tensor or numpy array (no copy when it already is).

    Read-only arrays (the comparison shares its signal that way) are wrapped without a copy:
    the model never writes into its input, so torch's warning about them does not apply.
    """
    if isinstance(x, np.ndarray):
        x = np.ascontiguousarray(x)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch tensor or numpy array, got {type(x).__name__}")
    return x.to(dtype) if x.dtype != dtype else x


class EncoderRunner:
    """Audio in, codes out. `push(x [B, 1, n])` -> codes [B, K, f] of the chunks completed.

    Samples short of a whole chunk wait for the next push; `finish()` codes them (the model
    pads a last partial frame, as a batch pass does). chunk_frames: "batch" (the batch
    chunk), a number of frames, or None (every whole frame at once, for streaming).
    `num_codebooks` (K) may change between calls. Codes come back on `out_device`.
    """

    def __init__(
        self,
        model: MimiModel,
        num_codebooks: int,
        chunk_frames: int | str | None = "batch",
        out_device: torch.device | str = "cpu",
    ) -> None:
        self.model = model
        self.num_codebooks = num_codebooks
        self.frame_size = model.cfg.frame_size
        frames = batch_chunk_frames() if chunk_frames == "batch" else chunk_frames
        self.chunk = None if frames is None else int(frames) * self.frame_size
        self.out_device = out_device
        self.reset()

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def reset(self) -> None:
        self.state = self.model.init_encoder_state()
        self._held: torch.Tensor | None = None  # [B, 1, < chunk] samples not yet coded
        self._batch = 0
        self.samples = 0  # samples pushed
        self.frames = 0  # frames coded

    @torch.inference_mode()
    def _code(self, x: torch.Tensor) -> torch.Tensor:
        codes = self.model.encode(x.to(self.device), self.num_codebooks, self.state)
        self.frames += codes.shape[-1]
        return codes.to(self.out_device)

    def push(self, x: Any) -> torch.Tensor:
        x = as_tensor(x, torch.float32)
        self._batch = x.shape[0]
        self.samples += x.shape[-1]
        if self._held is not None:
            x, self._held = torch.cat([self._held, x], dim=-1), None
        step = self.chunk or (x.shape[-1] // self.frame_size) * self.frame_size
        whole = (x.shape[-1] // step) * step if step else 0
        outs = [self._code(x[..., s : s + step]) for s in range(0, whole, step)]
        if whole < x.shape[-1]:
            self._held = x[..., whole:].clone()  # a copy: the caller's big array is not kept
        if not outs:
            return torch.zeros(x.shape[0], self.num_codebooks, 0, dtype=torch.int64)
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)

    def finish(self) -> torch.Tensor:
        """Code the samples held back; codes [B, K, f] (f = 0 when none were held)."""
        held, self._held = self._held, None
        if held is None:
            return torch.zeros(self._batch, self.num_codebooks, 0, dtype=torch.int64)
        return self._code(held)


class DecoderRunner:
    """Codes in, audio out. `push(codes [B, K, f])` -> audio [B, 1, f * frame_size].

    Decodes in chunks of `chunk_frames` frames (None: all of it in one call); K may differ
    between calls (each call decodes the K-codebook prefix it is given).
    """

    def __init__(
        self,
        model: MimiModel,
        chunk_frames: int | str | None = "batch",
        out_device: torch.device | str = "cpu",
    ) -> None:
        self.model = model
        self.chunk = batch_chunk_frames() if chunk_frames == "batch" else chunk_frames
        self.out_device = out_device
        self.reset()

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def reset(self) -> None:
        self.state = self.model.init_decoder_state()
        self.frames = 0

    @torch.inference_mode()
    def remember(self, codes: Any, part: str = "all") -> None:
        """Feed codes [B, K, f] to the decoder's attention only (MimiModel.decode_memory):
        the frames are not heard, and the SEANet decoder starts fresh at the next push."""
        c = as_tensor(codes, torch.int64)
        if c.shape[-1]:
            self.model.decode_memory(c.to(self.device), self.state, part)
            self.frames += c.shape[-1]

    @torch.inference_mode()
    def push(self, codes: Any, part: str = "all") -> torch.Tensor:
        """part: "all", "semantic" or "acoustic" (see SplitResidualVQ.decode)."""
        c = as_tensor(codes, torch.int64)
        step = self.chunk or max(c.shape[-1], 1)
        outs = []
        for s in range(0, c.shape[-1], step):
            chunk = c[..., s : s + step].to(self.device)
            outs.append(self.model.decode(chunk, self.state, part).to(self.out_device))
            self.frames += chunk.shape[-1]
        if not outs:
            return torch.zeros(c.shape[0], 1, 0)
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)
