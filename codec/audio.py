"""Audio files in and out: keep channels, resample with soxr, write WAV/FLAC atomically.

Arrays are float32 [C, T] (channels first) in this package. Files keep their own rate;
`to_codec_rate` / `from_codec_rate` convert to and from the codec's 24 kHz.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .errors import AudioError

WRITE_FORMATS = {".wav": ("WAV", "FLOAT"), ".flac": ("FLAC", "PCM_24")}


@dataclass
class Audio:
    """samples float32 [C, T] at `sample_rate` Hz; `warnings` lists what was repaired."""

    samples: np.ndarray
    sample_rate: int
    warnings: list[str]

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate


def load_audio(path: str | os.PathLike) -> Audio:
    """Read any file soundfile reads. Raises AudioError with a one-line reason on failure.

    NaN and Inf samples are replaced by 0 and reported in `warnings`.
    """
    p = Path(path)
    if not p.exists():
        raise AudioError(f"file not found: {p}")
    if p.is_dir():
        raise AudioError(f"{p} is a directory, not an audio file")
    if not os.access(p, os.R_OK):
        raise AudioError(f"no permission to read {p}")
    if p.stat().st_size == 0:
        raise AudioError(f"{p.name} is empty (0 bytes)")
    try:
        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OSError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise AudioError(f"cannot read {p.name} as audio: {msg}") from e
    if data.shape[0] == 0:
        raise AudioError(f"{p.name} contains no samples")
    if sr <= 0:
        raise AudioError(f"{p.name} has an invalid sample rate ({sr})")
    samples = np.ascontiguousarray(data.T)
    warnings = []
    bad = ~np.isfinite(samples)
    if bad.any():
        warnings.append(f"{int(bad.sum())} NaN/Inf samples were replaced by silence")
        samples[bad] = 0.0
    return Audio(samples, int(sr), warnings)


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """[C, T] float32 from sr_in to sr_out (soxr, high quality); returns a new array."""
    if sr_in == sr_out:
        return np.array(x, dtype=np.float32, copy=True)
    y = soxr.resample(np.ascontiguousarray(x.T), sr_in, sr_out, quality="HQ")
    if y.ndim == 1:
        y = y[:, None]
    return np.ascontiguousarray(y.T, dtype=np.float32)


def write_audio(path: str | os.PathLike, samples: np.ndarray, sample_rate: int) -> Path:
    """Write [C, T] float32 to WAV (float) or FLAC (24-bit), via a temporary file + rename."""
    p = Path(path)
    fmt = WRITE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise AudioError(
            f"cannot write {p.suffix or 'files without an extension'}: use .wav or .flac"
        )
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[None]
    if fmt[0] == "FLAC":
        x = np.clip(x, -1.0, 1.0)  # FLAC is integer PCM: clip rather than wrap
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=p.parent)
    os.close(fd)
    try:
        sf.write(tmp, x.T, sample_rate, format=fmt[0], subtype=fmt[1])
        os.replace(tmp, p)
    except Exception as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, sf.LibsndfileError | OSError):
            raise AudioError(f"cannot write {p}: {e}") from e
        raise
    return p
