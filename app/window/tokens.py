"""The token comparison's controller: a second clip coded and aligned to the open one.

The work (read, encode, align, agreement) runs in the codec worker; this owns the request
and the last result, and drops a result made for another file or other codes.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ..worker import jobs
from ..worker.codec_worker import CodecWorker
from .compare import CompareController
from .pending import PendingJob


class TokensController(QObject):
    compared = Signal(object)  # codec.analysis.tokens.TokenComparison, or None (cleared)
    busy = Signal(str, bool)
    progress = Signal(str, int, int)
    idle = Signal()
    message = Signal(str, str, str)

    def __init__(self, compare: CompareController, worker: CodecWorker) -> None:
        super().__init__()
        self.compare, self.worker = compare, worker
        self.result = None
        self._job = PendingJob(worker, self.progress.emit, self.idle.emit)
        worker.result.connect(self._on_result)
        compare.analysisReset.connect(self.clear)

    def clear(self) -> None:
        self._job.drop()
        self.result = None
        self.compared.emit(None)

    def compare_with(self, path: str, align_on: str = "latent") -> bool:
        c = self.compare.comparison
        if c is None or c.codes is None:
            self.message.emit(
                "tokens", "open and code a file first, then compare its tokens", "error"
            )
            return False
        self.busy.emit("comparing tokens", True)
        self._job.submit(
            jobs.CompareTokens(jobs.CancelToken(), c, path, self.compare.channel, align_on)
        )
        return True

    def _on_result(self, r: jobs.Result) -> None:
        r = self._job.finished(r)
        if isinstance(r, jobs.TokensCompared):
            c = self.compare.comparison
            if c is not None and r.comparison.generation == c.generation:
                self.result = r.comparison
                self.message.emit("tokens", "", "")
                self.compared.emit(r.comparison)
        elif isinstance(r, jobs.Failed):
            self.message.emit("tokens", f"cannot compare tokens: {r.message}", "error")
