"""File ▸ Export: the reconstruction, the codes, a PNG of the views, the report figure.

Every export is written to a temporary file and renamed (nothing half-written under the
chosen name). A path that is the open source file itself is never replaced without the
standard overwrite confirmation (answered No by default). The reconstruction is written by
the worker, block by block, with progress and Cancel.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QWidget

from codec.audio.paths import same_file

from ..worker import jobs
from ..worker.codec_worker import CodecWorker
from .compare import CompareController
from .pending import PendingJob


class ExportController(QObject):
    busy = Signal(str, bool)
    progress = Signal(str, int, int)
    idle = Signal()
    message = Signal(str, str, str)  # key, text, level
    note = Signal(str)
    exported = Signal(str, str)  # path, error ('' when written)

    def __init__(self, compare: CompareController, worker: CodecWorker, parent: QWidget) -> None:
        super().__init__()
        self.compare, self.worker, self.parent = compare, worker, parent
        self._job = PendingJob(worker, self.progress.emit, self.idle.emit)
        # asked before replacing the open source file; tests may answer for the user
        self.confirm_replace: Callable[[Path], bool] = self._ask_replace
        worker.result.connect(self._on_result)

    # ---- paths ----------------------------------------------------------------------------
    def _ask_replace(self, path: Path) -> bool:
        answer = QMessageBox.question(
            self.parent,
            "Replace the original?",
            f"{path.name} is the file open in the comparison. Replace it with this export? "
            "The original audio is lost.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _target(self, path: str | None, title: str, suggested: str, filt: str) -> str | None:
        """The chosen path, or None (cancelled, or replacing the source was declined)."""
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self.parent, title, suggested, filt)
            if not path:
                return None
        c = self.compare.comparison
        source = None if c is None else c.path
        if source is not None and same_file(path, source) and not self.confirm_replace(Path(path)):
            self.note.emit(f"not written: {Path(path).name} is the open source file")
            return None
        return str(path)

    def _ready(self) -> bool:
        c = self.compare.comparison
        if c is None or c.codes is None or c.reconstruction(self.compare.k) is None:
            self.message.emit(
                "export", "nothing to export yet: load a file and wait for the decode", "error"
            )
            return False
        return True

    # ---- exports ----------------------------------------------------------------------------
    def export_audio(self, path: str | None = None) -> None:
        """B at the current K, at the source's rate and length (written by the worker)."""
        if not self._ready():
            return
        c, k = self.compare.comparison, self.compare.k
        path = self._target(
            path,
            "Export reconstruction",
            f"{Path(c.name).stem}_K{k}.wav",
            "WAV (*.wav);;FLAC (*.flac)",
        )
        if path is None:
            return
        self.busy.emit(f"exporting {Path(path).name}", True)
        self._job.submit(jobs.Export(jobs.CancelToken(), c, k, path))

    def cancel(self) -> None:
        self._job.cancel()

    def export_codes(self, path: str | None = None) -> None:
        import torch

        from codec.audio.codes_file import CodesFile, save_codes
        from codec.errors import CodecError

        c, info = self.compare.comparison, self.compare.info
        if c is None or c.codes is None or info is None:
            self.message.emit("export", "nothing to export yet: no codes", "error")
            return
        path = self._target(
            path, "Export codes", f"{Path(c.name).stem}.codes.safetensors", "Codes (*.safetensors)"
        )
        if path is None:
            return
        try:
            codes = torch.from_numpy(c.codes.copy())
            save_codes(path, CodesFile.of(info, codes, c.source_rate, c.source_length))
        except CodecError as e:  # disk full, no permission...: a message, not a traceback
            self.message.emit("export", str(e), "error")
            return
        self._written(path)

    def export_png(self, grab: Callable, path: str | None = None) -> None:
        """A PNG of the views (`grab()` returns their QPixmap)."""
        path = self._target(path, "Export views", "views.png", "PNG (*.png)")
        if path is None:
            return
        from codec.audio.atomic import atomic_write

        # the format is explicit because the temporary's name ends in .part
        try:
            with atomic_write(path) as tmp:
                if not grab().save(str(tmp), "PNG"):
                    raise OSError(f"could not write {path}")
        except OSError as e:
            self.message.emit(
                "export", str(e) if str(path) in str(e) else f"could not write {path}: {e}", "error"
            )
            return
        self._written(path)

    def export_report(self, path: str | None = None) -> None:
        """The report figure (codec.report.render_figure) at the current K."""
        if not self._ready():
            return
        c, k, info = self.compare.comparison, self.compare.k, self.compare.info
        path = self._target(
            path, "Export report figure", f"{Path(c.name).stem}_report.png", "PNG (*.png)"
        )
        if path is None:
            return
        from codec.report.figure import render_figure

        measured = {kk: [dict(ch) for ch in m.channels] for kk, m in c.measurements().items()}
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            render_figure(
                c.x24,
                {k: c.reconstruction(k)},
                c.codes,
                c.codec_rate,
                info.frame_rate,
                measured,
                k,
                path,
                title=f"{c.name} · {c.model}",
                codebook_size=info.codebook_size,
            )
        except (OSError, ValueError) as e:
            self.message.emit("export", f"could not write {path}: {e}", "error")
            return
        finally:
            QApplication.restoreOverrideCursor()
        partial = "" if self.compare.sweep_done() else f" (quality curve: {len(measured)} K so far)"
        self._written(path, partial)

    def _written(self, path: str, extra: str = "") -> None:
        self.message.emit("export", "", "")
        self.note.emit(f"wrote {path}{extra}")
        self.exported.emit(str(path), "")

    def _on_result(self, r: jobs.Result) -> None:
        r = self._job.finished(r)
        if isinstance(r, jobs.Exported):
            self._written(r.path)
        elif isinstance(r, jobs.Failed):
            self.message.emit("export", r.message, "error")
            self.exported.emit(r.request.path, r.message)
        elif isinstance(r, jobs.Cancelled):
            self.exported.emit(r.request.path, "export cancelled: no file was written")
