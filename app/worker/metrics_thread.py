"""Quality metrics off the codec worker's thread (plain threading; no Qt, no model).

Metrics are numpy work that cannot stop midway (STOI alone takes about 0.15 s per second
of audio on a small CPU), so they run here, behind a queue: the codec worker decodes,
hands the decode over and is free at once for the user's next request. Each item is
measured with the shared operation (codec.session.operations.measure_pair), kept in the
comparison (unless its codes changed meanwhile) and reported through a callback (the
worker passes its result signal's emit, which Qt queues to the GUI).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from codec.errors import Cancelled
from codec.session.comparison import Comparison
from codec.session.operations import measure_pair


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


BACKGROUND_NICE = 10


def _lower_this_threads_priority() -> None:
    """Make the calling thread yield the CPU to the others (Linux: a thread has its own
    nice value). The metrics are background work, but a K switch's first piece and the
    GUI's audio feed compete with them for the cores: on 2 cores, PESQ and STOI running
    beside a switch slowed its first piece from ~0.15 s to ~0.27 s (full-size Mimi).
    Best effort: elsewhere, or where it is not allowed, nothing changes."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)


@dataclass(frozen=True, eq=False)
class MetricsItem:
    """One measurement to make: est [C, T] (the decode at k, or excerpts of it) against
    ref [C, T], for `comparison` while its codes are still `generation`."""

    request: object  # the worker's Measure request, handed back with the result
    comparison: Comparison
    generation: int
    k: int
    ref: np.ndarray
    est: np.ndarray
    scope: str
    cancelled: Callable[[], bool]


class MetricsThread:
    """One daemon thread measuring items in order."""

    def __init__(
        self,
        on_measured: Callable[[object, object], None],
        on_failed: Callable[[object, str], None],
    ) -> None:
        self.on_measured = on_measured  # (request, Measurement)
        self.on_failed = on_failed  # (request, message)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        # Once stop() returns, no callback runs: they emit on Qt objects that the window
        # deletes next, and a metric of a long file can outlast the join (a late emit on a
        # deleted object crashed the suite). Callbacks run holding this lock.
        self._emit_lock = threading.Lock()
        self._closed = False
        self._busy = threading.Event()  # set while an item is measured
        self._thread = threading.Thread(target=self._loop, name="metrics", daemon=True)
        self._thread.start()

    def submit(self, item: MetricsItem) -> None:
        self._queue.put(item)

    def stop(self, timeout_s: float = 15.0) -> None:
        """Drop the items queued, finish the metric in hand (one cannot stop midway; the
        items' cancel checks, true once the worker closes, end the rest), then end the
        thread. A thread still inside a metric when the process exits aborts it (seen after
        closing a window mid-way through a 10-minute file's metrics), hence the wait."""
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        self._queue.put(None)
        self._thread.join(timeout_s)
        with self._emit_lock:
            self._closed = True

    def _report(self, callback, *args) -> None:
        with self._emit_lock:
            if not self._closed:
                callback(*args)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def busy(self) -> bool:
        """An item is being measured now (it keeps a core busy)."""
        return self._busy.is_set()

    def _loop(self) -> None:
        _lower_this_threads_priority()
        while (item := self._queue.get()) is not None:
            self._busy.set()
            try:
                self._measure(item)
            except Cancelled:
                pass  # another file or model since: dropped (the GUI would ignore it)
            except Exception as e:  # one failing metric must not end the thread
                traceback.print_exc()
                self._report(self.on_failed, item.request, f"{type(e).__name__}: {e}")
            finally:
                self._busy.clear()
            del item
            release_freed_heap()

    def _measure(self, item: MetricsItem) -> None:
        c = item.comparison
        m = measure_pair(item.k, item.ref, item.est, c.codec_rate, item.scope, item.cancelled)
        if c.set_measurement(m, item.generation) and not item.cancelled():
            self._report(self.on_measured, item.request, m)
