"""Playback of several versions of one signal: one output stream, one cursor.

The player holds any number of sources of equal length (A and B in the comparison; the
stimuli of a listening test) and plays the selected one. Switching swaps which buffer the
callback reads, at the same cursor: no gap and no restart. Replacing a source (a new
codebook count) keeps the cursor too. The stream stays open while the app runs; when
paused the callback writes silence. The callback only copies.

Thread hand-over: the GUI thread replaces whole values (a new tuple of sources, a new
selection, a new gain); the audio callback reads each once per block, so it always sees a
consistent set. Only `position` is written by the callback (and by `seek`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .devices import AudioBackend


class Player:
    """Plays [T, C] float32 buffers at `rate` Hz through an AudioBackend."""

    def __init__(
        self,
        backend: AudioBackend,
        rate: int,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.backend = backend
        self.rate = rate
        self.on_error = on_error
        self.device: int | None = None
        self._stream = None
        self._stream_channels = 0
        self._sources: tuple[np.ndarray | None, ...] = ()
        self._gains: tuple[float, ...] = ()
        self.index = 0  # the source playing
        self._fade: Crossfade | None = None  # a swap being faded in
        self.position = 0  # samples, at `rate`
        self.playing = False
        self.loop: tuple[int, int] | None = None
        # blocks PortAudio flagged as played late (output underflow: a gap was heard) while
        # playing; written by the callback only, read by the GUI through new_gaps()
        self.gaps = 0
        self._gaps_seen = 0

    # ---- content -----------------------------------------------------------------------
    @property
    def length(self) -> int:
        a = self._sources[0] if self._sources else None
        return 0 if a is None else len(a)

    @property
    def channels(self) -> int:
        a = self._sources[0] if self._sources else None
        return 0 if a is None else a.shape[1]

    def set_rate(self, rate: int) -> None:
        """A new sample rate (another codec): the stream reopens at the next play."""
        if rate != self.rate:
            self.close()
            self.rate = rate

    def set_signals(self, signals: list[np.ndarray | None], gains: list[float] | None = None):
        """Sources [C, T] float32 at `rate` (the first sets the length; the others are
        padded or cut to it). Resets the cursor and the loop; selects the first."""
        self.pause()
        prepared = [None if x is None else self._prepare(x) for x in signals]
        n = len(prepared[0]) if prepared and prepared[0] is not None else 0
        self._sources = tuple(None if x is None else self._fit(x, n) for x in prepared)
        self._gains = tuple(gains or [1.0] * len(prepared))
        self.index = 0
        self.position = 0
        self.loop = None

    def set_sources(self, a: np.ndarray, b: np.ndarray | None = None) -> None:
        """A and B: [C, T] float32 at `rate`. Resets the cursor."""
        self.set_signals([a, b])
        self.selected = "A"

    def set_source(self, index: int, x: np.ndarray | Segments | None) -> None:
        """Replace source `index` ([C, T], or Segments of [n, C] parts) without moving the
        cursor or stopping playback."""
        sources = list(self._sources) + [None] * (index + 1 - len(self._sources))
        if isinstance(x, Segments):
            sources[index] = x
        else:
            sources[index] = None if x is None else self._fit(self._prepare(x), self.length)
        gains = list(self._gains) + [1.0] * (len(sources) - len(self._gains))
        self._sources, self._gains = tuple(sources), tuple(gains)

    def set_b(self, b: np.ndarray | Segments | None) -> None:
        self.set_source(1, b)

    def crossfade_source(self, index: int, x: np.ndarray, samples: int = 480) -> None:
        """Replace source `index` by x [C, T], faded in over `samples` from the cursor (so
        an exact decode can take over from a quick one mid-play without a click)."""
        old = self.source(index)
        if old is None or not self.playing or self.index != index:
            self.set_source(index, x)
            return
        ch = min(self.channels, 2) or 1
        self._fade = Crossfade(index, old, samples, self._stream_channels or ch)
        self.set_source(index, x)

    def has_b(self) -> bool:
        return self.has(1)

    def has(self, index: int) -> bool:
        return index < len(self._sources) and self._sources[index] is not None

    def source(self, index: int):
        """Source `index` as played: [T, C] float32 or Segments (read-only use)."""
        return self._sources[index] if index < len(self._sources) else None

    def set_gain(self, index: int, gain: float) -> None:
        gains = list(self._gains) + [1.0] * (index + 1 - len(self._gains))
        gains[index] = float(gain)
        self._gains = tuple(gains)

    def gain(self, index: int) -> float:
        return self._gains[index] if index < len(self._gains) else 1.0

    @property
    def gain_b(self) -> float:
        return self.gain(1)

    @gain_b.setter
    def gain_b(self, g: float) -> None:
        self.set_gain(1, g)

    @staticmethod
    def _prepare(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(x, dtype=np.float32).T)

    @staticmethod
    def _fit(b: np.ndarray, n: int) -> np.ndarray:
        if len(b) < n:
            b = np.concatenate([b, np.zeros((n - len(b), b.shape[1]), np.float32)])
        return np.ascontiguousarray(b[:n])

    # ---- transport ---------------------------------------------------------------------
    @property
    def selected(self) -> str:
        """'A' (source 0) or 'B' (source 1); other sources show as their index."""
        return {0: "A", 1: "B"}.get(self.index, str(self.index))

    @selected.setter
    def selected(self, which: str) -> None:
        self.select(which)

    def select(self, which: str | int) -> None:
        index = {"A": 0, "B": 1}.get(which, which) if isinstance(which, str) else which
        if not isinstance(index, int) or index < 0:
            raise ValueError(which)
        self.index = index

    def seek(self, sample: int) -> None:
        self.position = int(min(max(sample, 0), max(self.length - 1, 0)))

    def set_loop(self, start: int | None, end: int | None = None) -> None:
        if start is None or end is None or end - start < 64:
            self.loop = None
        else:
            self.loop = (max(0, int(start)), min(self.length, int(end)))

    def play(self) -> bool:
        """Start playback; False (and on_error) when no stream can be opened."""
        if not self.length:
            return False
        if not self._ensure_stream():
            return False
        loop = self.loop
        if self.position >= self.length - 1 or (loop and not loop[0] <= self.position < loop[1]):
            self.position = loop[0] if loop else 0
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

    def new_gaps(self) -> int:
        """Gaps heard in playback since the last call (PortAudio's output underflows while
        playing: the device was not fed in time, a busy machine). GUI thread only."""
        now = self.gaps
        n, self._gaps_seen = now - self._gaps_seen, now
        return n

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
        if status and self.playing and getattr(status, "output_underflow", False):
            self.gaps += 1
        sources, gains, index, fade = self._sources, self._gains, self.index, self._fade
        src = sources[index] if index < len(sources) else None
        if src is None and sources:
            src, index = sources[0], 0  # a source not decoded yet: play the original
        if not self.playing or src is None:
            outdata.fill(0)
            return
        gain = gains[index] if index < len(gains) else 1.0
        pos, filled = self.position, 0
        loop = self.loop
        end = loop[1] if loop else len(src)
        while filled < frames:
            n = min(frames - filled, end - pos)
            if n <= 0:
                if loop:
                    pos = loop[0]
                    continue
                outdata[filled:].fill(0)
                self.playing = False
                break
            dst = outdata[filled : filled + n]
            copy_into(src, pos, dst)
            if fade is not None and fade.index == index and fade.done < len(fade.ramp):
                fade.apply(dst, pos)
            if gain != 1.0:
                dst *= gain
            filled += n
            pos += n
        self.position = pos


def copy_into(src, pos: int, dst: np.ndarray) -> None:
    """dst [n, ch] = samples pos..pos + n of src ([T, C] array or Segments); a mono source
    fills every channel, extra source channels are left out. Copies only."""
    if isinstance(src, Segments):
        src.read_into(dst, pos)
        return
    block = src[pos : pos + len(dst)]
    dst[:] = block[:, :1] if block.shape[1] < dst.shape[1] else block[:, : dst.shape[1]]


class Segments:
    """A source known in parts: (start sample, [n, C] float32) pieces of a signal `length`
    samples long, over a `base` [length, C] (what plays where no part is: the previous
    source) or silence. Immutable: more parts arrive as a new Segments (the GUI thread
    hands each one to the player whole)."""

    __slots__ = ("base", "length", "parts")

    def __init__(self, length: int, parts: tuple = (), base: np.ndarray | None = None) -> None:
        self.length, self.parts = int(length), tuple(parts)
        self.base = base if base is not None and len(base) == self.length else None

    def __len__(self) -> int:
        return self.length

    @property
    def shape(self) -> tuple[int, int]:
        ch = self.parts[0][1].shape[1] if self.parts else 1
        return (self.length, ch)

    def with_part(self, start: int, x: np.ndarray) -> Segments:
        """x [n, C]: samples start..start + n (cut at the signal's end)."""
        x = np.ascontiguousarray(x[: max(0, self.length - start)], dtype=np.float32)
        return Segments(self.length, (*self.parts, (int(start), x)), self.base)

    def covers(self, pos: int) -> bool:
        return any(s <= pos < s + len(x) for s, x in self.parts)

    def read_into(self, dst: np.ndarray, pos: int) -> None:
        dst.fill(0)
        n = len(dst)
        if self.base is not None:
            self._copy(dst, 0, self.base[pos : pos + n])
        for s, x in self.parts:
            a, b = max(pos, s), min(pos + n, s + len(x))
            if a < b:
                self._copy(dst, a - pos, x[a - s : b - s])

    @staticmethod
    def _copy(dst: np.ndarray, at: int, part: np.ndarray) -> None:
        """part [m, C'] into dst[at : at + m] (a mono part fills every channel)."""
        dst[at : at + len(part)] = (
            part[:, :1] if part.shape[1] < dst.shape[1] else part[:, : dst.shape[1]]
        )


class Crossfade:
    """A swap of one source for another, faded over `len(ramp)` samples from where it
    starts playing, so the swap makes no click. The old source and the buffers are made on
    the GUI thread; the callback only copies and multiplies in place."""

    def __init__(self, index: int, old, samples: int, channels: int) -> None:
        self.index, self.old = index, old
        self.ramp = np.linspace(0.0, 1.0, samples, dtype=np.float32)[:, None]
        self.scratch = np.zeros((samples, channels), np.float32)
        self.done = 0  # samples faded so far

    def apply(self, dst: np.ndarray, pos: int) -> None:
        n = min(len(dst), len(self.ramp) - self.done)
        if n <= 0 or dst.shape[1] != self.scratch.shape[1]:
            self.done = len(self.ramp)
            return
        w = self.ramp[self.done : self.done + n]
        old = self.scratch[:n]
        copy_into(self.old, pos, old)
        dst[:n] *= w
        old *= 1.0 - w
        dst[:n] += old
        self.done += n


# Headroom kept when loudness matching raises B: its sample peak stays at or below this.
MATCH_CEILING_DBFS = -0.1


def loudness_match_gain(
    match_db: float, peak_dbfs: float, ceiling_dbfs: float = MATCH_CEILING_DBFS
) -> tuple[float, bool]:
    """The gain (dB) to play B at so it is as loud as A, and whether it had to be lowered.

    match_db: codec.analysis.metrics.loudness_match_gain_db (A's LUFS - B's LUFS);
    peak_dbfs: B's sample peak. A gain that would push B's peak past `ceiling_dbfs` is
    lowered to reach the ceiling exactly: B is then slightly quieter than A, and the UI
    says so, rather than clipping (which would add distortion the codec did not make).
    """
    limit = ceiling_dbfs - peak_dbfs
    if match_db > limit:
        return limit, True
    return match_db, False
