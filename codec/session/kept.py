"""A slot for one run of work that stops and goes on (numpy/torch; no Qt).

Background work steps aside for the user (it raises Cancelled when a more urgent request
waits) and is asked for again later. The runs that can go on from where they stopped
(`DecodeRun`, `ExcerptRun`, `TokenAnalysisRun`) keep their own progress; whoever asks for
the work owns a `KeptRun` that holds the one unfinished run between the two calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

R = TypeVar("R")


class KeptRun(Generic[R]):
    """Holds at most one unfinished run; starting a different one drops it. One thread."""

    def __init__(self) -> None:
        self._run: object | None = None

    def resume(self, kind: type[R], fits: Callable[[R], bool], start: Callable[[], R]) -> R:
        """The kept run if it is a `kind` and `fits(run)` (still the same work), else a new
        one from `start()`, which is kept in its place."""
        run = self._run
        if isinstance(run, kind) and fits(run):
            return run
        run = start()
        self._run = run
        return run

    def drop(self) -> None:
        """The work finished, or is no longer wanted."""
        self._run = None

    @property
    def held(self) -> object | None:
        return self._run
