"""The Mimi model: its config and frozen description, the nn.Module tree (modules/), the
one chunk runner and the `MimiCodec` API (batch encode/decode, streaming objects)."""

from .codec import MimiCodec, StreamDecoder, StreamEncoder
from .config import CodecConfig
from .info import CodecInfo
from .mimi import MimiModel
from .runner import BATCH_CHUNK_FRAMES, DecoderRunner, EncoderRunner

__all__ = [
    "BATCH_CHUNK_FRAMES",
    "CodecConfig",
    "CodecInfo",
    "DecoderRunner",
    "EncoderRunner",
    "MimiCodec",
    "MimiModel",
    "StreamDecoder",
    "StreamEncoder",
]
