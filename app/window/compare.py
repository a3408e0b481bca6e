"""The comparison's controller: owns what is being compared and announces every change.

State it owns: the open comparison (file), the codebook count K, the shown channel, the
streaming check's switch; and the requests in flight for them. The views, the player and
the panels never ask the worker anything: they follow this controller's signals and read
the comparison (which is thread-safe) when told that something changed.

The data path of a file: open -> encode -> decode(K) -> measure(K) for the K on screen,
then the quality sweep over the other Ks in the background. Every request for a file
carries a child of the file's cancel token, so opening another file, loading another model
or pressing Cancel stops all of them at once; a K overtaken by the next one is cancelled
on its own (that is not the user's cancel, and nothing says "cancelled").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from codec.analysis.stream_check import describe as describe_stream_check
from codec.model.info import CodecInfo
from codec.session.comparison import Comparison, decode_key
from codec.session.policy import sweep_ks

from ..worker import jobs
from ..worker.codec_worker import CodecWorker

DEFAULT_K = 8  # Moshi decodes 8 of Mimi's codebooks: where a comparison starts
EMPTY_INFO = "Open a file (File ▸ Open, drag and drop) or record the microphone."


class CompareController(QObject):
    comparisonChanged = Signal(object)  # Comparison | None: a new file is shown
    analysisReset = Signal()  # another file or model is coming: measurements are stale
    infoText = Signal(str)  # one line about the file (name, channels, rate, length)
    codesChanged = Signal()  # comparison.codes changed (or were cleared)
    kChanged = Signal(int)
    channelChanged = Signal(int)
    reconstructionChanged = Signal(int)  # the decode at this K (of `part`) is ready
    partChanged = Signal(str)  # what B is: "all", "semantic", "acoustic", "residual"
    quickPart = Signal(int, int, object, bool)  # k, start sample, audio [C, n], exact
    tokensAnalysed = Signal(object)  # codec.analysis.tokens.TokenAnalysis of the comparison
    measured = Signal(int)  # a measurement of this K arrived
    sweepStatus = Signal(str)
    streamChecked = Signal(object, str)  # StreamCheck | None, its line of text
    busy = Signal(str, bool)  # what, cancellable
    progress = Signal(str, int, int)  # what, done, total
    idle = Signal()
    message = Signal(str, str, str)  # key, text ('' clears), level
    note = Signal(str)  # a passing note for the status bar

    def __init__(self, worker: CodecWorker) -> None:
        super().__init__()
        self.worker = worker
        self.info: CodecInfo | None = None
        self.geometry = None  # the codec's CodebookGeometry (token colours and maps)
        self.comparison: Comparison | None = None
        self.k = DEFAULT_K
        self.part = "all"  # what B plays and shows: the decode at K, or one part of it
        self.channel = 0
        # where the listener is, in seconds (the transport's cursor): a new K is decoded
        # there first (codec.session.quick)
        self.playhead_s: Callable[[], float] = lambda: 0.0
        self.playing: Callable[[], bool] = lambda: False  # whether that cursor moves
        self.stream_on = False
        self.stream_result = None
        self._file_token = jobs.CancelToken()
        self._open: jobs.Request | None = None  # the open in flight
        self._encode: jobs.Request | None = None
        self._decode: jobs.Decode | None = None
        self._stream: jobs.StreamCheck | None = None
        self._swept_generation = -1  # the codes generation the sweep was started for
        self._user_cancelled: set[int] = set()  # request ids the user cancelled
        self._announced: set[int] = set()  # Ks whose measurement was announced (`measured`)
        worker.result.connect(self._on_result)

    # ---- queries -----------------------------------------------------------------------
    @property
    def codes(self):
        return None if self.comparison is None else self.comparison.codes

    def views_ready(self) -> bool:
        """True once the file is encoded and its decode at K (with its drawing) is shown."""
        c = self.comparison
        key = decode_key(self.k, self.part)
        return (
            c is not None
            and c.codes is not None
            and c.reconstruction(key) is not None
            and c.views(key) is not None
            and self._decode is None
        )

    def sweep_done(self) -> bool:
        """True once every K of the sweep is measured for the open file and announced (so
        the chart and the panels show it)."""
        c = self.comparison
        if c is None or c.codes is None:
            return False
        return all(k in self._announced for k in sweep_ks(c.codes.shape[1]))

    # ---- the model ---------------------------------------------------------------------
    @property
    def tokens(self):
        """The comparison's TokenAnalysis, once the worker made it (else None)."""
        c = self.comparison
        return None if c is None else c.derived("tokens")

    def set_model(self, info: CodecInfo, geometry=None) -> None:
        """A model was loaded: everything coded with the old one is stale."""
        self.info, self.geometry = info, geometry
        self.k = min(max(self.k, 1), info.num_codebooks)
        self.kChanged.emit(self.k)
        c = self.comparison
        if c is None:
            return
        self._new_file_token()
        if c.codec_rate != info.sample_rate and c.path is not None:
            self.open_path(str(c.path))  # another rate: read the file again for this codec
            return
        c.set_codes(None, "")
        self.analysisReset.emit()
        self.codesChanged.emit()
        self.encode_current()

    # ---- files -------------------------------------------------------------------------
    def open_path(self, path: str) -> None:
        self._new_file_token()
        self.analysisReset.emit()
        self.infoText.emit(f"Loading {Path(path).name}…")
        self.message.emit("file", "", "")
        self.busy.emit("loading file", True)
        self._open = jobs.OpenFile(self._file_token.child(), str(path))
        self.worker.submit(self._open)

    def open_comparison(self, comparison: Comparison) -> None:
        """Show a ready-made comparison (a finished live session)."""
        self._new_file_token()
        self.analysisReset.emit()
        self.busy.emit("preparing the views", False)
        self._open = jobs.OpenComparison(self._file_token.child(), comparison)
        self.worker.submit(self._open)

    def _new_file_token(self) -> None:
        """Cancel every request of the file shown so far (and anything it started)."""
        self._file_token.cancel()
        self._file_token = jobs.CancelToken()
        self._open = self._encode = self._decode = self._stream = None
        self.stream_result = None
        self._swept_generation = -1
        self._announced = set()

    def _shown(self, c: Comparison) -> None:
        self.comparison = c
        self.channel = 0
        self.comparisonChanged.emit(c)
        warn = f" · {'; '.join(c.warnings)}" if c.warnings else ""
        self.infoText.emit(
            f"{c.name} · {c.channels} ch · {c.source_rate} Hz · {c.duration:.2f} s{warn}"
        )
        self.message.emit("file", "; ".join(c.warnings), "warning")
        self.idle.emit()
        self.encode_current()

    def encode_current(self) -> None:
        """Encode the open file with the loaded model (unless its codes are from it)."""
        c, info = self.comparison, self.info
        if c is None or info is None:
            return
        if c.codes is not None and c.model == info.description:
            self.codesChanged.emit()
            self.request_decode(self.k)
            self.request_tokens()  # a live session comes with its codes
            return
        self.busy.emit("encoding", True)
        self._encode = jobs.Encode(self._file_token.child(), c)
        self.worker.submit(self._encode)

    # ---- K, channel --------------------------------------------------------------------
    def set_k(self, k: int) -> None:
        n = self.info.num_codebooks if self.info else k
        k = int(min(max(k, 1), n))
        if k == self.k and self._decode is not None and self._decode.k == k:
            return
        self.k = k
        self.kChanged.emit(k)
        if self.stream_on:
            self._cancel_stream()
            self.streamChecked.emit(None, f"streaming vs offline: waiting for K = {k}…")
        self.request_decode(k)

    def set_channel(self, channel: int) -> None:
        if self.comparison is None or not 0 <= channel < self.comparison.channels:
            return
        self.channel = channel
        self.channelChanged.emit(channel)

    def set_part(self, part: str) -> None:
        """B plays the codec's decode ("all"), one group of its quantizer alone ("semantic",
        "acoustic") or what K codebooks miss ("residual": A minus the decode)."""
        if part == self.part:
            return
        self.part = part
        self.partChanged.emit(part)
        self.request_decode(self.k)

    def request_decode(self, k: int) -> None:
        c = self.comparison
        if c is None or c.codes is None:
            return
        if self._decode is not None:
            if (self._decode.k, self._decode.part) == (k, self.part):
                return  # already on its way
            self._decode.token.cancel()  # overtaken: not a user's cancel
            self._decode = None
        key = decode_key(k, self.part)
        if c.reconstruction(key) is not None and c.views(key) is not None:
            self.reconstructionChanged.emit(k)
            self._after_decode(k)
            return
        what = "" if self.part == "all" else f" ({self.part})"
        self.busy.emit(f"decoding K={k}{what}", True)
        token = self._file_token.child()
        at = self.playhead_s()
        self._decode = jobs.SwitchK(token, c, k, at, self.part, playing=self.playing())
        self.worker.submit(self._decode)

    # ---- measurements --------------------------------------------------------------------
    def _after_decode(self, k: int) -> None:
        """The decode at k is shown: measure it next, then (once per codes) sweep the rest."""
        c = self.comparison
        if c is None or c.codes is None:
            return
        done = c.measurements()
        self._announced |= set(done)  # measured before a cancel: shown already
        if k not in done:
            self.worker.submit(jobs.Measure(self._file_token.child(), c, k, jobs.Priority.SOON))
        if self._swept_generation != c.generation:
            self._swept_generation = c.generation
            for kk in sweep_ks(c.codes.shape[1]):
                if kk not in done and kk != k:
                    self.worker.submit(jobs.Measure(self._file_token.child(), c, kk))
        self._sweep_status()
        if self.stream_on:
            self.request_stream_check(k)

    def _sweep_status(self) -> None:
        c = self.comparison
        if c is None or c.codes is None:
            self.sweepStatus.emit("")
            return
        ks = sweep_ks(c.codes.shape[1])
        measured = c.measurements()
        n = sum(k in measured for k in ks)
        status = (
            f"measured {n} of {len(ks)} K ({', '.join(map(str, ks))})"
            if n < len(ks)
            else f"all {len(ks)} K measured · click a point to listen"
        )
        scopes = {m.scope for m in measured.values() if m.scope}
        self.sweepStatus.emit(status + (f" · {scopes.pop()}" if scopes else ""))

    # ---- streaming vs offline -----------------------------------------------------------
    def set_stream_check(self, on: bool) -> None:
        self.stream_on = on
        if not on:
            self._cancel_stream()
            self.streamChecked.emit(None, "")
            self.idle.emit()
            return
        self.streamChecked.emit(None, "streaming vs offline: waiting for the decode…")
        c = self.comparison
        if c is not None and c.reconstruction(self.k) is not None:
            self.request_stream_check(self.k)

    def _cancel_stream(self) -> None:
        if self._stream is not None:
            self._stream.token.cancel()
        self._stream = None
        self.stream_result = None

    def request_stream_check(self, k: int) -> None:
        c = self.comparison
        if c is None or c.codes is None:
            return
        r = self.stream_result
        if (r is not None and r.k == k) or (self._stream is not None and self._stream.k == k):
            return
        self._cancel_stream()
        self.streamChecked.emit(None, f"streaming vs offline: coding frame by frame at K = {k}…")
        self.busy.emit("streaming check", True)
        self._stream = jobs.StreamCheck(self._file_token.child(), c, k)
        self.worker.submit(self._stream)

    # ---- cancel ----------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop the running jobs at their next chunk; the file stays open (File ▸ Encode)."""
        for r in (self._open, self._encode, self._decode, self._stream):
            if r is not None:
                self._user_cancelled.add(r.id)
        self._new_file_token()
        self.stream_on = False
        self.streamChecked.emit(None, "")
        self.idle.emit()

    # ---- results -----------------------------------------------------------------------------
    def _pending(self) -> tuple:
        return tuple(r for r in (self._open, self._encode, self._decode, self._stream) if r)

    def _on_result(self, r: jobs.Result) -> None:
        req = r.request
        if isinstance(r, jobs.Cancelled):
            if req.id in self._user_cancelled:
                self._user_cancelled.discard(req.id)
                self.note.emit("cancelled")
            return
        if isinstance(r, jobs.Progress):
            if req in self._pending():
                self.progress.emit(r.what, r.done, r.total)
            return
        if isinstance(r, jobs.Measured):
            if req.comparison is self.comparison and not req.token.cancelled:
                self._announced.add(r.measurement.k)
                self.measured.emit(r.measurement.k)
                self._sweep_status()
            return
        if isinstance(r, jobs.QuickPart):
            if req is self._decode:
                self.quickPart.emit(r.k, r.start, r.audio, r.exact)
            return
        if isinstance(r, jobs.TokensAnalysed):
            if req.comparison is self.comparison and not req.token.cancelled:
                self.tokensAnalysed.emit(r.analysis)
            return
        handler = {
            jobs.Opened: self._opened,
            jobs.Encoded: self._encoded,
            jobs.Decoded: self._decoded,
            jobs.StreamChecked: self._stream_checked,
            jobs.Failed: self._failed,
        }.get(type(r))
        if handler is not None:
            handler(r)

    def _opened(self, r: jobs.Opened) -> None:
        if r.request is self._open:
            self._open = None
            self._shown(r.comparison)

    def _encoded(self, r: jobs.Encoded) -> None:
        if r.request is not self._encode or self.comparison is None:
            return
        self._encode = None
        d = self.comparison.duration
        rtf = d / r.seconds if r.seconds > 0 else float("inf")
        self.note.emit(f"encoded {d:.1f} s in {r.seconds:.2f} s ({rtf:.1f}x real time)")
        self.codesChanged.emit()
        self.request_decode(self.k)
        self.request_tokens()

    def request_tokens(self) -> None:
        """Ask for the token analysis of the open file (each level's share of the latent)."""
        c = self.comparison
        if c is None or c.codes is None:
            return
        if c.derived("tokens") is not None:
            self.tokensAnalysed.emit(c.derived("tokens"))
            return
        self.worker.submit(jobs.AnalyseTokens(self._file_token.child(), c))

    def _decoded(self, r: jobs.Decoded) -> None:
        if r.request is not self._decode:
            return
        self._decode = None
        self.idle.emit()
        self.reconstructionChanged.emit(r.k)
        self._after_decode(r.k)

    def _stream_checked(self, r: jobs.StreamChecked) -> None:
        if r.request is not self._stream or not self.stream_on or r.check.k != self.k:
            return
        self._stream = None
        self.stream_result = r.check
        self.idle.emit()
        self.streamChecked.emit(r.check, describe_stream_check(r.check))

    def _failed(self, r: jobs.Failed) -> None:
        req = r.request
        if isinstance(req, jobs.Measure):
            if req.comparison is self.comparison:
                self.note.emit(r.message)
            return
        if req not in self._pending():
            return
        if req is self._open:
            self._open = None
            c = self.comparison
            self.infoText.emit(EMPTY_INFO if c is None else f"{c.name} (still open)")
        elif req is self._encode:
            self._encode = None
        elif req is self._decode:
            self._decode = None
        elif req is self._stream:
            self._stream = None
        self.idle.emit()
        self.message.emit("file", r.message, "error")
