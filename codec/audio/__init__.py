"""Audio in and out: one reader for every length, resampling, atomic writers, the growing
WAV of recordings and live sessions, and codes files. Arrays are float32 [C, T]."""

from .codes_file import CodesFile, load_codes, save_codes
from .reader import Audio, SourceInfo, SourceReader, load_audio, read_resampled
from .resample import StreamResampler, from_codec_rate, resample
from .write import write_audio, write_resampled

__all__ = [
    "Audio",
    "CodesFile",
    "SourceInfo",
    "SourceReader",
    "StreamResampler",
    "from_codec_rate",
    "load_audio",
    "load_codes",
    "read_resampled",
    "resample",
    "save_codes",
    "write_audio",
    "write_resampled",
]
