"""The one request a controller keeps in flight (an export, a token comparison)."""

from __future__ import annotations

from collections.abc import Callable

from ..worker import jobs


class PendingJob:
    """A controller's single outstanding request: a new one cancels the one before, and
    only the answers to the current one count.

    `finished(r)` is called with every worker result: progress of the pending request goes
    to `progress`, its final answer (done, failed or cancelled) ends it, calls `idle` and
    is returned; anything else (another controller's, an overtaken request's) gives None.
    """

    def __init__(
        self,
        worker,
        progress: Callable[[str, int, int], None],
        idle: Callable[[], None],
    ) -> None:
        self.worker = worker
        self.progress, self.idle = progress, idle
        self.request: jobs.Request | None = None

    def submit(self, request: jobs.Request) -> None:
        self.cancel()
        self.request = request
        self.worker.submit(request)

    def cancel(self) -> None:
        """Stop the pending request (its Cancelled answer still arrives and ends it)."""
        if self.request is not None:
            self.request.token.cancel()

    def drop(self) -> None:
        """Cancel and forget it: its answers, when they come, count no more."""
        self.cancel()
        self.request = None

    def finished(self, r: jobs.Result) -> jobs.Result | None:
        if self.request is None or r.request is not self.request:
            return None
        if isinstance(r, jobs.Progress):
            self.progress(r.what, r.done, r.total)
            return None
        self.request = None
        self.idle()
        return r
