"""`MimiCodec`: the public face of the model (batch encode/decode, streaming objects).

Batch calls and the streaming objects code through the same runners
(`codec.model.runner`), with chunks of 64 frames or of whatever whole frames arrive; both
give the result of one pass (every conv and the attention window carry their state).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from ..errors import check_cancelled
from .config import CodecConfig
from .hop_stream import HopStream
from .info import CodecInfo, describe
from .mimi import MimiModel
from .runner import (
    ChunkPacer,
    DecoderRunner,
    EncoderRunner,
    as_tensor,
    batch_chunk_frames,
    frame_spans,
)

Progress = Callable[[int, int], None]  # (frames done, frames total)
CancelCheck = Callable[[], bool]


def _full_precision_on_cuda(device: torch.device) -> None:
    """Turn TF32 off for CUDA convolutions and matmuls (process-wide torch flags).

    PyTorch lets cuDNN use TF32 by default. Measured on an H100 with Mimi: with TF32,
    2.7 % of the codes differed from the CPU's and decoded audio by 1e-3; without it, codes
    were 100 % equal, audio within 1.8e-6, and batch coding was no slower.
    """
    if device.type == "cuda":
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False


class MimiCodec:
    """A loaded codec on one device; `info` describes it (a frozen CodecInfo)."""

    def __init__(
        self,
        model: MimiModel,
        description: str = "",
        source: str = "",
        fallback_reason: str = "",
        distilled: str = "",
    ) -> None:
        self.model = model.eval()
        _full_precision_on_cuda(self.device)
        self.config: CodecConfig = model.cfg
        self.description = description or model.cfg.name
        self.source = source
        self.fallback_reason = fallback_reason
        self.distilled = distilled

    # ---- description ------------------------------------------------------------------
    @property
    def info(self) -> CodecInfo:
        return describe(
            self.config,
            self.description,
            self.source,
            str(self.device),
            fallback_reason=self.fallback_reason,
            distilled=self.distilled,
        )

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    def frame_rate(self) -> float:
        return self.config.frame_rate

    @property
    def frame_size(self) -> int:
        return self.config.frame_size

    @property
    def num_codebooks(self) -> int:
        return self.config.n_q

    @property
    def codebook_size(self) -> int:
        return self.config.codebook_size

    @property
    def semantic_codebooks(self) -> int:
        return self.config.n_q_semantic

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def num_frames(self, num_samples: int) -> int:
        return math.ceil(num_samples / self.frame_size)

    def bitrate(self, k: int) -> float:
        return self.config.bitrate(k)

    def to(self, device: str | torch.device) -> MimiCodec:
        self.model.to(device)
        _full_precision_on_cuda(self.device)
        return self

    def __repr__(self) -> str:
        return f"MimiCodec({self.description!r}, device={self.device})"

    # ---- checks -------------------------------------------------------------------------
    def check_audio(self, audio: Any) -> torch.Tensor:
        """audio as a float32 tensor [B, 1, T], T > 0; ValueError otherwise."""
        x = as_tensor(audio, torch.float32)
        if x.dim() != 3 or x.shape[1] != 1:
            raise ValueError(f"audio must be [B, 1, T], got {list(x.shape)}")
        if x.shape[-1] == 0:
            raise ValueError("audio is empty (T = 0)")
        return x

    def check_k(self, k: int) -> int:
        if not 1 <= int(k) <= self.num_codebooks:
            raise ValueError(f"number of codebooks must be 1..{self.num_codebooks}, got {k}")
        return int(k)

    def check_codes(self, codes: Any) -> torch.Tensor:
        """codes as an int64 tensor [B, K, F] with 1 <= K <= n_q, F > 0, ids in range."""
        c = as_tensor(codes, torch.int64)
        if c.dim() != 3 or c.shape[-1] == 0:
            raise ValueError(f"codes must be [B, K, F] with F > 0, got {list(c.shape)}")
        self.check_k(c.shape[1])
        if c.numel() and (int(c.min()) < 0 or int(c.max()) >= self.codebook_size):
            raise ValueError(f"codes must lie in 0..{self.codebook_size - 1}")
        return c

    # ---- batch --------------------------------------------------------------------------
    @torch.inference_mode()
    def encode_latent(self, audio: Any) -> torch.Tensor:
        """audio [B, 1, T] float32 at 24 kHz -> unquantized latent [B, D, F] (input device)."""
        x = self.check_audio(audio)
        state = self.model.init_encoder_state()
        step = batch_chunk_frames() * self.frame_size
        outs = [
            self.model.encode_latent(x[..., s : s + step].to(self.device), state)
            for s in range(0, x.shape[-1], step)
        ]
        return torch.cat(outs, dim=-1).to(x.device)

    def encode(
        self,
        audio: Any,
        num_codebooks: int | None = None,
        progress: Progress | None = None,
        cancel: CancelCheck | None = None,
    ) -> torch.Tensor:
        """audio [B, 1, T] float32 at 24 kHz -> codes [B, K, ceil(T / 1920)] int64.

        K = `num_codebooks` (default: all). The result lives on the input's device.
        """
        x = self.check_audio(audio)
        runner = EncoderRunner(self.model, self.check_k(num_codebooks or self.num_codebooks))
        total, step = self.num_frames(x.shape[-1]), runner.chunk
        outs = []
        for s in range(0, x.shape[-1], step):
            check_cancelled(cancel, "encoding")
            outs.append(runner.push(x[..., s : s + step]))
            if s + step >= x.shape[-1]:
                outs.append(runner.finish())
            if progress is not None:
                progress(runner.frames, total)
        return torch.cat(outs, dim=-1).to(x.device)

    def decode(
        self,
        codes: Any,
        progress: Progress | None = None,
        cancel: CancelCheck | None = None,
        part: str = "all",
        chunk: ChunkPacer | None = None,
    ) -> torch.Tensor:
        """codes [B, K, F] (1 <= K <= num_codebooks) -> audio [B, 1, 1920 F] float32.

        Decodes the K-codebook prefix as given; missing codebooks are left out, never filled.
        part "semantic" / "acoustic" decodes one group of the split quantizer alone.
        chunk: a pacer for the chunks (cancel is checked between them), else batch chunks.
        """
        c = self.check_codes(codes)
        runner = DecoderRunner(self.model, chunk_frames=None)  # given its chunks below
        outs = []
        for a, b in frame_spans(0, c.shape[-1], chunk or "batch"):
            check_cancelled(cancel, "decoding")
            outs.append(runner.push(c[..., a:b], part))
            if progress is not None:
                progress(runner.frames, c.shape[-1])
        return torch.cat(outs, dim=-1).to(c.device)

    # ---- streaming ----------------------------------------------------------------------
    def stream_encoder(
        self, batch_size: int = 1, fixed_frames: int | None = None, cuda_graph: bool = False
    ) -> StreamEncoder:
        """Frame-by-frame encoder. `fixed_frames` = n: a fixed-shape step of exactly n frames
        per call (fixed_step.py); `cuda_graph`: that step replayed as a CUDA graph (CUDA
        only, n defaults to 1). Both are opt-in; the default step is the usual one."""
        return StreamEncoder(self, batch_size, fixed_frames, cuda_graph)

    def stream_decoder(
        self, batch_size: int = 1, fixed_frames: int | None = None, cuda_graph: bool = False
    ) -> StreamDecoder:
        """Frame-by-frame decoder; `fixed_frames` and `cuda_graph` as for stream_encoder."""
        return StreamDecoder(self, batch_size, fixed_frames, cuda_graph)

    def hop_stream(self) -> HopStream:
        """Encoder and decoder for a live loop, fed one SEANet hop (half a frame for Mimi)
        at a time so that less compute follows a frame's last sample (hop_stream.py)."""
        return HopStream(self)


def _fixed(codec: MimiCodec, side: str, batch: int, frames: int | None, graph: bool):
    """(fixed step, run, reset) when a fixed-shape step was asked for, else None."""
    if frames is None and not graph:
        return None
    if graph and codec.device.type != "cuda":
        raise ValueError(f"cuda_graph needs a codec on a CUDA device, not {codec.device}")
    if frames is not None and frames < 1:
        raise ValueError(f"fixed_frames must be >= 1, got {frames}")
    from .fixed_step import make_step

    return make_step(codec.model, side, batch, frames or 1, graph)


class _Stream:
    """What the streaming encoder and decoder share: the codec, the batch size, the chunk
    runner that holds the state (None-sized chunks: every whole frame at once) and the
    optional fixed-shape step; `frames` coded so far; `reset` to start a new stream."""

    side = ""  # "encoder" or "decoder" (fixed_step.make_step)

    def __init__(
        self,
        codec: MimiCodec,
        batch_size: int = 1,
        fixed_frames: int | None = None,
        cuda_graph: bool = False,
    ) -> None:
        self.codec = codec
        self.batch_size = batch_size
        self._runner = self._make_runner(codec)
        self._fixed = _fixed(codec, self.side, batch_size, fixed_frames, cuda_graph)
        self._fixed_frames = 0

    def _make_runner(self, codec: MimiCodec):
        raise NotImplementedError

    @property
    def frames(self) -> int:
        return self._runner.frames if self._fixed is None else self._fixed_frames

    def reset(self) -> None:
        self._runner.reset()
        if self._fixed is not None:
            self._fixed[2]()
            self._fixed_frames = 0


class StreamEncoder(_Stream):
    """Frame-by-frame encoder. `step(chunk [B, 1, 1920 n]) -> codes [B, K, n]`.

    An object you create, feed and reset: it holds all streaming state itself, two
    encoders never share state, and `num_codebooks` may change between steps. With a
    fixed-shape step (`fixed_frames`, `cuda_graph`) every chunk has exactly that many
    frames.
    """

    side = "encoder"

    def _make_runner(self, codec: MimiCodec) -> EncoderRunner:
        return EncoderRunner(codec.model, codec.num_codebooks, chunk_frames=None)

    @property
    def num_codebooks(self) -> int:
        return self._runner.num_codebooks

    @num_codebooks.setter
    def num_codebooks(self, k: int) -> None:
        self._runner.num_codebooks = self.codec.check_k(k)

    def step(self, chunk: Any) -> torch.Tensor:
        x = as_tensor(chunk, torch.float32)
        fs = self.codec.frame_size
        if x.dim() != 3 or x.shape[:2] != (self.batch_size, 1):
            raise ValueError(f"chunk must be [{self.batch_size}, 1, n*{fs}], got {list(x.shape)}")
        if x.shape[-1] == 0 or x.shape[-1] % fs:
            raise ValueError(f"chunk length must be a positive multiple of {fs}, got {x.shape[-1]}")
        if self._fixed is None:
            self._runner.out_device = x.device
            return self._runner.push(x)
        step, run, _ = self._fixed
        if x.shape[-1] != step.audio.shape[-1]:
            raise ValueError(f"this fixed-shape step takes {step.frames} frame(s) per call")
        step.audio.copy_(x)
        codes = run()[:, : self.num_codebooks].to(x.device, copy=True)
        self._fixed_frames += step.frames
        return codes


class StreamDecoder(_Stream):
    """Frame-by-frame decoder. `step(codes [B, K, n]) -> audio [B, 1, 1920 n]`; K may vary."""

    side = "decoder"

    def _make_runner(self, codec: MimiCodec) -> DecoderRunner:
        return DecoderRunner(codec.model, chunk_frames=None)

    def step(self, codes: Any) -> torch.Tensor:
        c = self.codec.check_codes(codes)
        if c.shape[0] != self.batch_size:
            raise ValueError(f"codes batch must be {self.batch_size}, got {c.shape[0]}")
        if self._fixed is None:
            self._runner.out_device = c.device
            return self._runner.push(c)
        step, run, _ = self._fixed
        if c.shape[-1] != step.frames:
            raise ValueError(f"this fixed-shape step takes {step.frames} frame(s) per call")
        step.set_codes(c)
        audio = run().to(c.device, copy=True)
        self._fixed_frames += step.frames
        return audio
