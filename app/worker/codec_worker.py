"""The codec worker: one QObject living on one QThread owns the model and all coding.

The GUI calls the worker's slots through queued signals and gets results back as signals
carrying numpy arrays. Every job has an id; the GUI marks which job is current, and a
job that is no longer current (the user opened another file, cancelled, or moved the
slider on) stops at its next chunk and its results are dropped.

Background work (the quality-versus-K sweep) steps aside for the user: the GUI counts the
interactive requests it queues (`interactive_queued`) and the worker counts those it has
started; while one is waiting, a background decode stops at its next chunk and answers
"not done", and the GUI asks again, behind the interactive request.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal, Slot

from codec import excerpts
from codec.audio import load_audio, resample
from codec.dsp import spectrogram_db
from codec.errors import Cancelled, CodecError
from codec.long_file import is_long as is_long_file
from codec.long_file import read_resampled, write_resampled
from codec.metrics import peak_dbfs
from codec.pipeline import decode_signal, encode_signal
from codec.session import CACHE_BYTES, Comparison

from .lod import envelopes
from .metrics_thread import MetricsThread, release_freed_heap

# Audio held for a long file (signal + cached decodes), bytes: past this, only the decode
# at the current K is kept.
LONG_AUDIO_BYTES = 1_500_000_000


class CodecWorker(QObject):
    modelLoaded = Signal(dict)  # description, source, device, sample_rate, codebooks, ...
    modelFailed = Signal(str)
    progress = Signal(int, str, int, int)  # job, what, done, total
    # job, Comparison (no codes yet), app.lod.envelopes of its x24 (one per channel)
    opened = Signal(int, object, object)
    spectrogram = Signal(int, str, object)  # job, "A"/"B<k>", (list of [F, cols] dB, sec/col)
    encoded = Signal(int, object, float)  # job, codes [C, 32, F], seconds taken
    # job, k, audio [C, T24], seconds taken, its envelopes (None when it came from the cache)
    decoded = Signal(int, int, object, float, object)
    # job, k, {"channels": compare() per channel, "gain_db": loudness match} or None when
    # the measurement stepped aside for an interactive request (ask again); emitted by the
    # worker or by its metrics thread
    measured = Signal(int, int, object)
    measureFailed = Signal(int, int, str)  # job, k, message
    streamChecked = Signal(int, object)  # job, app.stream_check.StreamCheck
    failed = Signal(int, str)
    exported = Signal(int, str, str)  # job, path, error text ('' when written)
    cancelled = Signal(int)
    liveFrame = Signal(object, dict)  # codes [K] of one frame, LiveStats as a dict
    liveFinished = Signal(object, str)  # LiveResult, error text ('' when it ended cleanly)

    def __init__(self) -> None:
        super().__init__()
        self.codec = None
        self.session: Comparison | None = None
        self._session_job = -1
        # written by the GUI thread, read here: plain ints are safe to share
        self.current_job = -1
        self.wanted_k = 32
        self.stream_k = 0  # the K the GUI wants a streaming check for; 0 = none
        self.interactive_queued = 0  # interactive requests the GUI has queued
        self._interactive_started = 0  # ... and those this worker has started
        self._last_progress = 0.0
        # files longer than this (seconds) are read block by block and measured on
        # excerpts (codec.excerpts); tests lower it
        self.long_s = excerpts.LONG_S
        self.metrics = MetricsThread(self._alive, self.measured.emit, self.measureFailed.emit)

    # ---- helpers -----------------------------------------------------------------------
    def _alive(self, job: int) -> bool:
        return job == self.current_job

    def _interactive_waiting(self) -> bool:
        return self.interactive_queued > self._interactive_started

    def _progress_cb(self, job: int, what: str):
        def report(done: int, total: int) -> None:
            now = time.monotonic()
            if done == total or now - self._last_progress > 0.05:
                self._last_progress = now
                self.progress.emit(job, what, done, total)

        return report

    def _run(self, job: int, fn) -> None:
        try:
            fn()
        except Cancelled:
            self.cancelled.emit(job)
        except (CodecError, ValueError, OSError, MemoryError) as e:
            self.failed.emit(job, str(e) or type(e).__name__)
        except Exception as e:  # keep the worker alive whatever happens
            traceback.print_exc()
            self.failed.emit(job, f"unexpected error: {type(e).__name__}: {e}")
        finally:
            release_freed_heap()  # a decode's temporaries: give them back (long files)

    # ---- model -------------------------------------------------------------------------
    @Slot(str, str)
    def load_model(self, source: str, device: str) -> None:
        from codec.weights import load_codec

        def hub_progress(what: str, done: int, total: int) -> None:
            self.progress.emit(-1, f"downloading {what}", done, total)

        try:
            codec = load_codec(source, device, progress=hub_progress)
        except Exception as e:
            self.modelFailed.emit(str(e) or type(e).__name__)
            return
        self.codec = codec
        if self.session is not None:
            self.session.set_codes(None, "")  # type: ignore[arg-type]
        self.modelLoaded.emit(
            {
                "description": codec.description,
                "source": source,
                "device": str(codec.device),
                "sample_rate": codec.sample_rate,
                "codebooks": codec.num_codebooks,
                "codebook_size": codec.codebook_size,
                "frame_rate": codec.frame_rate,
                "semantic": codec.semantic_codebooks,
                "frame_size": codec.frame_size,
            }
        )

    # ---- jobs --------------------------------------------------------------------------
    @Slot(int, str)
    def open_file(self, job: int, path: str) -> None:
        """Read a file to the codec rate. A long one (past excerpts.LONG_S by its header)
        is read block by block with progress and cancel, and its source is not kept."""

        def work() -> None:
            rate = self.codec.sample_rate if self.codec else 24_000
            if is_long_file(path, self.long_s):
                x24, info = read_resampled(
                    path,
                    rate,
                    progress=self._progress_cb(job, "reading"),
                    cancel=lambda: not self._alive(job),
                )
                session = Comparison(
                    name=Path(path).name,
                    path=Path(path),
                    source=None,
                    source_samples=info.num_samples,
                    source_rate=info.sample_rate,
                    x24=x24,
                    codec_rate=rate,
                    warnings=info.warnings,
                )
            else:
                audio = load_audio(path)
                session = Comparison(
                    name=Path(path).name,
                    path=Path(path),
                    source=audio.samples,
                    source_rate=audio.sample_rate,
                    x24=resample(audio.samples, audio.sample_rate, rate),
                    codec_rate=rate,
                    warnings=audio.warnings,
                )
            self._open(job, session)

        self._run(job, work)

    @Slot(int, object)
    def open_session(self, job: int, session: Comparison) -> None:
        self._run(job, lambda: self._open(job, session))

    def _open(self, job: int, session: Comparison) -> None:
        if not self._alive(job):
            raise Cancelled("superseded")
        if excerpts.is_long(session.num_samples, session.codec_rate, self.long_s):
            # one decode at a time beside the signal itself: a two-hour mono file then
            # holds about 1.4 GB of audio (signal + decode), 2.1 GB while a new K decodes
            session.cache_bytes = min(CACHE_BYTES, max(LONG_AUDIO_BYTES - session.x24.nbytes, 0))
        self.session, self._session_job = session, job
        self.opened.emit(job, session, envelopes(session.x24))
        self._emit_spectrogram(job, "A", session.x24)

    def _emit_spectrogram(self, job: int, label: str, x: np.ndarray) -> None:
        rate = self.session.codec_rate if self.session else 24_000
        specs = [spectrogram_db(ch, rate) for ch in x]
        self.spectrogram.emit(job, label, ([s for s, _ in specs], specs[0][1]))

    @Slot(int)
    def rebind(self, job: int) -> None:
        """Keep the current file under a new job id (after a cancel): cache and codes stay."""
        self._session_job = job

    @Slot(int)
    def encode(self, job: int) -> None:
        def work() -> None:
            s = self._need(job)
            t = time.perf_counter()
            codes = encode_signal(
                self.codec,
                s.x24,
                progress=self._progress_cb(job, "encoding"),
                cancel=lambda: not self._alive(job),
            )
            s.set_codes(codes.numpy(), self.codec.description)
            self.encoded.emit(job, s.codes, time.perf_counter() - t)

        self._run(job, work)

    @Slot(int, int)
    def decode(self, job: int, k: int) -> None:
        """Decode codes[:, :k]. Skipped when the GUI wants another K by the time it starts."""

        self._interactive_started += 1

        def work() -> None:
            s = self._need(job)
            if s.codes is None:
                raise CodecError("nothing is encoded yet")
            cached = s.reconstruction(k)
            if cached is not None:
                self.decoded.emit(job, k, cached, 0.0, None)
                return
            if k != self.wanted_k:
                return  # the slider moved on before this request was reached
            t = time.perf_counter()
            codes = torch.from_numpy(s.codes[:, :k])
            try:
                y = decode_signal(
                    self.codec,
                    codes,
                    s.num_samples,
                    progress=self._progress_cb(job, f"decoding K={k}"),
                    cancel=lambda: not self._alive(job) or self.wanted_k != k,
                )
            except Cancelled:
                if self._alive(job):
                    return  # the slider moved on, not a user's cancel: its request follows
                raise
            s.store(k, y)
            s.peak_dbfs[k] = peak_dbfs(y)
            seconds = time.perf_counter() - t
            self.decoded.emit(job, k, y, seconds, envelopes(y))
            self._emit_spectrogram(job, f"B{k}", y)

        self._run(job, work)

    @Slot(int, int, str)
    def export_audio(self, job: int, k: int, path: str) -> None:
        """Write the cached decode at k to path at the source's rate and length, block by
        block (a long file is never held twice), atomically; cancel stops it, leaving no
        file."""
        self._interactive_started += 1
        s = self.session
        if not self._alive(job) or self._session_job != job or s is None:
            return
        y = s.reconstruction(k)
        try:
            if y is None:
                raise CodecError(f"the decode at K = {k} is gone; decode it again to export")
            write_resampled(
                y,
                s.codec_rate,
                path,
                s.source_rate,
                s.source_length,
                progress=self._progress_cb(job, "exporting"),
                cancel=lambda: not self._alive(job),
            )
        except Cancelled:
            self.exported.emit(job, path, "export cancelled: no file was written")
            return
        except (CodecError, OSError) as e:
            self.exported.emit(job, path, str(e) or type(e).__name__)
            return
        self.exported.emit(job, path, "")

    @Slot(int, int)
    def measure(self, job: int, k: int) -> None:
        """Background: decode at k (unless cached) and hand it to the metrics thread.

        The decode is kept only if the cache has room without dropping another
        (Comparison.store evict=False); the metrics are kept as numbers. Steps aside
        (answers None) when an interactive request is waiting.
        """
        s = self.session
        if not self._alive(job) or self._session_job != job or s is None or s.codes is None:
            return  # a stale job: the GUI has moved on and ignores this K
        if k in s.metrics:
            self.measured.emit(job, k, {"channels": s.metrics[k], "gain_db": s.match_gain_db[k]})
            return

        def stop() -> bool:
            return not self._alive(job) or self._interactive_waiting()

        try:
            ref, y = s.x24, s.reconstruction(k)
            if excerpts.is_long(s.num_samples, s.codec_rate, self.long_s):
                # measured on excerpts, decoded on their own unless the full decode is cached
                frames = s.codes.shape[-1]
                ranges = excerpts.excerpt_frames(frames, self.codec.frame_rate)
                s.metrics_note = excerpts.describe(ranges, frames, self.codec.frame_rate)
                fs = self.codec.frame_size
                ref = excerpts.take(s.x24, ranges, fs)
                if y is not None:
                    y = excerpts.take(y, ranges, fs)
                elif self._interactive_waiting():
                    self.measured.emit(job, k, None)
                    return
                else:
                    y = excerpts.decode(
                        self.codec, s.codes[:, :k], ranges, s.num_samples, cancel=stop
                    )
            elif y is None:
                if self._interactive_waiting():
                    self.measured.emit(job, k, None)
                    return
                y = decode_signal(
                    self.codec, torch.from_numpy(s.codes[:, :k]), s.num_samples, cancel=stop
                )
                s.store(k, y, evict=False)
        except Cancelled:
            if self._alive(job):
                self.measured.emit(job, k, None)
            return
        except Exception as e:
            traceback.print_exc()
            self.measureFailed.emit(job, k, f"{type(e).__name__}: {e}")
            return
        self.metrics.submit(job, k, s, ref, y)
        del ref, y
        release_freed_heap()

    @Slot(int, int)
    def stream_check(self, job: int, k: int) -> None:
        """Code the clip through the streaming encoder and decoder; compare with batch at k."""
        self._interactive_started += 1
        from .stream_check import compare_paths, stream_decode, stream_encode

        def work() -> None:
            s = self._need(job)
            if s.codes is None:
                raise CodecError("nothing is encoded yet")
            if k != self.stream_k:
                return  # switched off, or K moved on, before this request was reached

            def stop() -> bool:
                return not self._alive(job) or self.stream_k != k

            # a long file is checked on its first long_s seconds: streaming from the start
            # must equal batch from the start, and the whole would take as long as playing it
            frames, fs = s.codes.shape[-1], self.codec.frame_size
            scope = ""
            if excerpts.is_long(s.num_samples, s.codec_rate, self.long_s):
                frames = max(1, int(self.long_s * self.codec.frame_rate))
                secs = frames / self.codec.frame_rate
                scope = (
                    f"on the first {secs / 60:.1f} min"
                    if secs >= 60
                    else f"on the first {secs:.1f} s"
                )
            n = min(frames * fs, s.num_samples)
            codes = s.codes[..., :frames]
            try:
                if s.stream_codes is None:
                    s.stream_codes = stream_encode(
                        self.codec, s.x24[:, :n], self._progress_cb(job, "streaming encode"), stop
                    )
                y_stream = stream_decode(
                    self.codec,
                    s.stream_codes[:, :k],
                    n,
                    self._progress_cb(job, f"streaming decode K={k}"),
                    stop,
                )
                y_batch = s.reconstruction(k)
                if y_batch is None:
                    y_batch = decode_signal(
                        self.codec, torch.from_numpy(codes[:, :k]), n, cancel=stop
                    )
                y_batch = y_batch[:, :n]
            except Cancelled:
                return  # switched off, K moved on, or another file: the GUI has moved on
            check = compare_paths(k, codes, s.stream_codes, y_batch, y_stream, fs)
            check.scope = scope
            self.streamChecked.emit(job, check)

        self._run(job, work)

    @Slot(object)
    def run_live(self, engine) -> None:
        """Run a LiveEngine's frame loop here, in the thread that owns the codec."""
        import dataclasses

        engine.on_frame = lambda codes, st: self.liveFrame.emit(codes, dataclasses.asdict(st))
        try:
            result = engine.run()
        except Exception as e:
            traceback.print_exc()
            engine.close()
            self.liveFinished.emit(engine.result(), f"live mode failed: {e}")
            return
        self.liveFinished.emit(result, engine.error)

    def _need(self, job: int) -> Comparison:
        if not self._alive(job) or self._session_job != job or self.session is None:
            raise Cancelled("superseded")
        if self.codec is None:
            raise CodecError("no model is loaded")
        return self.session


class WorkerThread:
    """Owns the QThread and the worker; `stop()` cancels jobs and joins the thread."""

    def __init__(self) -> None:
        from PySide6.QtCore import QThread

        self.thread = QThread()
        self.thread.setObjectName("codec-worker")
        self.worker = CodecWorker()
        self.worker.moveToThread(self.thread)
        self.thread.start()

    def stop(self, timeout_ms: int = 15_000) -> bool:
        self.worker.current_job = -2  # every running job is now stale and stops
        self.worker.metrics.stop()
        self.thread.quit()
        return self.thread.wait(timeout_ms)
