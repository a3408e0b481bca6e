"""A WAV file that grows while it is written and is valid at every instant.

For recordings and live sessions: each `append` writes the samples first and then updates
the three size fields of the header (RIFF size, fact frame count, data size) in place. So
whenever the writing process dies, even by SIGKILL, the file on disk is a complete WAV
holding every sample appended so far (the header may at worst lag the data by the one
block being written, which readers then ignore). `fsync` runs every `sync_s` seconds so
that a power cut loses at most that much.

Layout (58-byte header, float32 little-endian, WAVE_FORMAT_IEEE_FLOAT):
  0 RIFF <size> WAVE | 12 fmt  18 <fmt fields, cbSize 0> | 38 fact 4 <frames> | 50 data <n>
"""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

import numpy as np

from ..errors import AudioError
from .atomic import temp_path_beside

HEADER_BYTES = 58
_RIFF_SIZE_AT, _FACT_FRAMES_AT, _DATA_SIZE_AT = 4, 46, 54
MAX_DATA_BYTES = 0xFFFFFFFF - HEADER_BYTES  # the 32-bit RIFF size limit (about 4 GiB)
WAVE_FORMAT_IEEE_FLOAT = 3


def _header(rate: int, channels: int, frames: int) -> bytes:
    data = frames * channels * 4
    return b"".join(
        (
            b"RIFF",
            struct.pack("<I", HEADER_BYTES - 8 + data),
            b"WAVE",
            b"fmt ",
            struct.pack(
                "<IHHIIHHH",
                18,
                WAVE_FORMAT_IEEE_FLOAT,
                channels,
                rate,
                rate * channels * 4,
                channels * 4,
                32,
                0,
            ),
            b"fact",
            struct.pack("<II", 4, frames),
            b"data",
            struct.pack("<I", data),
        )
    )


def _publish_new(tmp: Path, path: Path) -> None:
    """Give `tmp` the name `path` unless `path` exists (a hard link never overwrites)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise AudioError(f"{path} already exists") from None
    except OSError:  # a file system without hard links: check, then rename
        if path.exists():
            raise AudioError(f"{path} already exists") from None
        os.replace(tmp, path)


class WavStreamWriter:
    """Append float32 frames [n, channels] to `path`; the header is kept current.

    The file appears under `path` complete with a header for 0 frames (written to a
    temporary and renamed), so no moment exists where `path` is a partial header.
    Not thread-safe: one thread appends.
    """

    def __init__(self, path: str | os.PathLike, rate: int, channels: int, sync_s: float = 1.0):
        self.path = Path(path)
        self.rate, self.channels, self.sync_s = int(rate), int(channels), sync_s
        self.frames = 0
        tmp = temp_path_beside(self.path)
        try:
            tmp.write_bytes(_header(self.rate, self.channels, 0))
            _publish_new(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)
        # no O_APPEND: Linux's pwrite ignores the offset on O_APPEND files (man pwrite, BUGS)
        self._fd: int | None = os.open(self.path, os.O_WRONLY)
        self._last_sync = time.monotonic()

    @property
    def closed(self) -> bool:
        return self._fd is None

    def append(self, block: np.ndarray) -> None:
        """Write [n, channels] (or [n] for mono) samples, then update the header."""
        if self._fd is None:
            raise AudioError(f"{self.path.name} is closed")
        x = np.ascontiguousarray(block, dtype="<f4")
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[1] != self.channels:
            raise ValueError(f"expected {self.channels} channels, got {x.shape[1]}")
        if len(x) == 0:
            return
        frames = self.frames + len(x)
        if frames * self.channels * 4 > MAX_DATA_BYTES:
            raise AudioError(f"{self.path.name} reached the WAV size limit (4 GiB)")
        buf = memoryview(x.reshape(-1).view(np.uint8))
        at = HEADER_BYTES + self.frames * self.channels * 4
        while buf:  # a write may be short (signals, a full disk reports on the next one)
            n = os.pwrite(self._fd, buf, at)
            buf, at = buf[n:], at + n
        self.frames = frames
        self._write_sizes()
        now = time.monotonic()
        if now - self._last_sync >= self.sync_s:
            os.fsync(self._fd)
            self._last_sync = now

    def _write_sizes(self) -> None:
        # data is in the kernel before the header says so: a kill never over-promises
        assert self._fd is not None
        data = self.frames * self.channels * 4
        os.pwrite(self._fd, struct.pack("<I", HEADER_BYTES - 8 + data), _RIFF_SIZE_AT)
        os.pwrite(self._fd, struct.pack("<I", self.frames), _FACT_FRAMES_AT)
        os.pwrite(self._fd, struct.pack("<I", data), _DATA_SIZE_AT)

    def close(self) -> Path:
        """fsync and close (idempotent); returns the path."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return self.path

    def __enter__(self) -> WavStreamWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
