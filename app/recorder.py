"""Microphone recording straight to disk, so a crash never loses what was recorded.

The input callback only copies each block into a queue. A writer thread appends the
blocks to a WAV file in the recordings folder and flushes it every block, so the file on
disk is always a valid WAV holding everything recorded up to the last flush.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from .audio_io import AudioBackend


def recordings_dir() -> Path:
    """The user's recordings folder (XDG data dir), created on demand."""
    import os

    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    d = base / "mimi-explorer" / "recordings"
    d.mkdir(parents=True, exist_ok=True)
    return d


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
        self._file: sf.SoundFile | None = None

    @property
    def seconds(self) -> float:
        return self.frames / self.rate

    @property
    def recording(self) -> bool:
        return self._stream is not None

    def start(self) -> Path:
        """Open the file and the input stream; raises RuntimeError with a reason on failure."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.path = self.folder / f"{self.prefix}-{stamp}.wav"
        n = 1
        while self.path.exists():
            self.path = self.folder / f"{self.prefix}-{stamp}-{n}.wav"
            n += 1
        self._file = sf.SoundFile(
            str(self.path), "w", samplerate=int(self.rate), channels=self.channels, subtype="FLOAT"
        )
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
            try:
                assert self._file is not None
                self._file.write(block)
                self._file.flush()
                self.frames += len(block)
                self.level = float(np.abs(block).max()) if block.size else 0.0
            except Exception as e:  # disk full, file removed...
                self.error = f"writing the recording failed: {e}"

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
        if self._file is not None:
            self._file.close()
            self._file = None
