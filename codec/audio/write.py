"""Audio files out: WAV (float32) or FLAC (24-bit), whole or block by block, atomically.

Every writer puts the data in a hidden temporary file beside the target, fsyncs it and
renames it onto the final name (codec.audio.atomic): a crash or an error midway leaves no
partial file under that name and no temporary behind. FLAC is integer PCM, so samples
beyond ±1 are clipped rather than wrapped; WAV keeps them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf

from ..errors import AudioError, check_cancelled
from .atomic import atomic_write
from .resample import StreamResampler

WRITE_FORMATS = {".wav": ("WAV", "FLOAT"), ".flac": ("FLAC", "PCM_24")}
BLOCK_SAMPLES = 1 << 17  # samples per channel resampled and written at a time

Progress = Callable[[int, int], None]
CancelCheck = Callable[[], bool]


def write_format(path: Path) -> tuple[str, str]:
    """(libsndfile format, subtype) for writing `path` by its suffix (WRITE_FORMATS);
    AudioError for any other suffix."""
    fmt = WRITE_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise AudioError(
            f"cannot write {Path(path).suffix or 'files without an extension'}: use .wav or .flac"
        )
    return fmt


class BlockWriter:
    """Writes [n, C] blocks to an open SoundFile and ends at exactly `limit` samples.

    The length a file must have (the source's) is known only when the input is exhausted,
    and the last resampled samples may overshoot it by a sample or so, so `HOLD` samples
    stay in memory until `close(limit)` trims, or pads with silence, to the exact length.
    """

    HOLD = 4096

    def __init__(self, snd: sf.SoundFile, clip: bool) -> None:
        self.snd, self.clip = snd, clip
        self.tail = np.zeros((0, snd.channels), np.float32)
        self.written = 0

    def _write(self, x: np.ndarray) -> None:
        if len(x):
            self.snd.write(np.clip(x, -1.0, 1.0) if self.clip else x)
            self.written += len(x)

    def push(self, x: np.ndarray) -> None:
        self.tail = np.concatenate([self.tail, x]) if len(self.tail) else x
        if len(self.tail) > self.HOLD:
            self._write(self.tail[: -self.HOLD])
            self.tail = self.tail[-self.HOLD :]

    def close(self, limit: int) -> None:
        x = self.tail[: max(limit - self.written, 0)]
        if len(x) < limit - self.written:
            x = np.pad(x, ((0, limit - self.written - len(x)), (0, 0)))
        self._write(x)
        self.tail = self.tail[:0]


@contextmanager
def open_output(dst: str | os.PathLike, sample_rate: int, channels: int) -> Iterator[BlockWriter]:
    """A BlockWriter on a temporary file, renamed onto dst only when the block ends without
    an exception. AudioError for a bad suffix or a file that cannot be written."""
    dst_p = Path(dst)
    fmt = write_format(dst_p)
    try:
        with (
            atomic_write(dst_p) as tmp,
            sf.SoundFile(
                str(tmp),
                "w",
                samplerate=sample_rate,
                channels=channels,
                format=fmt[0],
                subtype=fmt[1],
            ) as snd,
        ):
            yield BlockWriter(snd, clip=fmt[0] == "FLAC")
    except (sf.LibsndfileError, OSError) as e:
        raise AudioError(f"cannot write {dst_p}: {getattr(e, 'strerror', None) or e}") from e


def write_audio(path: str | os.PathLike, samples: np.ndarray, sample_rate: int) -> Path:
    """Write [C, T] (or [T]) float32 to WAV or FLAC at sample_rate, atomically."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[None]
    with open_output(path, sample_rate, x.shape[0]) as out:
        out.push(np.ascontiguousarray(x.T))
        out.close(x.shape[1])
    return Path(path)


def write_resampled(
    y: np.ndarray,
    rate: int,
    dst: str | os.PathLike,
    sample_rate: int,
    num_samples: int,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
) -> Path:
    """Write y [C, T] at `rate` to dst at sample_rate, num_samples long (padded or trimmed).

    Same samples as `write_audio(dst, from_codec_rate(y, rate, sample_rate, num_samples),
    sample_rate)`, resampled and written block by block, so a long signal is never held
    twice. Atomic: dst appears only when complete (Cancelled and errors leave nothing).
    """
    channels, total = y.shape
    back = StreamResampler(rate, sample_rate, channels)
    with open_output(dst, sample_rate, channels) as out:
        for s in range(0, total, BLOCK_SAMPLES):
            check_cancelled(cancel, "export")
            out.push(back.push(np.ascontiguousarray(y[:, s : s + BLOCK_SAMPLES].T)))
            if progress is not None:
                progress(min(s + BLOCK_SAMPLES, total), total)
        out.push(back.flush())
        out.close(num_samples)
    return Path(dst)
