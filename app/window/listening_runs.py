"""A listening test while it runs: one session, one player, one trial window.

`AbxRun` and `MushraRun` bind a codec.listening.session.Session (which saves every answer
as it is given) to a Player (app.realtime.player: all stimuli of a trial at once, one
cursor, so switching keeps the position with no gap) and to the page that shows the
trial. They start at the session's position, so a resumed session carries on where it
stopped, with a MUSHRA item's ratings and plays so far restored.

Nothing shown names a condition: the player's sources are in the trial's order (ABX: A,
B, X; MUSHRA: the reference, then the stimuli in the item's shuffled order) and the page
only knows positions and neutral labels.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from codec.listening.conditions import REFERENCE
from codec.listening.session import Session

from ..realtime.devices import AudioBackend
from ..realtime.player import Player
from ..widgets.listening.abx import AbxWidget
from ..widgets.listening.mushra import MushraWidget
from ..widgets.listening.trial_window import TrialWindow

TICK_MS = 50
GAP_NOTE = (
    "Playback had a gap just now (the computer did not feed the audio device in time): "
    "listen again before you answer."
)


class _Run(QObject):
    finished = Signal(object)  # the Session, once its last answer is saved
    error = Signal(str)

    def __init__(self, session: Session, backend: AudioBackend, page, title: str) -> None:
        super().__init__()
        self.session = session
        self.page = page
        self.player = Player(backend, rate=1, on_error=self.error.emit)
        self.window = TrialWindow(page, title)
        self.window.spacePressed.connect(self.toggle_play)
        self.loop: tuple[float, float] | None = None
        page.playToggled.connect(self.toggle_play)
        page.loopToggled.connect(self._loop_toggled)
        page.timeline.seekRequested.connect(self.seek)
        page.timeline.loopChanged.connect(self._loop_changed)
        self._last = time.monotonic()
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    # ---- playback ---------------------------------------------------------------------------
    def _load(self, signals: list, rate: int, duration: float) -> None:
        self.player.pause()
        self.player.new_gaps()  # gaps of the last trial are not this one's
        self.window.show_note("")
        self.player.set_rate(rate)
        self.player.set_signals(signals)
        self._apply_loop()
        if self.loop is not None:
            self.player.seek(int(self.loop[0] * rate))
        self.page.set_playing(False)

    def choose(self, index: int) -> None:
        """Play source `index` from where the cursor is (starting playback if paused)."""
        self.player.select(index)
        if not self.player.playing and not self.player.play():
            return
        self.page.set_playing(True)
        self._heard(0.0)

    def toggle_play(self) -> None:
        playing = self.player.toggle()
        self.page.set_playing(playing)
        if playing:
            self._heard(0.0)

    def seek(self, seconds: float) -> None:
        self.player.seek(int(seconds * self.player.rate))
        self.page.timeline.set_position(seconds)

    def _loop_toggled(self, on: bool) -> None:
        self.page.timeline.set_loop(on, *(self.loop or (0.0, 0.0)))

    def _loop_changed(self, start: float, end: float) -> None:
        self.loop = (start, end) if end > start else None
        self._apply_loop()

    def _apply_loop(self) -> None:
        r = self.player.rate
        if self.loop is None:
            self.player.set_loop(None)
        else:
            self.player.set_loop(int(self.loop[0] * r), int(self.loop[1] * r))

    def _tick(self) -> None:
        now = time.monotonic()
        dt, self._last = now - self._last, now
        err = self.player.check_stream()
        if err:
            self.error.emit(err)
        if self.player.new_gaps():
            self.window.show_note(GAP_NOTE)
        self.page.set_playing(self.player.playing)
        if self.player.playing:
            self._heard(dt)
        if self.player.rate > 1:
            self.page.timeline.set_position(self.player.position / self.player.rate)

    def _heard(self, dt: float) -> None:  # the selected source played for dt seconds
        raise NotImplementedError

    # ---- life -------------------------------------------------------------------------------
    def show(self) -> None:
        self._last = time.monotonic()
        self.timer.start()
        self.window.show()
        self.window.raise_()

    def close(self) -> None:
        self.timer.stop()
        self.player.close()
        self.window.close()

    def _finish(self) -> None:
        self.timer.stop()
        self.player.close()
        self.finished.emit(self.session)


class AbxRun(_Run):
    """Trial by trial: sources A, B and X; the answer moves on to the next trial."""

    LETTERS = ("A", "B", "X")

    def __init__(self, session: Session, backend: AudioBackend) -> None:
        super().__init__(session, backend, AbxWidget(), "Listening test · ABX")
        self.page.sourceChosen.connect(lambda ltr: self.choose(self.LETTERS.index(ltr)))
        self.page.answered.connect(self.answer)
        self.seconds = 0.0
        self.heard_x = False
        self.trial_loaded()

    def trial_loaded(self) -> None:
        t = self.session.current()
        st = self.session.stimuli(0)
        x = t["a"] if t["x"] == "A" else t["b"]
        self._load([st.played(t["a"]), st.played(t["b"]), st.played(x)], st.rate, 0.0)
        self.page.show_trial(
            self.session.position + 1, len(self.session.plan), st.num_samples / st.rate
        )
        self.seconds, self.heard_x = 0.0, False

    def choose(self, index: int) -> None:
        super().choose(index)
        if self.player.playing:
            self.page.set_selected(self.LETTERS[index])

    def _heard(self, dt: float) -> None:
        self.seconds += dt
        if self.player.index == 2 and not self.heard_x:
            self.heard_x = True
            self.page.enable_answers(True)

    def answer(self, label: str) -> None:
        if not self.heard_x:
            return
        self.session.answer_abx(label, self.seconds)
        if self.session.finished:
            self._finish()
        else:
            self.trial_loaded()


class MushraRun(_Run):
    """Item by item: source 0 the reference, 1..N the stimuli in the item's order."""

    def __init__(self, session: Session, backend: AudioBackend) -> None:
        super().__init__(session, backend, MushraWidget(), "Listening test · MUSHRA")
        self.page.referenceChosen.connect(lambda: self.choose(0))
        self.page.stimulusChosen.connect(lambda pos: self.choose(pos + 1))
        self.page.rated.connect(self.rate)
        self.page.stopped.connect(self.stop)
        self.page.nextRequested.connect(self.next_item)
        self.order: list[str] = []
        self.seconds: dict[str, float] = {}
        self.item_loaded()

    def item_loaded(self) -> None:
        t = self.session.current()
        st = self.session.stimuli(t["item"])
        self.order = list(t["order"])
        self._load([st.played(REFERENCE)] + [st.played(c) for c in self.order], st.rate, 0.0)
        self.page.show_item(
            self.session.position + 1, len(self.session.plan), t["labels"], st.num_samples / st.rate
        )
        self.window.refresh_focus()
        draft = self.session.draft
        self.seconds = dict(draft.get("seconds", {}))
        for pos, c in enumerate(self.order):
            if c in draft.get("scores", {}):
                self.page.set_score(pos, draft["scores"][c])
        self._progress()

    def choose(self, index: int) -> None:
        super().choose(index)
        if self.player.playing:
            self.page.set_selected(None if index == 0 else index - 1)

    def stop(self) -> None:
        self.player.pause()
        self.seek(self.loop[0] if self.loop else 0.0)
        self.page.set_playing(False)

    def _heard(self, dt: float) -> None:
        i = self.player.index
        if i == 0:
            return  # the open reference is not rated
        c = self.order[i - 1]
        first = c not in self.seconds
        self.seconds[c] = self.seconds.get(c, 0.0) + dt
        self.session.played(c, self.seconds[c])
        if first:
            self._progress()

    def rate(self, pos: int, score: int) -> None:
        self.session.rate(self.order[pos], float(score))
        self._progress()

    def _progress(self) -> None:
        unplayed, unrated = self.session.missing()
        self.page.set_progress(len(unplayed), len(unrated))

    def next_item(self) -> None:
        unplayed, unrated = self.session.missing()
        if unplayed or unrated:
            self._progress()
            return
        self.session.commit_item()
        if self.session.finished:
            self._finish()
        else:
            self.item_loaded()
