"""The model's controller: which codec is loaded, on which device, and what to say about it.

Loading runs in the worker. "auto" (the default) is Mimi from the hub, else the bundled
demo codec: codec.weights decides and says why, within seconds when offline. A failed load
keeps the model in use and says so. An explicit choice is remembered for the next start;
a fallback never is.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Signal

from codec.model.info import CodecInfo

from ..worker import jobs
from ..worker.codec_worker import CodecWorker

DEFAULT_SOURCE = "auto"


class ModelController(QObject):
    modelChanged = Signal(object)  # CodecInfo
    label = Signal(str)  # the status-bar line about the model
    busy = Signal(str, bool)
    progress = Signal(str, int, int)
    idle = Signal()
    message = Signal(str, str, str)  # key, text, level

    def __init__(self, worker: CodecWorker, settings: QSettings, device: str = "auto") -> None:
        super().__init__()
        self.worker = worker
        self.settings = settings
        self.device = device
        self.info: CodecInfo | None = None
        self.geometry = None  # its CodebookGeometry (token colours and maps)
        self.requested = ""  # the source last asked for
        self._remember = False
        self._pending: jobs.LoadModel | None = None
        worker.result.connect(self._on_result)

    def saved_source(self) -> str:
        return str(self.settings.value("model", DEFAULT_SOURCE))

    def load(self, source: str, device: str | None = None, remember: bool = True) -> None:
        """Load `source` in the worker; `remember` stores an explicit choice for next time."""
        self.device = device or self.device
        self.requested, self._remember = source, remember
        self.label.emit(f"model: loading {source}…")
        self.busy.emit("loading model", False)
        self._pending = jobs.LoadModel(jobs.CancelToken(), source, self.device)
        self.worker.submit(self._pending)

    def set_device(self, device: str) -> None:
        self.device = device
        if self.requested:
            self.load(self.requested, device, remember=self._remember)

    def _on_result(self, r: jobs.Result) -> None:
        if r.request is not self._pending:
            return
        if isinstance(r, jobs.Progress):
            self.progress.emit(r.what, r.done, r.total)
        elif isinstance(r, jobs.ModelLoaded):
            self._pending = None
            self.geometry = r.geometry
            self._loaded(r.info)
        elif isinstance(r, jobs.ModelFailed):
            self._pending = None
            self.idle.emit()
            self.message.emit("model", f"the model could not be loaded: {r.message}", "error")
            self.label.emit(
                f"model: {r.kept.description} · {r.kept.device}" if r.kept else "model: none"
            )

    def _loaded(self, info: CodecInfo) -> None:
        self.info = info
        self.idle.emit()
        if info.fallback_reason:
            self.message.emit(
                "model",
                f"{info.fallback_reason} — using the bundled demo codec instead "
                "(Model ▸ Local weights file… loads Mimi's weights from disk)",
                "warning",
            )
        else:
            self.message.emit("model", "", "")
        self.label.emit(f"model: {info.description} · {info.device}")
        # a fallback is never remembered: the next start tries the user's choice again
        if self._remember and not info.fallback_reason:
            self.settings.setValue("model", self.requested)
        self.modelChanged.emit(info)
