"""Microphone recording straight to disk, so a crash never loses what was recorded.

The input callback only copies each block into a queue. A writer thread appends the
blocks to a float32 WAV in the recordings folder with `codec.audio.wav_stream.WavStreamWriter`,
which rewrites the header's sizes after every block: whenever the app dies (even by
SIGKILL) the file under its final name is a valid WAV holding every block written so far.
The file is fsynced once a second, so a power cut loses at most about a second.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import numpy as np

from codec.audio.wav_stream import WavStreamWriter
from codec.errors import CodecError

from .devices import AudioBackend


def recordings_dir() -> Path:
    """The user's recordings folder (XDG data dir), created on demand."""
    import os

    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    d = base / "mimi-explorer" / "recordings"
    d.mkdir(parents=True, exist_ok=True)
    return d


def free_stamp(folder: Path) -> str:
    """A time stamp naming no live session in `folder` yet (a suffix when one started in the
    same second): an earlier session's files are never overwritten."""
    base = time.strftime("%Y%m%d-%H%M%S")
    stamp, n = base, 1
    while any((folder / f"live-{stamp}-{s}.wav").exists() for s in ("input", "output")):
        n += 1
        stamp = f"{base}-{n}"
    return stamp


class Recorder:
    def __init__(
        self,
        backend: AudioBackend,
        rate: int = 48_000,
        channels: int = 1,
        device: int | None = None,
        folder: Path | None = None,
        prefix: str = "recording",
    ) -> None:
        self.backend = backend
        self.rate = rate
        self.channels = channels
        self.device = device
        self.folder = folder or recordings_dir()
        self.prefix = prefix
        self.path: Path | None = None
        self.level = 0.0  # peak of the last block, for a meter
        self.frames = 0
        self.error = ""  # set when the device failed mid-recording
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue()
        self._stream = None
        self._writer: threading.Thread | None = None
        self._file: WavStreamWriter | None = None

    @property
    def seconds(self) -> float:
        return self.frames / self.rate

    @property
    def recording(self) -> bool:
        return self._stream is not None

    def start(self) -> Path:
        """Open the file and the input stream; raises RuntimeError with a reason on failure."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        n = 0
        while True:  # the writer refuses an existing name, so two recorders never collide
            self.path = self.folder / f"{self.prefix}-{stamp}{f'-{n}' if n else ''}.wav"
            try:
                self._file = WavStreamWriter(self.path, int(self.rate), self.channels)
                break
            except CodecError as e:
                if not self.path.exists():
                    raise RuntimeError(f"cannot create the recording: {e}") from e
                n += 1
            except OSError as e:
                raise RuntimeError(f"cannot create the recording in {self.folder}: {e}") from e
        self._writer = threading.Thread(
            target=self._write_loop, name="recorder-writer", daemon=True
        )
        self._writer.start()
        try:
            self._stream = self.backend.input_stream(
                self.rate, self.channels, self._callback, device=self.device
            )
            self._stream.start()
        except Exception as e:
            self._stream = None
            self._finish()
            raise RuntimeError(f"cannot open the microphone: {e}") from e
        return self.path

    def _callback(self, indata, frames, time_info, status) -> None:
        self._queue.put(indata.copy())

    def _write_loop(self) -> None:
        while True:
            block = self._queue.get()
            if block is None:
                break
            if self.error and self._file is None:
                continue  # writing failed earlier: drain the queue, keep what is on disk
            try:
                assert self._file is not None
                self._file.append(block)
                self.frames += len(block)
                self.level = float(np.abs(block).max()) if block.size else 0.0
            except Exception as e:  # disk full, size limit, file removed...
                self.error = f"writing the recording failed: {e}; what came before was kept"
                self._close_file()

    def poll_device(self) -> str:
        """'' while the stream is healthy; else a reason (the device went away)."""
        s = self._stream
        if s is not None and getattr(s, "active", True) is False and not self.error:
            self.error = "the input device stopped; the recording so far was kept"
        return self.error

    def stop(self) -> Path | None:
        """Stop, flush and close the file; returns its path (it holds all frames so far)."""
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception as e:
                self.error = self.error or f"the input device failed while stopping: {e}"
            self._stream = None
        self._finish()
        return self.path

    def _finish(self) -> None:
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join(timeout=10)
            self._writer = None
        self._close_file()

    def _close_file(self) -> None:
        f, self._file = self._file, None
        if f is not None:
            try:
                f.close()
            except OSError as e:
                self.error = self.error or f"closing the recording failed: {e}"
