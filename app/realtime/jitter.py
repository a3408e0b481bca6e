"""The output side of the live loop: decoded audio waiting for the speaker.

`JitterBuffer` is a FIFO of device-rate samples. Each chunk carries a tag: the index (in
device-rate input samples since the session began) of the input sample its first sample
was decoded from. The output callback pops whole blocks and reports the tag of what it
played, so the latency readout can say exactly which input sample is leaving the speaker.

The buffer is adaptive. Its *slack* is what is still queued when the next decoded frame
arrives: slack is latency beyond the minimum, and it only protects against a frame
arriving late (compute jitter, a busy machine). The target slack starts at `minimum` (the
floor it never goes below) and grows by `step` after each underrun (the speaker found the
buffer empty). The first push leads with the target's worth of silence, so the
slack is the target from then on. After an underrun as much of the late audio as the
silence lasted is skipped (its time has passed), which keeps the phase from before the
dry spell, and playing resumes led by the target's growth: a dry spell costs one gap and
one step of latency, not the spell's length on top for the rest of the session.

The target shrinks by `step` after `relax_s` without an underrun, but only if the slack
never fell below `step` in that time: the slack at a push is the lowest the queue got
since the last one, so a step less would not have run dry either. (Shrinking on time
alone gave an underrun every time the target came back below what the machine's jitter
needs: every 8-20 s here.) A shrink followed by an underrun within the wait doubles the
wait (up to 8x): the buffer learns how rare the machine's slow frames are. Whenever the
slack exceeds the target by `cut_steps` steps or more (the input arrived in a burst), and
at a shrink, the excess is cut from the head, crossfaded over `fade` samples, and
counted: the speaker skips ahead rather than staying late.

Threads: `push` runs in the frame loop, `pop_into` in the audio callback. One lock guards
the queue and the counters; the callback holds it only to copy.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Cut:
    """What one push cut from the head to bring the slack back to the target."""

    samples: int  # device-rate samples skipped
    target: int  # the target slack after the push, samples


class JitterBuffer:
    def __init__(
        self,
        rate: int,
        block: int,
        minimum: int = 0,
        step: int | None = None,
        relax_s: float = 15.0,
        cut_steps: int = 8,
        fade: int | None = None,
        maximum: int | None = None,
    ) -> None:
        """rate: device Hz; block: the output callback's block in samples; minimum, step,
        maximum: target slack bounds in samples (default step: one block, at least 5 ms;
        maximum 200 ms); relax_s: seconds of pushed audio without an underrun before the
        target shrinks one step; cut_steps: excess slack, in steps, that is cut (less is
        compute jitter, which evens out); fade: crossfade length of a cut (default 2.5 ms)."""
        self.rate = int(rate)
        self.block = max(int(block), 1)
        self.minimum = int(minimum)
        self.step = int(step) if step else max(self.block, rate // 200)
        self.maximum = int(maximum) if maximum is not None else rate // 5
        self.relax = int(relax_s * rate)
        self.cut_steps = max(int(cut_steps), 1)
        self.fade = int(fade) if fade is not None else max(rate // 400, 1)
        self.target = min(self.minimum, self.maximum)
        self._chunks: collections.deque[tuple[np.ndarray, int]] = collections.deque()
        self._lock = threading.Lock()
        self.size = 0  # samples queued now
        self.popped = 0  # real samples handed to the speaker so far
        self.underruns = 0  # dry spells: blocks that came up short after playing began
        self._dry = False  # in a dry spell now (counted once per spell)
        self._started = False  # the first decoded sample has been played
        self._seen_underruns = 0  # underruns the target has already grown for
        self._since_change = 0  # samples pushed since the target last moved
        self._low: int | None = None  # lowest slack at a push since then, samples
        self.relax_now = self.relax  # the wait before a shrink now (doubles after a bad one)
        self._since_shrink: int | None = None  # samples pushed since the last shrink
        self.skipped = 0  # cuts made
        self.samples_skipped = 0
        self.padded = 0  # samples of lead silence queued (at the start, after underruns)
        self._owed = 0  # silence played in dry spells, not yet made up by skipping audio
        self._pad_due = 0  # the target's growth since the last underrun, to lead with
        self.late_samples = 0  # audio dropped because its time had passed (after underruns)

    # ---- audio callback ----------------------------------------------------------------------
    def pop_into(self, out: np.ndarray) -> tuple[int, int]:
        """Fill out [n] from the head; pads with silence. Returns (real samples, tag of the
        first of them or -1). Callback-safe: copies under the lock, allocates nothing."""
        n, got, tag = len(out), 0, -1
        with self._lock:
            while got < n and self._chunks:
                head, t = self._chunks[0]
                if got == 0:
                    tag = t
                take = min(n - got, len(head))
                out[got : got + take] = head[:take]
                got += take
                if take == len(head):
                    self._chunks.popleft()
                else:
                    self._chunks[0] = (head[take:], t + take)
            self.size -= got
            self.popped += got
            if got:
                self._started = True
            if got < n and self._started:
                if not self._dry:
                    self.underruns += 1
                    self._dry = True
                self._owed += n - got  # silence played in place of audio still to come
        out[got:] = 0.0
        return got, tag

    # ---- frame loop --------------------------------------------------------------------------
    def push(self, x: np.ndarray, tag: int, adapt: bool = True) -> Cut:
        """Queue x [n] float32 whose first sample was decoded from input sample `tag`; adapt
        the target and cut any excess slack (see the module docstring).

        adapt=False only appends: for the later pieces of a frame pushed in pieces (the live
        loop queues each decoded hop at once), whose slack is the frame's own earlier piece,
        not lateness."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        with self._lock:
            if self._owed:
                # the speaker played silence where this audio belonged: its time has passed,
                # so skip as much of it as the silence lasted and the latency stays where it
                # was (plus the target's growth) instead of growing by every dry spell
                skip = min(self._owed, len(x))
                x, tag = x[skip:], tag + skip
                self._owed -= skip
                self.late_samples += skip
            new = self.underruns - self._seen_underruns
            if new:
                grown = min(self.target + new * self.step, self.maximum)
                self._pad_due += grown - self.target
                self.target = grown
                self._seen_underruns = self.underruns
                if self._since_shrink is not None and self._since_shrink < self.relax_now:
                    # the last shrink was too soon: wait twice as long before the next
                    self.relax_now = min(2 * self.relax_now, 8 * self.relax)
                self._since_change, self._low, self._since_shrink = 0, None, None
            if not adapt:
                self._since_change += len(x)
                # (where the skip above ended inside a later piece, playing resumes here)
                self._append(*self._lead(x, tag))
                return Cut(0, self.target)
            slack = self.size
            if not new and self._started and not self._dry:  # (dry: resuming, not slack)
                self._low = slack if self._low is None else min(self._low, slack)
            shrunk = False
            if not new and self._since_change >= self.relax_now and self.target > self.minimum:
                if self._low is not None and self._low >= self.step:
                    self.target = max(self.target - self.step, self.minimum)
                    shrunk = True
                    self._since_shrink = 0
                self._since_change, self._low = 0, None  # a new window either way
            self._since_change += len(x)
            if self._since_shrink is not None:
                self._since_shrink += len(x)
            self._append(*self._lead(x, tag))
            cut = 0
            # a shrink is deliberate: its step is cut at once, else the latency would stay
            limit = self.step if shrunk else self.cut_steps * self.step
            if slack - self.target >= limit:
                cut = self._cut_head(slack - self.target)
            return Cut(cut, self.target)

    def _lead(self, x: np.ndarray, tag: int) -> tuple[np.ndarray, int]:
        """x and its tag, led by silence where playing starts (the target's worth) or
        resumes after an underrun (the target's growth since: the skip of late audio keeps
        the old phase, so the latency is the old one plus the growth); called with the lock
        held."""
        if not len(x) or self.size or (self._started and not self._dry):
            return x, tag
        pad = self.target if not self._started else self._pad_due
        self._pad_due = 0
        if pad:
            x = np.concatenate([np.zeros(pad, np.float32), x])
            tag -= pad
            self.padded += pad
        return x, tag

    def _append(self, x: np.ndarray, tag: int) -> None:
        """Queue x (tagged `tag`) at the tail; called with the lock held."""
        if len(x):
            self._chunks.append((x, int(tag)))
            self.size += len(x)
            self._dry = False

    def _cut_head(self, n: int) -> int:
        """Skip n samples after the head's first `fade`, crossfading across the cut. Called
        with the lock held; needs n + 2 fade queued (it always is: a frame was just pushed)."""
        f = self.fade
        if self.size < n + 2 * f:
            return 0
        audio = np.concatenate([c for c, _ in self._chunks])
        tags = np.concatenate([t + np.arange(len(c)) for c, t in self._chunks])
        ramp = np.linspace(0.0, 1.0, f, dtype=np.float32)
        joined = audio[:f] * (1 - ramp) + audio[n : n + f] * ramp
        rest_audio, rest_tags = audio[n + f :], tags[n + f :]
        self._chunks.clear()
        # the faded samples continue the later signal, so they carry its tags
        self._chunks.append((joined.astype(np.float32), int(tags[n])))
        # re-split where the tags jump (earlier cuts), so each chunk's tags are contiguous
        breaks = np.flatnonzero(np.diff(rest_tags) != 1) + 1
        for a, t in zip(np.split(rest_audio, breaks), np.split(rest_tags, breaks), strict=True):
            if len(a):
                self._chunks.append((a, int(t[0])))
        self.size -= n
        self.skipped += 1
        self.samples_skipped += n
        return n

    def unaccounted(self, pushed: int) -> int:
        """Of `pushed` samples pushed so far, plus the lead silence added, those neither
        played, queued, cut from a burst nor dropped after a dry spell (their time had
        passed): 0 unless samples were lost (or clear() threw the queue away)."""
        with self._lock:
            out = self.popped + self.size + self.samples_skipped + self.late_samples
            return pushed + self.padded - out

    def clear(self) -> None:
        with self._lock:
            self._chunks.clear()
            self.size = 0
