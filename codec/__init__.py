"""Mimi codec library: model, weights, audio I/O. No Qt and no sounddevice here."""

from .config import CodecConfig
from .errors import AudioError, Cancelled, CodecError, WeightsError
from .mimi_codec import MimiCodec, StreamDecoder, StreamEncoder
from .weights import HUB_REPO, HUB_REVISION, load_codec, save_codec

__all__ = [
    "HUB_REPO",
    "HUB_REVISION",
    "AudioError",
    "Cancelled",
    "CodecConfig",
    "CodecError",
    "MimiCodec",
    "StreamDecoder",
    "StreamEncoder",
    "WeightsError",
    "load_codec",
    "save_codec",
]
