"""The listening tests' controller: sets a test up, has the worker build its stimuli, runs
it, and shows the results.

State it owns: the setup dialogs and the MUSHRA items chosen so far, the request in
flight (building a test, exporting it for webMUSHRA), the running test (a run from
app.window.listening_runs over a codec.listening.session.Session) and the results window.
The worker decodes and measures (app.worker.listening_jobs); this controller only asks.

While a test runs, the main window's player is paused and its stream closed (the test has
its own player on the same device), and the trial window is modal: nothing else in the
app can be played, and nothing shown names a condition.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from codec.listening import conditions as cn
from codec.listening.objective import by_condition
from codec.listening.results import read_results
from codec.listening.session import Design, Session, new_folder, unfinished
from codec.listening.stats import all_stats
from codec.listening.webmushra import safe_name

from ..widgets.listening.results import ResultsWindow
from ..widgets.listening.setup import AbxSetupDialog, MushraSetupDialog
from ..worker import jobs
from ..worker import listening_jobs as lj
from .listening_runs import AbxRun, MushraRun

ABX_MAX_S = 30.0  # an ABX excerpt: long enough to find a passage, loop it inside


class ListeningController(QObject):
    busy = Signal(str, bool)  # what, cancellable
    progress = Signal(str, int, int)
    idle = Signal()
    message = Signal(str, str, str)  # key, text, level
    note = Signal(str)
    runFinished = Signal(object)  # the Session

    def __init__(self, window) -> None:
        super().__init__()
        self.w = window
        self.worker = window.worker
        self.abx_setup: AbxSetupDialog | None = None
        self.mushra_setup: MushraSetupDialog | None = None
        self.items: list[lj.ItemSource] = []  # MUSHRA items chosen so far
        self._abx_source: lj.ItemSource | None = None  # the ABX excerpt chosen
        self._ks_for: int | None = None  # the codebook count the K boxes were made for
        self.pending: jobs.Request | None = None
        self.run: AbxRun | MushraRun | None = None
        self.results: ResultsWindow | None = None
        self._measure_token = jobs.CancelToken()
        self._measuring: Session | None = None  # the session the scores in flight are for
        self.worker.result.connect(self._on_result)

    # ---- the selection in the main window --------------------------------------------------
    def selection(self, max_s: float) -> tuple[lj.ItemSource, str]:
        """The excerpt the main window has selected: its loop region, else the part the
        waveform shows; the first max_s of it. ValueError (why) when there is none."""
        c = self.w.compare.comparison
        if c is None:
            raise ValueError("open a clip first (File ▸ Open or File ▸ Sample clips)")
        if c.codes is None:
            raise ValueError(f"{c.name} is not encoded yet: wait for the codec")
        wf = self.w.waveform
        if self.w.bar.loop_btn.isChecked() and wf.loop_region is not None:
            start, end = wf.loop_region.getRegion()
        elif wf.plots:
            start, end = wf.plots[0].vb.viewRange()[0]
        else:
            start, end = 0.0, c.duration
        start, end = max(0.0, float(start)), min(c.duration, float(end))
        end = min(end, start + max_s)
        if end - start < 0.5:
            raise ValueError("select at least half a second")
        stem = Path(c.name).stem
        item = safe_name(f"{stem}_{start:.1f}-{end:.1f}s")
        text = f"{c.name}, {start:.2f} to {end:.2f} s ({end - start:.1f} s)"
        return lj.ItemSource(c, item, start, end), text

    # ---- ABX --------------------------------------------------------------------------------
    def abx_dialog(self) -> AbxSetupDialog:
        if self.abx_setup is None:
            d = self.abx_setup = AbxSetupDialog(self.w)
            d.selectionRequested.connect(self._abx_selection)
            d.startRequested.connect(self.start_abx)
            d.resumeRequested.connect(self.resume)
        d = self.abx_setup
        info = self.w.compare.info
        n = info.num_codebooks if info else 32
        d.set_choices(cn.abx_choices(n), cn.REFERENCE, cn.k_name(self.w.compare.k))
        d.assessor.setText(str(self.w.settings.value("listening/assessor", "")))
        d.set_unfinished(self._unfinished("abx"))
        self._abx_selection()
        d.show()
        d.raise_()
        return d

    def _abx_selection(self) -> None:
        try:
            self._abx_source, text = self.selection(ABX_MAX_S)
            self.abx_setup.set_excerpt(text, True)
        except ValueError as e:
            self._abx_source = None
            self.abx_setup.set_excerpt(str(e), False)

    def start_abx(self, cfg: dict) -> None:
        src = self._abx_source
        try:
            if src is None:
                raise ValueError("choose an excerpt first")
            design = Design(
                "abx",
                cfg["assessor"],
                cfg["seed"],
                [cfg["a"], cfg["b"]],
                trials=cfg["trials"],
                match_loudness=cfg["match_loudness"],
                model=self._model(),
            )
        except ValueError as e:
            self.abx_setup.set_note(str(e))
            return
        self._build(design, (src,), ABX_MAX_S)

    # ---- MUSHRA -----------------------------------------------------------------------------
    def mushra_dialog(self) -> MushraSetupDialog:
        if self.mushra_setup is None:
            d = self.mushra_setup = MushraSetupDialog(self.w)
            d.addItemRequested.connect(self.add_item)
            d.removeItemRequested.connect(self.remove_item)
            d.startRequested.connect(self.start_mushra)
            d.exportRequested.connect(self.export_dialog)
            d.resumeRequested.connect(self.resume)
        d = self.mushra_setup
        info = self.w.compare.info
        n = info.num_codebooks if info else 32
        if n != self._ks_for:  # another model: other K to offer
            self._ks_for = n
            d.set_ks(n)
        d.assessor.setText(str(self.w.settings.value("listening/assessor", "")))
        d.set_unfinished(self._unfinished("mushra"))
        d.show()
        d.raise_()
        return d

    def add_item(self) -> None:
        try:
            src, text = self.selection(12.0)
        except ValueError as e:
            self.mushra_setup.set_note(str(e))
            return
        names = {s.item for s in self.items}
        item, n = src.item, 2
        while item in names:
            item, n = f"{src.item}-{n}", n + 1
        self.items.append(lj.ItemSource(src.comparison, item, src.start_s, src.end_s))
        self.mushra_setup.add_item(text)

    def remove_item(self, row: int) -> None:
        if 0 <= row < len(self.items):
            del self.items[row]
            self.mushra_setup.remove_item(row)

    def _mushra_design(self, cfg: dict) -> Design:
        return Design(
            "mushra",
            cfg["assessor"],
            cfg["seed"],
            cn.mushra_conditions(cfg["ks"]),
            match_loudness=cfg["match_loudness"],
            model=self._model(),
        )

    def start_mushra(self, cfg: dict) -> None:
        try:
            design = self._mushra_design(cfg)
        except ValueError as e:
            self.mushra_setup.set_note(str(e))
            return
        self._build(design, tuple(self.items), 12.0)

    def export_dialog(self, cfg: dict) -> None:
        out = QFileDialog.getExistingDirectory(self.w, "Export for webMUSHRA into folder")
        if out:
            self.export_webmushra(cfg, out)

    def export_webmushra(self, cfg: dict, out_dir: str, test_id: str = "mimi_mushra") -> None:
        names = tuple(cn.mushra_conditions(cfg["ks"]))
        self.pending = lj.ExportWebMushra(
            jobs.CancelToken(), tuple(self.items), names, cfg["match_loudness"], out_dir, test_id
        )
        self.busy.emit("exporting for webMUSHRA", False)
        self.worker.submit(self.pending)

    # ---- building, running ------------------------------------------------------------------
    def _model(self) -> str:
        info = self.w.compare.info
        return info.description if info else ""

    def _build(self, design: Design, sources: tuple, max_s: float) -> None:
        if self.run is not None:
            self.note.emit("a listening test is running already")
            return
        self.w.settings.setValue("listening/assessor", design.assessor)
        folder = new_folder(design.kind, design.assessor)
        self.pending = lj.BuildTest(jobs.CancelToken(), design, sources, str(folder), max_s)
        self.busy.emit("building the stimuli", False)
        self.worker.submit(self.pending)

    def resume(self, folder: str) -> None:
        try:
            session = Session.open(folder)
        except ValueError as e:
            self.message.emit("listening", str(e), "error")
            return
        self.begin(session)

    def begin(self, session: Session) -> AbxRun | MushraRun | None:
        """Run `session` from where it stands (a new or a resumed one)."""
        if self.run is not None:
            self.note.emit("a listening test is running already")
            return None
        for d in (self.abx_setup, self.mushra_setup):
            if d is not None:
                d.hide()
        main = self.w.transport.player
        main.pause()
        main.close()  # the test's player has the device to itself
        kind = AbxRun if session.design.kind == "abx" else MushraRun
        try:
            self.run = kind(session, self.w.backend)
        except ValueError as e:
            self.message.emit("listening", str(e), "error")
            return None
        self.run.finished.connect(self._finished)
        self.run.error.connect(lambda text: self.message.emit("audio", text, "error"))
        self.run.window.closed.connect(self._closed)
        self.run.show()
        self._measure(session)
        return self.run

    def _measure(self, session: Session) -> None:
        """Objective scores of every stimulus not measured yet, in the background."""
        self._measure_token.cancel()
        self._measure_token = jobs.CancelToken()
        self._measuring = session
        items, todo = [], []
        for i, meta in enumerate(session.design.items):
            items.append(session.stimuli(i))
            done = session.objective.get(meta["item"], {})
            todo += [(i, c) for c in meta["conditions"] if c not in done]
        if todo:
            self.worker.submit(lj.MeasureStimuli(self._measure_token, tuple(items), tuple(todo)))

    def _closed(self) -> None:
        run = self.run
        if run is not None and not run.session.finished:
            run.player.close()
            run.timer.stop()
            self.note.emit(
                f"the test is saved ({run.session.progress()} next): resume it from the "
                "Listening test menu"
            )
        self.run = None

    def _finished(self, session: Session) -> None:
        run, self.run = self.run, None
        if run is not None:
            run.window.close()
        self.note.emit(f"test finished: {session.csv_path}")
        self.show_results([session.csv_path])
        self.runFinished.emit(session)

    def _unfinished(self, kind: str) -> list[tuple[str, str]]:
        out = []
        for s in unfinished():
            if s.design.kind == kind:
                d = s.design
                what = d.pair if kind == "abx" else f"{len(d.items)} item(s)"
                out.append(
                    (str(s.folder), f"{s.folder.name}: {d.assessor}, {what}, {s.progress()}")
                )
        return out

    # ---- results ----------------------------------------------------------------------------
    def open_results_dialog(self) -> None:
        from codec.listening.session import sessions_dir

        paths, _ = QFileDialog.getOpenFileNames(
            self.w, "Open listening-test results", str(sessions_dir()), "CSV (*.csv);;All (*)"
        )
        if paths:
            self.show_results(paths)

    def show_results(self, paths) -> ResultsWindow | None:
        """Read the files (ours or webMUSHRA's) and show their statistics."""
        try:
            ratings, answers = read_results(paths)
        except (ValueError, OSError) as e:
            self.message.emit("listening", f"cannot read the results: {e}", "error")
            return None
        if self.results is None:
            self.results = ResultsWindow()
        self.results.panel.show_results(
            all_stats(ratings, answers), self._objective(paths), [str(p) for p in paths]
        )
        self.results.show()
        self.results.raise_()
        return self.results

    @staticmethod
    def _objective(paths) -> dict:
        """Objective scores from the session files beside the results, where there are."""
        merged: dict = {}
        for p in paths:
            folder = Path(p).parent
            try:
                s = Session.open(folder, repair=False)
            except ValueError:
                continue
            for item, per in s.objective.items():
                merged.setdefault(f"{folder.name}/{item}", per)
        return by_condition(merged)

    # ---- results from the worker -------------------------------------------------------------
    def _on_result(self, r: jobs.Result) -> None:
        req = r.request
        if isinstance(r, lj.StimulusMeasured):
            self._measured(r)
            return
        if req is not self.pending:
            return
        if isinstance(r, jobs.Progress):
            self.progress.emit(r.what, r.done, r.total)
            return
        self.pending = None
        self.idle.emit()
        if isinstance(r, lj.TestBuilt):
            self.begin(r.session)
        elif isinstance(r, lj.WebMushraExported):
            self.note.emit(f"webMUSHRA test written: {r.path}")
            self.message.emit("listening", f"webMUSHRA test written: {r.path}", "info")
        elif isinstance(r, jobs.Failed):
            self.message.emit("listening", f"the listening test failed: {r.message}", "error")

    def _measured(self, r: lj.StimulusMeasured) -> None:
        session = self._measuring
        if r.request.token.cancelled or session is None:
            return
        clean = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in r.scores.items()
        }
        session.set_objective(r.item, r.condition, clean)
        if self.results is not None and self.results.isVisible():
            self.results.panel.set_objective(by_condition(session.objective))

    def close(self) -> None:
        self._measure_token.cancel()
        if self.run is not None:
            self.run.close()
            self.run = None
