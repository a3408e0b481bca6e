"""The codec worker: one QObject on one QThread owns the model and does all the coding.

Requests (app.worker.jobs) come in through `submit`, which the GUI thread may call: it puts
the request in a lock-guarded inbox and wakes the worker with a queued signal. The worker
takes the most urgent request waiting and runs it with the shared operations
(codec.session.operations); every answer leaves through the one `result` signal as a typed
Result naming its request. A job whose cancel token is cancelled stops at its next chunk.

Background measurements step aside: while a more urgent request waits, a measurement stops
at its next chunk and goes back in the inbox behind it, so the quality sweep never holds up
what the user asked for. Metrics themselves are computed on the metrics thread.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from collections.abc import Callable

import numpy as np
import torch
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from codec.analysis.metrics import peak_dbfs
from codec.analysis.views import view_data
from codec.errors import Cancelled, CodecError
from codec.model.runner import BACKGROUND_CHUNK_FRAMES, BATCH_CHUNK_FRAMES, ChunkPacer
from codec.session import operations as ops
from codec.session.comparison import decode_key
from codec.session.kept import KeptRun
from codec.session.policy import DEFAULT_POLICY, LongFilePolicy
from codec.session.quick import QuickPlan

from . import jobs, listening_jobs
from .metrics_thread import MetricsItem, MetricsThread, release_freed_heap

PROGRESS_INTERVAL_S = 0.05
# Seconds of work per chunk of stoppable work (codec.model.runner.ChunkPacer): a request
# that arrives meanwhile waits at most about this long. While audio plays a K switch must
# be heard within 300 ms, so background work runs in short slices then (at some cost to
# its throughput with the full-size Mimi: 1-2 frames a chunk on 2 cores instead of 8);
# otherwise in longer ones.
SLICE_S = {"listening": 0.05, "idle": 0.25}
# a switch's exact decode, overtaken when the slider moves on: a little longer slices
SWITCH_SLICE_S = {"listening": 0.1, "idle": 0.25}


class CodecWorker(QObject):
    result = Signal(object)  # every jobs.Result
    _wake = Signal()

    def __init__(self, policy: LongFilePolicy = DEFAULT_POLICY) -> None:
        super().__init__()
        self.policy = policy
        self.inbox = jobs.Inbox()
        self.codec = None  # owned by the worker's thread; the GUI reads only CodecInfo
        # seconds a K switch's first piece takes (codec.session.quick), per torch threads
        # how a K switch's first piece is decoded, per torch thread count (codec.session.quick)
        self.quick_plans: dict[int, QuickPlan] = {}
        self.geometry = None  # the codec's CodebookGeometry (read-only arrays)
        self._closing = jobs.CancelToken()
        self._listening = threading.Event()  # set by the GUI while audio plays
        self._all_threads = torch.get_num_threads()  # what a job starts with
        self._last_progress = 0.0
        # the token analysis and the measurement decode in progress, kept while they step
        # aside for the user (worker thread only)
        self._token_run = KeptRun()
        self._measure_run = KeptRun()
        self._wake.connect(self._run_next, Qt.ConnectionType.QueuedConnection)
        self.metrics = MetricsThread(self._measured, self._measure_failed)
        self._handlers: dict[type, Callable] = {
            jobs.LoadModel: self._load_model,
            jobs.OpenFile: self._open_file,
            jobs.OpenComparison: self._open_comparison,
            jobs.Encode: self._encode,
            jobs.Decode: self._decode,
            jobs.Measure: self._measure,
            jobs.StreamCheck: self._stream_check,
            jobs.Export: self._export,
            jobs.StartLive: self._live,
            jobs.AnalyseTokens: self._analyse_tokens,
            jobs.SwitchK: self._switch_k,
            jobs.CompareTokens: self._compare_tokens,
        }
        self._handlers.update(listening_jobs.handlers(self))  # listening tests (issue 13)

    # ---- the GUI side -----------------------------------------------------------------
    def submit(self, request: jobs.Request) -> None:
        """Queue a request (any thread): the worker runs it when its turn comes."""
        self.inbox.put(request)
        self._wake.emit()

    def set_listening(self, playing: bool) -> None:
        """(any thread) Audio plays or not: background work runs in short slices while it
        does, so that what the listener asks for is heard soon."""
        if playing:
            self._listening.set()
        else:
            self._listening.clear()

    def _threads(self) -> int:
        """Torch threads for the next job: one while audio plays or the metrics thread
        measures (the GUI's audio feed or the metrics keep a core busy, and two threads
        would wait for each other at every op: codec.model.threads), else all of them."""
        if self._listening.is_set() or self.metrics.busy:
            return 1
        return self._all_threads

    def _pacer(self, most: int, slices: dict[str, float] = SLICE_S) -> ChunkPacer:
        """Chunks of stoppable work sized to the slice for now (see SLICE_S), each on the
        thread count for now (_threads; _run_next restores the count after the job)."""

        def target_s() -> float:
            return slices["listening" if self._listening.is_set() else "idle"]

        # the first chunk is a guess, and the user's next request waits behind it: one
        # frame on one thread (a background job's first chunk, two frames on two threads,
        # begun just before playback started, held a K switch up for 120-400 ms with the
        # full-size Mimi here: two threads wait for each other while the GUI draws)
        return ChunkPacer(target_s, most, 1, threads=self._threads, first_threads=1)

    def close(self) -> None:
        """Every job still running stops at its next chunk; no new one starts."""
        self._closing.cancel()

    # ---- the worker's thread ----------------------------------------------------------
    @Slot()
    def _run_next(self) -> None:
        req = self.inbox.take()
        if req is None:
            return
        if self._closing.cancelled or req.token.cancelled:
            self.result.emit(jobs.Cancelled(req))
            return
        try:
            self._handlers[type(req)](req)
        except Cancelled:
            self.result.emit(jobs.Cancelled(req))
        except (CodecError, ValueError, OSError, MemoryError) as e:
            self.result.emit(jobs.Failed(req, str(e) or type(e).__name__))
        except Exception as e:  # keep the worker alive whatever happens
            traceback.print_exc()
            self.result.emit(jobs.Failed(req, f"unexpected error: {type(e).__name__}: {e}"))
        finally:
            if torch.get_num_threads() != self._all_threads:  # a paced job changed it
                torch.set_num_threads(self._all_threads)
            release_freed_heap()  # a decode's temporaries: give them back (long files)
            if len(self.inbox):  # one request per wake-up; more wait: come back for them
                self._wake.emit()

    def _stopped(self, req: jobs.Request) -> Callable[[], bool]:
        return lambda: req.token.cancelled or self._closing.cancelled

    def _progress(self, req: jobs.Request, what: str) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            now = time.monotonic()
            if done >= total or now - self._last_progress > PROGRESS_INTERVAL_S:
                self._last_progress = now
                self.result.emit(jobs.Progress(req, what, done, total))

        return report

    def _need_codec(self):
        if self.codec is None:
            raise CodecError("no model is loaded")
        return self.codec

    # ---- handlers ------------------------------------------------------------------------
    def _load_model(self, req: jobs.LoadModel) -> None:
        from codec.weights.load import load_codec

        def hub_progress(what: str, done: int, total: int) -> None:
            self.result.emit(jobs.Progress(req, f"downloading {what}", done, total))

        try:
            codec = load_codec(req.source, req.device, progress=hub_progress)
        except Exception as e:  # anything: the previous model stays in use
            kept = self.codec.info if self.codec is not None else None
            self.result.emit(jobs.ModelFailed(req, str(e) or type(e).__name__, kept))
            return
        self.codec = codec
        from codec.analysis.tokens import CodebookGeometry
        from codec.session.quick import QUICK_THREADS, plan_first_piece

        # K switches start ahead of a playing cursor by what their decode will take
        counts = {QUICK_THREADS, torch.get_num_threads()}
        self.quick_plans = {n: plan_first_piece(codec, threads=n) for n in counts}

        self.geometry = CodebookGeometry.of(codec.model)
        self.result.emit(jobs.ModelLoaded(req, codec.info, self.geometry))

    def _open_file(self, req: jobs.OpenFile) -> None:
        codec = self._need_codec()
        c = ops.open_file(
            req.path,
            codec.sample_rate,
            self._progress(req, "reading"),
            self._stopped(req),
            self.policy,
        )
        c.set_source_views(view_data(c.x24, c.codec_rate, judge_content=True))
        self.result.emit(jobs.Opened(req, c))

    def _open_comparison(self, req: jobs.OpenComparison) -> None:
        c = req.comparison
        if c.source_views is None:
            c.set_source_views(view_data(c.x24, c.codec_rate, judge_content=True))
        for k in c.cached_ks():
            y = c.reconstruction(k)
            if y is not None and c.views(k) is None:
                c.set_views(k, view_data(y, c.codec_rate))
        self.result.emit(jobs.Opened(req, c))

    def _encode(self, req: jobs.Encode) -> None:
        codec = self._need_codec()
        t = time.perf_counter()
        codes = ops.encode(
            codec, req.comparison, self._progress(req, "encoding"), self._stopped(req)
        )
        self.result.emit(jobs.Encoded(req, codes, time.perf_counter() - t))

    def _decode(self, req: jobs.Decode) -> None:
        codec, c, k = self._need_codec(), req.comparison, req.k
        key = decode_key(k, req.part)
        gen = c.generation
        t = time.perf_counter()
        cached = c.reconstruction(key) is not None
        progress, stopped = self._progress(req, f"decoding K={k}"), self._stopped(req)
        y = ops.decode(codec, c, k, progress, stopped, part=req.part)
        if c.views(key) is None:
            c.set_views(key, view_data(y, c.codec_rate), gen)
        self.result.emit(jobs.Decoded(req, k, 0.0 if cached else time.perf_counter() - t))

    def _switch_k(self, req: jobs.SwitchK) -> None:
        """A new K, heard within a few hundred milliseconds: see codec.session.quick."""
        from codec.session.quick import QUICK_THREADS, quick_decode, start_frame

        codec, c, k = self._need_codec(), req.comparison, req.k
        key = decode_key(k, req.part)
        gen = c.generation
        t = time.perf_counter()
        if c.reconstruction(key) is None:
            stopped, pieces = self._stopped(req), []
            # one torch thread while audio plays or a measurement keeps a core busy (two
            # would wait for each other at every op); otherwise the count whose first
            # pieces have been faster here (one, on a 2-core machine with the GUI drawing:
            # 0.14-0.19 s against 0.17-0.28 s for the full-size Mimi, measured)
            threads = QUICK_THREADS
            if self._threads() > 1 and self.quick_plans:
                threads = min(self.quick_plans, key=lambda n: self.quick_plans[n].cost_s)
            plan = self.quick_plans.get(threads, QuickPlan(0, 0.0))
            if req.playing:
                waited = time.monotonic() - req.submitted
                frame = start_frame(req.position_s, waited, plan.cost_s, codec.frame_rate)
            else:
                frame = int(max(req.position_s, 0.0) * codec.frame_rate)

            def learn(seconds: float) -> None:  # this machine, as loaded now
                cost = 0.5 * (plan.cost_s + seconds) if plan.cost_s else seconds
                self.quick_plans[threads] = dataclasses.replace(plan, cost_s=cost)

            pieces_iter = quick_decode(
                codec, c, k, frame, req.part, stopped, learn, threads, plan.memory_frames
            )
            for start, audio, exact in pieces_iter:
                self.result.emit(jobs.QuickPart(req, k, start, audio, exact))
                pieces.append(audio if exact else None)
            if all(p is not None for p in pieces):  # decoded from the first frame: exact
                y = np.concatenate(pieces, axis=1)
                c.set_peak(key, peak_dbfs(y), gen)
                c.store(key, y, generation=gen)
        progress = self._progress(req, f"decoding K={k}")
        pacer = self._pacer(BATCH_CHUNK_FRAMES, SWITCH_SLICE_S)  # the slider may move on
        y = ops.decode(codec, c, k, progress, self._stopped(req), part=req.part, chunk_frames=pacer)
        if c.views(key) is None:
            c.set_views(key, view_data(y, c.codec_rate), gen)
        self.result.emit(jobs.Decoded(req, k, time.perf_counter() - t))

    def _analyse_tokens(self, req: jobs.AnalyseTokens) -> None:
        from codec.analysis.tokens import TokenAnalysisRun

        codec, c = self._need_codec(), req.comparison
        analysis = c.derived("tokens")
        if analysis is None:
            stopped = self._stopped(req)
            run = self._token_run.resume(
                TokenAnalysisRun, lambda r: r.matches(codec, c), lambda: TokenAnalysisRun(codec, c)
            )
            try:  # steps aside (back in the queue) while the user's request waits
                analysis = run.run(self._step_aside(req), self._pacer(BACKGROUND_CHUNK_FRAMES))
            except Cancelled:
                if not stopped():
                    self.submit(req)  # goes on from where it stopped (the run is kept)
                return
            finally:
                if analysis is not None or stopped():
                    self._token_run.drop()
            c.set_derived("tokens", analysis, analysis.generation)
        self.result.emit(jobs.TokensAnalysed(req, analysis))

    def _step_aside(self, req: jobs.Request) -> Callable[[], bool]:
        """A cancel check for background work: stop when cancelled, or when a more urgent
        request waits (the caller then puts the request back in the queue)."""
        stopped = self._stopped(req)
        return lambda: stopped() or self.inbox.waiting_before(req.priority)

    def _compare_tokens(self, req: jobs.CompareTokens) -> None:
        from codec.analysis.tokens import compare_with_file

        codec = self._need_codec()
        result = compare_with_file(
            codec,
            self.geometry,
            req.comparison,
            req.channel,
            req.path,
            req.align_on,
            self._progress(req, "reading the second clip"),
            self._stopped(req),
        )
        self.result.emit(jobs.TokensCompared(req, result))

    def _measure(self, req: jobs.Measure) -> None:
        codec, c, k = self._need_codec(), req.comparison, req.k
        done = c.measurement(k)
        if done is not None:
            self.result.emit(jobs.Measured(req, done))
            return
        stopped, step_aside = self._stopped(req), self._step_aside(req)
        if self.inbox.waiting_before(req.priority):
            self.submit(req)  # behind what is more urgent
            return
        gen = c.generation
        try:
            pacer = self._pacer(BACKGROUND_CHUNK_FRAMES)
            ref, est, scope = ops.measurement_inputs(
                codec, c, k, self.policy, step_aside, pacer, kept=self._measure_run
            )
        except Cancelled:
            if not stopped():
                self.submit(req)  # stepped aside: ask again behind the urgent request
            return
        self.metrics.submit(MetricsItem(req, c, gen, k, ref, est, scope, stopped))

    def _measured(self, req, measurement) -> None:  # on the metrics thread
        self.result.emit(jobs.Measured(req, measurement))

    def _measure_failed(self, req, message: str) -> None:  # on the metrics thread
        self.result.emit(jobs.Failed(req, f"metrics at K = {req.k} failed: {message}"))

    def _stream_check(self, req: jobs.StreamCheck) -> None:
        codec, c = self._need_codec(), req.comparison
        if c.codes is None:
            raise CodecError("nothing is encoded yet")
        frames = self.policy.stream_check_frames(
            c.codes.shape[-1], codec.frame_rate, c.num_samples, c.codec_rate
        )
        check = ops.stream_check(
            codec,
            c,
            req.k,
            frames,
            lambda stage: self._progress(req, stage),
            self._stopped(req),
        )
        self.result.emit(jobs.StreamChecked(req, check))

    def _export(self, req: jobs.Export) -> None:
        try:
            ops.export(
                req.comparison,
                req.k,
                req.path,
                self._progress(req, "exporting"),
                self._stopped(req),
            )
        except Cancelled:
            self.result.emit(jobs.Failed(req, "export cancelled: no file was written"))
            return
        self.result.emit(jobs.Exported(req, req.path))

    def _live(self, req: jobs.StartLive) -> None:
        import copy

        from app.realtime.live import LiveEngine

        codec, last = self._need_codec(), ""
        for rate in req.rates:
            engine = LiveEngine(
                codec,
                req.backend,
                req.input_device,
                req.output_device,
                device_rate=rate,
                spool=req.spool,
                control=req.control,
            )
            try:
                engine.open()
            except RuntimeError as e:
                last = str(e)
                continue
            break
        else:
            raise CodecError(last or "live mode needs a microphone and a speaker")
        self.result.emit(jobs.LiveStarted(req, engine.device_rate))
        engine.on_frame = lambda codes, st: self.result.emit(
            jobs.LiveFrame(req, codes, copy.copy(st))
        )
        try:
            result = engine.run()
        except Exception as e:
            traceback.print_exc()
            engine.close()
            self.result.emit(jobs.LiveFinished(req, engine.result(), f"live mode failed: {e}"))
            return
        self.result.emit(jobs.LiveFinished(req, result, engine.error))


class WorkerThread:
    """Owns the QThread and the worker; `stop()` cancels jobs and joins the thread."""

    def __init__(self, policy: LongFilePolicy = DEFAULT_POLICY) -> None:
        self.thread = QThread()
        self.thread.setObjectName("codec-worker")
        self.worker = CodecWorker(policy)
        self.worker.moveToThread(self.thread)
        self.thread.start()

    def stop(self, timeout_ms: int = 15_000) -> bool:
        self.worker.close()  # every running job is now stale and stops
        self.worker.metrics.stop()
        self.thread.quit()
        return self.thread.wait(timeout_ms)
