"""Fixed-shape streaming steps, and their capture as CUDA graphs (docs/mimi.md,
"Fixed-shape streaming step").

The usual streaming path (runner.py) grows its key/value caches and replaces its states
every call; a CUDA graph cannot replay that. `FixedEncoderStep` and `FixedDecoderStep`
code `frames` frames per call with every state in buffers allocated once and updated in
place (modules/fixed.py), the same ops on the same shapes every call, and the inputs in
static buffers. Run eagerly they work on any device (the CPU tests compare them with the
usual streaming step); `CudaGraphStep` captures one and replays it. Nothing else in the
codec uses them: the CPU path never depends on CUDA.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .mimi import MimiModel
from .modules.fixed import FixedShape, reset_states


def _fixed_shape(model: MimiModel, batch: int, frames: int) -> FixedShape:
    p = next(model.parameters())
    return FixedShape(batch, frames * model.cfg.resample_stride, p.device, p.dtype)


class FixedEncoderStep:
    """`audio` [B, 1, 1920 frames] (static input) -> `run()` -> codes [B, n_q, frames].

    Codes of all n_q levels: a K-prefix of them is the K-codebook encoding.
    """

    def __init__(self, model: MimiModel, batch: int = 1, frames: int = 1) -> None:
        fixed = _fixed_shape(model, batch, frames)
        self.model, self.frames = model, frames
        self.state = model.init_encoder_state(fixed)
        n = frames * model.cfg.frame_size
        self.audio = torch.zeros(batch, 1, n, device=fixed.device, dtype=fixed.dtype)

    def run(self) -> torch.Tensor:
        with torch.inference_mode():
            return self.model.encode(self.audio, self.model.cfg.n_q, self.state)

    def reset(self) -> None:
        reset_states(self.state)


class FixedDecoderStep:
    """`codes` [B, n_q, frames] and `levels` [n_q] (static inputs) -> `run()` -> audio
    [B, 1, 1920 frames]. `set_codes(codes [B, K, frames])` fills both for a K-prefix."""

    def __init__(self, model: MimiModel, batch: int = 1, frames: int = 1) -> None:
        fixed = _fixed_shape(model, batch, frames)
        self.model, self.frames = model, frames
        self.state = model.init_decoder_state(fixed)
        n_q, dev = model.cfg.n_q, fixed.device
        self.codes = torch.zeros(batch, n_q, frames, dtype=torch.int64, device=dev)
        self.levels = torch.zeros(n_q, device=dev, dtype=fixed.dtype)
        self._k = 0

    def set_codes(self, codes: torch.Tensor) -> None:
        """Copy codes [B, K, frames] in; levels past K are left out of the decode."""
        k = codes.shape[1]
        self.codes[:, :k].copy_(codes)
        if k != self._k:
            self.levels.copy_((torch.arange(self.levels.shape[0]) < k).to(self.levels.dtype))
            self._k = k

    def run(self) -> torch.Tensor:
        with torch.inference_mode():
            z = self.model.quantizer.decode_weighted(self.codes, self.levels)
            return self.model.decode_latent(z, self.state)

    def reset(self) -> None:
        reset_states(self.state)


class CudaGraphStep:
    """A fixed step captured as a CUDA graph: `run()` replays it and returns its output
    buffer (overwritten by the next replay: copy what you keep).

    Warm-up calls (on a side stream, as torch requires before capture) move the streaming
    state, so the state is reset afterwards; capture itself runs nothing.
    """

    def __init__(self, step: FixedEncoderStep | FixedDecoderStep, warmup: int = 3) -> None:
        if next(step.model.parameters()).device.type != "cuda":
            raise ValueError("CUDA graphs need the model on a CUDA device")
        self.step = step
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(warmup):
                step.run()
        torch.cuda.current_stream().wait_stream(side)
        step.reset()
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.out = step.run()
        step.reset()

    def run(self) -> torch.Tensor:
        self.graph.replay()
        return self.out

    def reset(self) -> None:
        self.step.reset()


Runner = Callable[[], torch.Tensor]


def make_step(
    model: MimiModel, side: str, batch: int, frames: int, cuda_graph: bool
) -> tuple[FixedEncoderStep | FixedDecoderStep, Runner, Callable[[], None]]:
    """(fixed step, its run, its reset) for side "encoder" or "decoder", graphed or eager."""
    cls = FixedEncoderStep if side == "encoder" else FixedDecoderStep
    step = cls(model, batch, frames)
    if not cuda_graph:
        return step, step.run, step.reset
    graphed = CudaGraphStep(step)
    return step, graphed.run, graphed.reset
