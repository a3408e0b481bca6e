"""Jobs for the codec worker and what comes back: typed, immutable values.

The window's controllers make a request (it gets an id and carries a cancel token) and
hand it over with `CodecWorker.submit`; the worker answers with `Result` objects, each
naming the request it answers. Nothing else crosses between the threads: no attribute of
the worker is ever written from the GUI thread.

A cancel token may hang off a parent: every job of an open file carries a child of that
file's token, so opening another file (or loading another model) cancels them all at once.
A job whose token is cancelled stops at its next chunk and answers `Cancelled`.

Priorities: the user's own requests (open, encode, a decode, an export) come first; the
measurement of the K being looked at next; the quality sweep last. A background job steps
aside (goes back in the queue) as soon as a request of higher priority waits.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from codec.analysis.stream_check import StreamCheck as StreamCheckResult
from codec.model.info import CodecInfo
from codec.session.comparison import Comparison, Measurement


class CancelToken:
    """A thread-safe "stop" flag; cancelled when it or any of its parents is."""

    __slots__ = ("_event", "parent")

    def __init__(self, parent: CancelToken | None = None) -> None:
        self._event = threading.Event()
        self.parent = parent

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        t: CancelToken | None = self
        while t is not None:
            if t._event.is_set():
                return True
            t = t.parent
        return False

    def __call__(self) -> bool:  # usable wherever a `cancel()` check is taken
        return self.cancelled

    def child(self) -> CancelToken:
        return CancelToken(self)


class Priority(IntEnum):
    USER = 0  # the user is waiting for it
    SOON = 1  # the metrics of the K on screen
    BACKGROUND = 2  # the quality sweep


_ids = itertools.count(1)


@dataclass(frozen=True, eq=False)
class Request:
    token: CancelToken
    id: int = field(default_factory=lambda: next(_ids), init=False)

    @property
    def priority(self) -> Priority:
        return Priority.USER


@dataclass(frozen=True, eq=False)
class LoadModel(Request):
    source: str
    device: str = "auto"


@dataclass(frozen=True, eq=False)
class OpenFile(Request):
    path: str


@dataclass(frozen=True, eq=False)
class OpenComparison(Request):
    """Show a comparison made elsewhere (a finished live session): views are prepared."""

    comparison: Comparison


@dataclass(frozen=True, eq=False)
class Encode(Request):
    comparison: Comparison


@dataclass(frozen=True, eq=False)
class Decode(Request):
    comparison: Comparison
    k: int
    part: str = "all"  # "all", "semantic", "acoustic" or "residual" (codec.session.operations)


@dataclass(frozen=True, eq=False)
class SwitchK(Request):
    """Make K heard at once where the listener is: decode from the playhead `position_s`
    (seconds; after a short warm-up) ahead first, on to the end in pieces (QuickPart
    results), then the exact decode from the start (Decoded). While `playing`, the worker
    starts where the cursor will be by the time the first piece is ready."""

    comparison: Comparison
    k: int
    position_s: float
    part: str = "all"
    playing: bool = False
    submitted: float = field(default_factory=time.monotonic)  # time.monotonic() seconds


@dataclass(frozen=True, eq=False)
class AnalyseTokens(Request):
    """Each level's share of the latent, per channel, for the token views."""

    comparison: Comparison

    @property
    def priority(self) -> Priority:
        return Priority.SOON


@dataclass(frozen=True, eq=False)
class CompareTokens(Request):
    """Encode a second clip and align it to the comparison's channel, token by token."""

    comparison: Comparison
    path: str
    channel: int
    align_on: str = "latent"


@dataclass(frozen=True, eq=False)
class Measure(Request):
    comparison: Comparison
    k: int
    urgency: Priority = Priority.BACKGROUND

    @property
    def priority(self) -> Priority:
        return self.urgency


@dataclass(frozen=True, eq=False)
class StreamCheck(Request):
    comparison: Comparison
    k: int


@dataclass(frozen=True, eq=False)
class Export(Request):
    comparison: Comparison
    k: int
    path: str


@dataclass(frozen=True, eq=False)
class StartLive(Request):
    """Run a live session in the worker's thread until `control.stop()` (see app.realtime.
    live). The devices are tried at each rate in turn."""

    control: Any  # app.realtime.live.LiveControl
    backend: Any  # app.realtime.devices.AudioBackend
    input_device: int | None
    output_device: int | None
    rates: tuple[int, ...]
    spool: str | None


# ---- results ----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Result:
    request: Request


@dataclass(frozen=True, eq=False)
class ModelLoaded(Result):
    info: CodecInfo
    geometry: Any = None  # codec.analysis.tokens.CodebookGeometry of the model


@dataclass(frozen=True, eq=False)
class ModelFailed(Result):
    message: str
    kept: CodecInfo | None  # the model still in use, if any


@dataclass(frozen=True, eq=False)
class Progress(Result):
    what: str
    done: int
    total: int


@dataclass(frozen=True, eq=False)
class Opened(Result):
    comparison: Comparison


@dataclass(frozen=True, eq=False)
class Encoded(Result):
    codes: np.ndarray  # [C, n_q, F], read-only
    seconds: float


@dataclass(frozen=True, eq=False)
class Decoded(Result):
    k: int
    seconds: float  # 0 when it came from the cache


@dataclass(frozen=True, eq=False)
class QuickPart(Result):
    """A piece of the decode at K for the ear, before the exact one: audio [C, n] (read-only)
    from sample `start` at the codec rate. exact: equal to the exact decode there."""

    k: int
    start: int
    audio: np.ndarray
    exact: bool


@dataclass(frozen=True, eq=False)
class TokensAnalysed(Result):
    analysis: Any  # codec.analysis.tokens.TokenAnalysis


@dataclass(frozen=True, eq=False)
class TokensCompared(Result):
    comparison: Any  # codec.analysis.tokens.TokenComparison


@dataclass(frozen=True, eq=False)
class Measured(Result):
    measurement: Measurement


@dataclass(frozen=True, eq=False)
class StreamChecked(Result):
    check: StreamCheckResult


@dataclass(frozen=True, eq=False)
class Exported(Result):
    path: str


@dataclass(frozen=True, eq=False)
class Failed(Result):
    message: str


@dataclass(frozen=True, eq=False)
class Cancelled(Result):
    pass


@dataclass(frozen=True, eq=False)
class LiveStarted(Result):
    device_rate: int


@dataclass(frozen=True, eq=False)
class LiveFrame(Result):
    codes: np.ndarray  # [n_q] of one frame
    stats: Any  # app.realtime.live.LiveStats (a copy)


@dataclass(frozen=True, eq=False)
class LiveFinished(Result):
    result: Any  # app.realtime.live.LiveResult
    error: str


class Inbox:
    """Requests waiting for the worker: the highest priority first, in order within one.

    Filled from the GUI thread, emptied in the worker's; a lock guards it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._heap: list[tuple[int, int, Request]] = []
        self._seq = itertools.count()

    def put(self, request: Request) -> None:
        with self._lock:
            heapq.heappush(self._heap, (int(request.priority), next(self._seq), request))

    def take(self) -> Request | None:
        with self._lock:
            return heapq.heappop(self._heap)[2] if self._heap else None

    def waiting_before(self, priority: Priority) -> bool:
        """True when a request of higher priority (a lower number) is waiting."""
        with self._lock:
            return bool(self._heap) and self._heap[0][0] < priority

    def __len__(self) -> int:
        with self._lock:
            return len(self._heap)
