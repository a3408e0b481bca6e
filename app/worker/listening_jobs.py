"""The codec worker's jobs for listening tests: typed requests and results, and their
handlers (registered in CodecWorker by `handlers`).

  BuildTest       decode every condition of every item's excerpt (codec.listening.stimuli),
                  write the session folder (codec.listening.session) -> TestBuilt
  MeasureStimuli  the objective scores of each stimulus (codec.listening.objective), one
                  condition at a time, in the background: it steps aside whenever a more
                  urgent request waits -> StimulusMeasured per condition
  ExportWebMushra build the stimuli and write a webMUSHRA folder -> WebMushraExported

All run in the worker's thread: the GUI never decodes or measures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from codec.errors import Cancelled
from codec.listening import objective, stimuli, webmushra
from codec.listening.conditions import REFERENCE
from codec.listening.session import Design, Session
from codec.session.comparison import Comparison

from . import jobs


@dataclass(frozen=True)
class ItemSource:
    """An item to build: the excerpt [start_s, end_s) of a comparison, named `item`."""

    comparison: Comparison
    item: str
    start_s: float
    end_s: float


@dataclass(frozen=True, eq=False)
class BuildTest(jobs.Request):
    design: Design
    sources: tuple[ItemSource, ...]
    folder: str
    max_s: float = stimuli.MAX_EXCERPT_S


@dataclass(frozen=True, eq=False)
class TestBuilt(jobs.Result):
    session: Session


@dataclass(frozen=True, eq=False)
class MeasureStimuli(jobs.Request):
    """(item index, condition) pairs still to measure, of these items' stimuli."""

    items: tuple[stimuli.Stimuli, ...]
    todo: tuple[tuple[int, str], ...]

    @property
    def priority(self) -> jobs.Priority:
        return jobs.Priority.BACKGROUND


@dataclass(frozen=True, eq=False)
class StimulusMeasured(jobs.Result):
    item: str
    condition: str
    scores: dict


@dataclass(frozen=True, eq=False)
class ExportWebMushra(jobs.Request):
    sources: tuple[ItemSource, ...]
    conditions: tuple[str, ...]
    match_loudness: bool
    out_dir: str
    test_id: str


@dataclass(frozen=True, eq=False)
class WebMushraExported(jobs.Result):
    path: str


def _build_items(worker, req, sources, names, match, max_s) -> list[stimuli.Stimuli]:
    codec = worker.codec  # None is enough for tests of the reference against the anchors
    stopped = worker._stopped(req)
    items = []
    for i, src in enumerate(sources):
        worker.result.emit(jobs.Progress(req, "building the stimuli", i, len(sources)))
        st = stimuli.build(
            codec,
            src.comparison,
            src.item,
            src.start_s,
            src.end_s,
            list(names),
            match,
            stopped,
            max_s,
        )
        items.append(st)
    worker.result.emit(jobs.Progress(req, "building the stimuli", len(sources), len(sources)))
    return items


def build_test(worker, req: BuildTest) -> None:
    design = dataclasses.replace(req.design, items=[])  # the GUI's copy stays untouched
    items = _build_items(
        worker, req, req.sources, design.conditions, design.match_loudness, req.max_s
    )
    session = Session.create(Path(req.folder), design, items)
    worker.result.emit(TestBuilt(req, session))


def measure_stimuli(worker, req: MeasureStimuli) -> None:
    todo = list(req.todo)
    while todo:
        if req.token.cancelled:
            raise Cancelled("measuring the stimuli cancelled")
        if worker.inbox.waiting_before(req.priority):  # someone waits: after them
            worker.submit(dataclasses.replace(req, todo=tuple(todo)))
            return
        index, cond = todo.pop(0)
        st = req.items[index]
        ref = st.signals.get(REFERENCE)
        if ref is None:
            continue
        scores = objective.measure(ref, st.signals[cond], st.rate)
        worker.result.emit(StimulusMeasured(req, st.item, cond, scores))


def export_webmushra(worker, req: ExportWebMushra) -> None:
    items = _build_items(
        worker, req, req.sources, req.conditions, req.match_loudness, stimuli.MAX_EXCERPT_S
    )
    path = webmushra.export(items, req.out_dir, req.test_id)
    worker.result.emit(WebMushraExported(req, str(path)))


def handlers(worker) -> dict[type, Callable]:
    """{request type: handler(req)} for CodecWorker._handlers."""
    return {
        BuildTest: lambda req: build_test(worker, req),
        MeasureStimuli: lambda req: measure_stimuli(worker, req),
        ExportWebMushra: lambda req: export_webmushra(worker, req),
    }
