"""Quality metrics off the codec worker's thread (plain threading; no Qt, no model).

Metrics are numpy work that cannot stop midway (STOI alone takes about 0.15 s per second
of audio on a small CPU), so they run here, behind a queue: the codec worker decodes,
hands the decode over and is free at once for the user's next request. Results go out
through callbacks (the worker passes its signals' emit, which Qt queues to the GUI).
"""

from __future__ import annotations

import ctypes
import queue
import threading
import traceback
from collections.abc import Callable

import numpy as np

from codec.session import Comparison


def _load_malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None


_MALLOC_TRIM = _load_malloc_trim()


def release_freed_heap() -> None:
    """Give freed heap memory back to the system.

    The metrics make many mid-sized temporaries; glibc keeps the freed ones (150-330 MB
    after one measurement of 80 s, measured), which would sit beside a long file's
    signal and decodes. malloc_trim returns them.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


class MetricsThread:
    """One daemon thread measuring (job, k, session, decode) items in order."""

    def __init__(
        self,
        is_current: Callable[[int], bool],
        on_measured: Callable[[int, int, object], None],
        on_failed: Callable[[int, int, str], None],
    ) -> None:
        self.is_current = is_current
        self.on_measured = on_measured
        self.on_failed = on_failed
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="metrics", daemon=True)
        self._thread.start()

    def submit(self, job: int, k: int, session: Comparison, ref: np.ndarray, y: np.ndarray) -> None:
        """Measure y [C, T] (the decode at k) against ref [C, T] (session.x24, or the same
        excerpts of it), for job; the results are kept in the session."""
        self._queue.put((job, k, session, ref, y))

    def stop(self, timeout_s: float = 5.0) -> None:
        """Finish the item in hand (metrics cannot stop midway), then end the thread."""
        self._queue.put(None)
        self._thread.join(timeout_s)

    def _loop(self) -> None:
        while (item := self._queue.get()) is not None:
            job, k, s, ref, y = item
            try:
                self._measure(job, k, s, ref, y)
            except Exception as e:  # one failing metric must not end the thread
                traceback.print_exc()
                self.on_failed(job, k, f"{type(e).__name__}: {e}")
            del item, s, ref, y
            release_freed_heap()

    def _measure(self, job: int, k: int, s: Comparison, ref: np.ndarray, y: np.ndarray) -> None:
        from codec.metrics import channel_metrics, loudness_match_gain_db

        channels = []  # codec.metrics.compare, one channel at a time to check for staleness
        for c in range(s.channels):
            if not self.is_current(job):
                return  # another file or model since: drop it (the GUI would too)
            channels.append(channel_metrics(ref[c], y[c], s.codec_rate))
        gain = loudness_match_gain_db(ref, y, s.codec_rate)
        s.metrics[k], s.match_gain_db[k] = channels, gain
        if self.is_current(job):
            self.on_measured(job, k, {"channels": channels, "gain_db": gain})
