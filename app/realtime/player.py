"""A/B playback: one output stream, two buffers, one cursor.

Switching A/B swaps which buffer the callback reads, at the same cursor: no gap and no
restart. Replacing B (a new codebook count) keeps the cursor too. The stream stays open
while the app runs; when paused the callback writes silence. The callback only copies.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .audio_io import AudioBackend


class Player:
    """Plays [T, C] float32 buffers at `rate` Hz through an AudioBackend."""

    def __init__(
        self,
        backend: AudioBackend,
        rate: int = 24_000,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.backend = backend
        self.rate = rate
        self.on_error = on_error
        self.device: int | None = None
        self._stream = None
        self._stream_channels = 0
        self._a: np.ndarray | None = None
        self._b: np.ndarray | None = None
        self.selected = "A"
        self.position = 0  # samples, at `rate`
        self.playing = False
        self.loop: tuple[int, int] | None = None
        self.gain_b = 1.0
        self.underflows = 0

    # ---- content -----------------------------------------------------------------------
    @property
    def length(self) -> int:
        return 0 if self._a is None else len(self._a)

    @property
    def channels(self) -> int:
        return 0 if self._a is None else self._a.shape[1]

    def set_sources(self, a: np.ndarray, b: np.ndarray | None = None) -> None:
        """a, b: [C, T] float32 at `rate`. Resets the cursor."""
        self.pause()
        self._a = self._prepare(a)
        self._b = None if b is None else self._fit(self._prepare(b))
        self.position = 0
        self.loop = None

    def set_b(self, b: np.ndarray | None) -> None:
        """Replace B ([C, T]) without moving the cursor or stopping playback."""
        self._b = None if b is None else self._fit(self._prepare(b))

    def has_b(self) -> bool:
        return self._b is not None

    def _prepare(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(x, dtype=np.float32).T)

    def _fit(self, b: np.ndarray) -> np.ndarray:
        n = self.length
        if len(b) < n:
            b = np.concatenate([b, np.zeros((n - len(b), b.shape[1]), np.float32)])
        return np.ascontiguousarray(b[:n])

    # ---- transport ---------------------------------------------------------------------
    def select(self, which: str) -> None:
        if which not in ("A", "B"):
            raise ValueError(which)
        self.selected = which

    def toggle_ab(self) -> str:
        self.select("B" if self.selected == "A" else "A")
        return self.selected

    def seek(self, sample: int) -> None:
        self.position = int(min(max(sample, 0), max(self.length - 1, 0)))

    def set_loop(self, start: int | None, end: int | None = None) -> None:
        if start is None or end is None or end - start < 64:
            self.loop = None
        else:
            self.loop = (max(0, int(start)), min(self.length, int(end)))

    def play(self) -> bool:
        """Start playback; False (and on_error) when no stream can be opened."""
        if self._a is None:
            return False
        if not self._ensure_stream():
            return False
        if self.position >= self.length - 1:
            self.position = self.loop[0] if self.loop else 0
        self.playing = True
        return True

    def pause(self) -> None:
        self.playing = False

    def toggle(self) -> bool:
        if self.playing:
            self.pause()
            return False
        return self.play()

    def close(self) -> None:
        self.playing = False
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception:
                pass
            self._stream = None

    def check_stream(self) -> str:
        """'' while the output is healthy; else stop playback cleanly and say why.

        PortAudio stops a stream on its own when its device goes away (unplugged, taken by
        another program, a driver error): `active` turns False while we think we play.
        The GUI polls this; the dead stream is closed so the next play opens a fresh one.
        """
        s = self._stream
        if s is None or getattr(s, "active", True) is not False:
            return ""
        was_playing = self.playing
        self.close()
        if not was_playing:
            return ""  # nothing audible was lost; the next play reopens the device
        return "the audio output stopped (device lost?); playback stopped, press Play to retry"

    def _ensure_stream(self) -> bool:
        ch = min(self.channels, 2) or 1
        if self._stream is not None and self._stream_channels == ch:
            return True
        self.close()
        try:
            self._stream = self.backend.output_stream(
                self.rate, ch, self._callback, device=self.device
            )
            self._stream.start()
        except Exception as e:
            self._stream = None
            if self.on_error:
                self.on_error(f"cannot open the audio output: {e}")
            return False
        self._stream_channels = ch
        return True

    # ---- the audio thread --------------------------------------------------------------
    def _callback(self, outdata, frames, time, status) -> None:
        if status and getattr(status, "output_underflow", False):
            self.underflows += 1
        src = self._b if (self.selected == "B" and self._b is not None) else self._a
        if not self.playing or src is None:
            outdata.fill(0)
            return
        gain = self.gain_b if src is self._b else 1.0
        pos, filled = self.position, 0
        end = self.loop[1] if self.loop else len(src)
        ch = outdata.shape[1]
        while filled < frames:
            n = min(frames - filled, end - pos)
            if n <= 0:
                if self.loop:
                    pos = self.loop[0]
                    continue
                outdata[filled:].fill(0)
                self.playing = False
                break
            block = src[pos : pos + n, :ch]
            if block.shape[1] < ch:  # mono source on a stereo device
                block = np.repeat(block[:, :1], ch, axis=1)
            outdata[filled : filled + n] = block if gain == 1.0 else block * gain
            filled += n
            pos += n
        self.position = pos


# Headroom kept when loudness matching raises B: its sample peak stays at or below this.
MATCH_CEILING_DBFS = -0.1


def loudness_match_gain(
    match_db: float, peak_dbfs: float, ceiling_dbfs: float = MATCH_CEILING_DBFS
) -> tuple[float, bool]:
    """The gain (dB) to play B at so it is as loud as A, and whether it had to be lowered.

    match_db: codec.metrics.loudness_match_gain_db (A's LUFS - B's LUFS); peak_dbfs: B's
    sample peak. A gain that would push B's peak past `ceiling_dbfs` is lowered to reach
    the ceiling exactly: B is then slightly quieter than A, and the UI says so, rather
    than clipping (which would add distortion the codec did not make).
    """
    limit = ceiling_dbfs - peak_dbfs
    if match_db > limit:
        return limit, True
    return match_db, False
