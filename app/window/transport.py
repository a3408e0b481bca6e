"""The transport's controller: A/B choice, play/pause, seek, loop, loudness matching.

It owns the player (app.realtime.player, no Qt) and keeps it in step with the comparison
controller: A is the signal, B the decode at the current K, swapped in at the same
position when a new K arrives. Matching plays B at A's integrated loudness, limited so B's
peak never passes full scale.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal

from codec.session.comparison import decode_key

from ..realtime.devices import AudioBackend
from ..realtime.player import Player, Segments, loudness_match_gain
from .compare import CompareController


class TransportController(QObject):
    abChanged = Signal(str)  # "A" or "B"
    bAvailable = Signal(bool)
    playingChanged = Signal(bool)
    gainShown = Signal(str, str)  # label text, tooltip
    error = Signal(str)

    def __init__(self, compare: CompareController, backend: AudioBackend) -> None:
        super().__init__()
        self.compare = compare
        self.player = Player(backend, rate=1, on_error=self.error.emit)
        self.match = False
        self.gaps_since_play = 0  # gaps heard in playback since Play was pressed
        compare.comparisonChanged.connect(self._comparison)
        compare.codesChanged.connect(self._codes)
        compare.reconstructionChanged.connect(self._reconstruction)
        compare.kChanged.connect(lambda _k: self.update_gain())
        compare.measured.connect(self._measured)
        compare.quickPart.connect(self._quick_part)
        compare.playhead_s = self.position_seconds
        compare.playing = lambda: self.player.playing
        # while audio plays, the worker keeps its background work in short slices; a direct
        # call (set_listening is thread-safe): queued, it would wait for the worker's job
        self.playingChanged.connect(
            compare.worker.set_listening, Qt.ConnectionType.DirectConnection
        )
        self._quick: tuple[int, str] | None = None  # the (K, part) B's pieces belong to

    # ---- following the comparison ----------------------------------------------------------
    def _comparison(self, c) -> None:
        was = self.player.selected
        if c is None:
            self.player.set_signals([])
        else:
            self.player.set_rate(c.codec_rate)
            self.player.set_sources(c.x24)
        self.playingChanged.emit(False)
        self.bAvailable.emit(False)
        self.select(was)
        self.update_gain()

    def _codes(self) -> None:
        c = self.compare.comparison
        if c is None or c.codes is None:
            self.player.set_b(None)
            self.bAvailable.emit(False)
            self.select(self.player.selected)

    def _reconstruction(self, k: int) -> None:
        c = self.compare.comparison
        if c is None or k != self.compare.k:
            return
        y = c.reconstruction(decode_key(k, self.compare.part))
        if y is not None and self._quick == (k, self.compare.part):
            self.player.crossfade_source(1, y)  # the exact decode takes over, no click
        else:
            self.player.set_b(y)
        self._quick = None
        self.bAvailable.emit(y is not None)
        self.update_gain()  # the whole decode's peak is known now

    def _quick_part(self, k: int, start: int, audio, exact: bool) -> None:
        """A piece of the new K's decode near the cursor: heard at once, before the exact
        decode of the whole file is ready."""
        if k != self.compare.k or self.player.length == 0:
            return
        key = (k, self.compare.part)
        piece = np.ascontiguousarray(audio.T)
        b = self.player.source(1)
        if self._quick == key and isinstance(b, Segments):
            self.player.set_b(b.with_part(start, piece))
        else:
            # until the new K's pieces reach a place, B goes on with what it played there
            base = b.base if isinstance(b, Segments) else b
            self._quick = key
            segments = Segments(self.player.length, base=base).with_part(start, piece)
            self.player.crossfade_source(1, segments)
            self.bAvailable.emit(True)

    def _measured(self, k: int) -> None:
        if k == self.compare.k:
            self.update_gain()

    # ---- actions ---------------------------------------------------------------------------
    def toggle_play(self) -> bool:
        playing = self.player.toggle()
        if playing:
            self.player.new_gaps()  # a new play counts its own
            self.gaps_since_play = 0
        self.playingChanged.emit(playing)
        return playing

    def select(self, which: str) -> None:
        if which == "B" and not self.player.has_b():
            which = "A"
        self.player.select(which)
        self.abChanged.emit(which)

    def toggle_ab(self) -> None:
        self.select("B" if self.player.selected == "A" else "A")

    def seek_seconds(self, t: float) -> None:
        self.player.seek(int(t * self.player.rate))

    def position_seconds(self) -> float:
        return self.player.position / self.player.rate if self.player.rate else 0.0

    def set_loop(self, start_s: float | None, end_s: float | None = None) -> None:
        r = self.player.rate
        if start_s is None or end_s is None:
            self.player.set_loop(None)
        else:
            self.player.set_loop(int(start_s * r), int(end_s * r))

    def poll(self) -> str:
        """Called by the window's timer: '' or why playback stopped (a lost device)."""
        err = self.player.check_stream()
        if err or not self.player.playing:
            self.playingChanged.emit(self.player.playing)
        return err

    def gap_note(self) -> str:
        """Called by the window's timer: '' or, when playback had new gaps, what to say."""
        n = self.player.new_gaps()
        if not n:
            return ""
        self.gaps_since_play += n
        g = self.gaps_since_play
        return (
            f"playback had {g} gap{'s' if g > 1 else ''} since Play: the computer did not "
            "feed the audio device in time (busy with other work?)"
        )

    # ---- loudness match ------------------------------------------------------------------
    def set_match(self, on: bool) -> None:
        self.match = on
        self.update_gain()

    def update_gain(self) -> None:
        """B's playback gain: A's loudness when matching is on, else unity."""
        c, k = self.compare.comparison, self.compare.k
        m = None if c is None else c.measurement(k)
        if not self.match or self.compare.part != "all":  # a part is not matched to A
            if self.match:
                self.player.gain_b = 1.0
                self.gainShown.emit(
                    "B: a part, not matched", "loudness matching applies to the codec's decode"
                )
                return
            self.player.gain_b = 1.0
            self.gainShown.emit("", "")
            return
        if m is None:
            self.player.gain_b = 1.0
            self.gainShown.emit("B: measuring…", "B plays unchanged until its loudness is measured")
            return
        peak = c.peak(k)  # the whole decode's: a long file's metrics see only excerpts
        if peak is None:
            peak = max(ch["peak_dbfs_est"] for ch in m.channels)
        gain, limited = loudness_match_gain(m.gain_db, peak)
        self.player.gain_b = float(10 ** (gain / 20))
        tip = f"B is played {gain:+.1f} dB to match A's integrated loudness"
        if limited:
            tip += (
                f"; matching needs {m.gain_db:+.1f} dB, which would push B's peak "
                f"({peak:.1f} dBFS) past full scale, so B stays {m.gain_db - gain:.1f} dB "
                "quieter than A instead of clipping"
            )
        self.gainShown.emit(f"B {gain:+.1f} dB" + (" (peak limit)" if limited else ""), tip)
