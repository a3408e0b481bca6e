"""Mimi codec library: the model, weights, audio I/O, analysis, sessions, reports, training
and the command line. No Qt and no sounddevice here."""

from .errors import AudioError, Cancelled, CodecError, WeightsError
from .model import CodecConfig, CodecInfo, MimiCodec, StreamDecoder, StreamEncoder
from .weights import HUB_REPO, HUB_REVISION, load_codec, save_codec

__all__ = [
    "HUB_REPO",
    "HUB_REVISION",
    "AudioError",
    "Cancelled",
    "CodecConfig",
    "CodecError",
    "CodecInfo",
    "MimiCodec",
    "StreamDecoder",
    "StreamEncoder",
    "WeightsError",
    "load_codec",
    "save_codec",
]
