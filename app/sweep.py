"""The quality-versus-K sweep schedule: one measurement in flight at a time.

The worker is one thread with one queue. Queuing all ten measurements at once would put
them ahead of any decode the user asks for next; queuing the next K only when the last one
answers lets every interactive request in between. No Qt here: `request(job, k)` is how a
measurement is asked for (the window emits a queued signal).
"""

from __future__ import annotations

from collections.abc import Callable


class SweepSchedule:
    """Which K to measure next for the current job; answers from other jobs are ignored."""

    def __init__(self, request: Callable[[int, int], None]) -> None:
        self.request = request
        self.job: int | None = None
        self.todo: list[int] = []
        self.in_flight: int | None = None  # the K asked for and not yet answered

    @property
    def running(self) -> bool:
        return self.job is not None and (bool(self.todo) or self.in_flight is not None)

    def start(self, job: int, ks: list[int], done: set[int] | frozenset = frozenset()) -> None:
        """Measure each K in `ks` not in `done`, in order, for `job`."""
        self.job, self.in_flight = job, None
        self.todo = [k for k in ks if k not in done]
        self._next()

    def stop(self) -> None:
        self.job, self.todo, self.in_flight = None, [], None

    def first(self, job: int, k: int) -> None:
        """Measure k next (the user's current K), before the rest of the sweep."""
        if job != self.job:
            self.job, self.todo, self.in_flight = job, [], None
        if k == self.in_flight:
            return
        self.todo = [k] + [x for x in self.todo if x != k]
        self._next()

    def answered(self, job: int, k: int, done: bool) -> None:
        """The worker answered for k; done=False means it stepped aside: ask again later."""
        if job != self.job or k != self.in_flight:
            return
        self.in_flight = None
        if not done:
            self.todo.insert(0, k)
        self._next()

    def _next(self) -> None:
        if self.job is None or self.in_flight is not None or not self.todo:
            return
        self.in_flight = self.todo.pop(0)
        self.request(self.job, self.in_flight)
