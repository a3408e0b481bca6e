"""`MimiCodec`: the public face of the model (batch encode/decode, streaming objects).

Batch calls run the model over chunks of whole frames with an explicit state, so a
10-minute file codes in bounded memory and gives the same result as one pass (the
attention window and every conv carry their state across chunk edges exactly).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .config import CodecConfig
from .errors import Cancelled
from .model import MimiModel

# Frames per chunk in batch calls (5.12 s). Chunks of 2.5-5 s keep activations near the CPU
# cache and were 1.2-1.7x faster than 20 s chunks on a 2-core CPU; results are the same.
BATCH_CHUNK_FRAMES = 64

Progress = Callable[[int, int], None]  # (frames done, frames total)
CancelCheck = Callable[[], bool]


def _as_tensor(x: Any, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch tensor or numpy array, got {type(x).__name__}")
    return x.to(dtype) if x.dtype != dtype else x


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
    """A loaded codec on one device.

    `description` says which model this is (e.g. "Mimi (kyutai/mimi@89091b3)").
    """

    def __init__(self, model: MimiModel, description: str = "", source: str = "") -> None:
        self.model = model.eval()
        _full_precision_on_cuda(self.device)
        self.config: CodecConfig = model.cfg
        self.description = description or model.cfg.name
        self.source = source

    # ---- properties ---------------------------------------------------------------------
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

    # ---- batch --------------------------------------------------------------------------
    def _check_audio(self, audio: Any) -> torch.Tensor:
        x = _as_tensor(audio, torch.float32)
        if x.dim() != 3 or x.shape[1] != 1:
            raise ValueError(f"audio must be [B, 1, T], got {list(x.shape)}")
        if x.shape[-1] == 0:
            raise ValueError("audio is empty (T = 0)")
        return x

    @torch.inference_mode()
    def encode_latent(self, audio: Any) -> torch.Tensor:
        """audio [B, 1, T] float32 at 24 kHz -> unquantized latent [B, D, F] (input device)."""
        x = self._check_audio(audio)
        state = self.model.init_encoder_state()
        outs = [
            self.model.encode_latent(c.to(self.device), state)
            for c in self._chunks(x, self.frame_size)
        ]
        return torch.cat(outs, dim=-1).to(x.device)

    @torch.inference_mode()
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
        x = self._check_audio(audio)
        k = self._check_k(num_codebooks or self.num_codebooks)
        total = self.num_frames(x.shape[-1])
        state = self.model.init_encoder_state()
        outs, done = [], 0
        for chunk in self._chunks(x, self.frame_size):
            if cancel is not None and cancel():
                raise Cancelled("encoding cancelled")
            outs.append(self.model.encode(chunk.to(self.device), k, state).cpu())
            done += outs[-1].shape[-1]
            if progress is not None:
                progress(done, total)
        return torch.cat(outs, dim=-1).to(x.device)

    @torch.inference_mode()
    def decode(
        self, codes: Any, progress: Progress | None = None, cancel: CancelCheck | None = None
    ) -> torch.Tensor:
        """codes [B, K, F] (1 <= K <= num_codebooks) -> audio [B, 1, 1920 F] float32.

        Decodes the K-codebook prefix as given; missing codebooks are left out, never filled.
        """
        c = self._check_codes(codes)
        total = c.shape[-1]
        state = self.model.init_decoder_state()
        outs, done = [], 0
        for chunk in self._chunks(c, 1):
            if cancel is not None and cancel():
                raise Cancelled("decoding cancelled")
            outs.append(self.model.decode(chunk.to(self.device), state).cpu())
            done += chunk.shape[-1]
            if progress is not None:
                progress(done, total)
        return torch.cat(outs, dim=-1).to(c.device)

    @staticmethod
    def _chunks(x: torch.Tensor, unit: int) -> list[torch.Tensor]:
        step = BATCH_CHUNK_FRAMES * unit
        return [x[..., s : s + step] for s in range(0, x.shape[-1], step)]

    def _check_k(self, k: int) -> int:
        if not 1 <= int(k) <= self.num_codebooks:
            raise ValueError(f"number of codebooks must be 1..{self.num_codebooks}, got {k}")
        return int(k)

    def _check_codes(self, codes: Any) -> torch.Tensor:
        c = _as_tensor(codes, torch.int64)
        if c.dim() != 3 or c.shape[-1] == 0:
            raise ValueError(f"codes must be [B, K, F] with F > 0, got {list(c.shape)}")
        self._check_k(c.shape[1])
        if c.numel() and (int(c.min()) < 0 or int(c.max()) >= self.codebook_size):
            raise ValueError(f"codes must lie in 0..{self.codebook_size - 1}")
        return c

    # ---- streaming ----------------------------------------------------------------------
    def stream_encoder(self, batch_size: int = 1) -> StreamEncoder:
        return StreamEncoder(self, batch_size)

    def stream_decoder(self, batch_size: int = 1) -> StreamDecoder:
        return StreamDecoder(self, batch_size)


class StreamEncoder:
    """Frame-by-frame encoder. `step(chunk [B, 1, 1920 n]) -> codes [B, K, n]`.

    Holds all streaming state itself; two encoders never share state. `num_codebooks`
    may be changed between steps.
    """

    def __init__(self, codec: MimiCodec, batch_size: int = 1) -> None:
        self.codec = codec
        self.batch_size = batch_size
        self.num_codebooks = codec.num_codebooks
        self.reset()

    def reset(self) -> None:
        self._state = self.codec.model.init_encoder_state()
        self.frames = 0

    @torch.inference_mode()
    def step(self, chunk: Any) -> torch.Tensor:
        x = _as_tensor(chunk, torch.float32)
        fs = self.codec.frame_size
        if x.dim() != 3 or x.shape[:2] != (self.batch_size, 1):
            raise ValueError(f"chunk must be [{self.batch_size}, 1, n*{fs}], got {list(x.shape)}")
        if x.shape[-1] == 0 or x.shape[-1] % fs:
            raise ValueError(f"chunk length must be a positive multiple of {fs}, got {x.shape[-1]}")
        k = self.codec._check_k(self.num_codebooks)
        codes = self.codec.model.encode(x.to(self.codec.device), k, self._state)
        self.frames += codes.shape[-1]
        return codes.to(x.device)


class StreamDecoder:
    """Frame-by-frame decoder. `step(codes [B, K, n]) -> audio [B, 1, 1920 n]`; K may vary."""

    def __init__(self, codec: MimiCodec, batch_size: int = 1) -> None:
        self.codec = codec
        self.batch_size = batch_size
        self.reset()

    def reset(self) -> None:
        self._state = self.codec.model.init_decoder_state()
        self.frames = 0

    @torch.inference_mode()
    def step(self, codes: Any) -> torch.Tensor:
        c = self.codec._check_codes(codes)
        if c.shape[0] != self.batch_size:
            raise ValueError(f"codes batch must be {self.batch_size}, got {c.shape[0]}")
        audio = self.codec.model.decode(c.to(self.codec.device), self._state)
        self.frames += c.shape[-1]
        return audio.to(c.device)
