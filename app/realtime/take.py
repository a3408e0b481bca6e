"""What a live session keeps: both signals, the codes and the K of every frame.

The frame loop hands each frame over as it finishes (`LiveTake.keep`). With a spool path
set, the two signals go to two growing WAV files (`<spool>-input.wav`, `<spool>-output.wav`,
see `codec.audio.wav_stream`) instead of memory: a session survives the app being killed,
and memory stays flat however long it runs (10 minutes in memory is 2 x 58 MB). If the
disk fails mid-session, the rest is kept in memory and `error` says so. Owned by the frame
loop's thread; `signals()` is read after the loop has stopped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from codec.audio.wav_stream import WavStreamWriter
from codec.errors import CodecError


class LiveTake:
    def __init__(self, num_codebooks: int, rate: int, spool: str | Path | None = None) -> None:
        """num_codebooks: the codec's n_q; rate: the codec's sample rate (Hz)."""
        self.num_codebooks, self.rate = int(num_codebooks), int(rate)
        self.spool = Path(spool) if spool is not None else None
        self.error = ""  # why the spool failed, if it did
        self.files: tuple[Path, Path] | None = None  # (input, output) once spooling
        self.ks: list[int] = []  # K of each frame
        self._writers: tuple[WavStreamWriter, WavStreamWriter] | None = None
        self._inputs: list[np.ndarray] = []
        self._outputs: list[np.ndarray] = []
        self._codes: list[np.ndarray] = []

    def open(self) -> None:
        """Create the two growing WAVs; on failure say so (`error`) and keep to memory."""
        if self.spool is None:
            return
        paths = (
            self.spool.with_name(self.spool.name + "-input.wav"),
            self.spool.with_name(self.spool.name + "-output.wav"),
        )
        try:
            self.spool.parent.mkdir(parents=True, exist_ok=True)
            first = WavStreamWriter(paths[0], self.rate, 1)
            try:
                second = WavStreamWriter(paths[1], self.rate, 1)
            except BaseException:
                first.close()
                raise
        except (OSError, CodecError) as e:
            self.error = f"cannot save the live session to disk ({e}); keeping it in memory"
            return
        self._writers, self.files = (first, second), paths

    def close(self) -> None:
        """Finish the WAV files (what is written stays readable whatever happens later)."""
        writers, self._writers = self._writers, None
        for w in writers or ():
            try:
                w.close()
            except OSError as e:
                self.error = self.error or f"closing {w.path.name} failed: {e}"

    def keep(self, frame: np.ndarray, y: np.ndarray, codes: np.ndarray, k: int) -> None:
        """One frame: input and output [fs] float32 at `rate`, its codes [n_q], its K."""
        self._codes.append(np.array(codes, dtype=np.int64, copy=True))
        self.ks.append(int(k))
        if self._writers is not None:
            try:
                self._writers[0].append(frame)
                self._writers[1].append(y)
                return
            except (OSError, CodecError) as e:  # disk full...: keep the rest in memory
                self.error = f"saving the live session failed ({e}); the rest is kept in memory"
                self.close()
        self._inputs.append(frame.copy())
        self._outputs.append(y.copy())

    def codes(self) -> np.ndarray:
        """[n_q, F] int64: every frame's codes, all levels."""
        if not self._codes:
            return np.zeros((self.num_codebooks, 0), np.int64)
        return np.stack(self._codes, axis=1)

    def signals(self) -> tuple[np.ndarray, np.ndarray]:
        """(input, output) [T] float32 at `rate`: the files first, then any in-memory tail."""

        def cat(xs: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(xs) if xs else np.zeros(0, np.float32)

        x, y = cat(self._inputs), cat(self._outputs)
        if self.files is not None:
            import soundfile as sf

            x = np.concatenate([sf.read(str(self.files[0]), dtype="float32")[0], x])
            y = np.concatenate([sf.read(str(self.files[1]), dtype="float32")[0], y])
        return x, y
