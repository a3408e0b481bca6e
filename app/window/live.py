"""The live round trip's controller: start and stop a session, follow its frames, and turn
a finished session into a comparison.

The session runs in the codec worker's thread (it owns the model); the GUI changes K and
the monitored signal through a LiveControl (app.realtime.live). Both signals stream to two
WAV files in the recordings folder as they are made, so a session survives the app being
killed, and a finished one opens as a normal comparison (its output is the decode at K
when K never changed).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from codec.audio.write import write_audio
from codec.errors import CodecError
from codec.model.info import CodecInfo
from codec.session.comparison import Comparison

from ..realtime.devices import AudioBackend
from ..realtime.live import LiveControl
from ..realtime.recorder import free_stamp, recordings_dir
from ..worker import jobs
from ..worker.codec_worker import CodecWorker


class LiveController(QObject):
    started = Signal(int)  # device rate
    frame = Signal(object, object)  # codes [n_q] of one frame, LiveStats
    finished = Signal(str)  # a note about where the session was saved
    sessionReady = Signal(object)  # the finished session as a Comparison
    error = Signal(str)

    def __init__(self, worker: CodecWorker, backend: AudioBackend) -> None:
        super().__init__()
        self.worker, self.backend = worker, backend
        self.info: CodecInfo | None = None
        self.control: LiveControl | None = None
        self.stats = None  # the last frame's LiveStats
        self._request: jobs.StartLive | None = None
        self._stamp = ""
        worker.result.connect(self._on_result)

    @property
    def running(self) -> bool:
        return self._request is not None

    def start(self, input_device, output_device, k: int, monitor: str) -> bool:
        info = self.info
        if info is None:
            self.error.emit("live mode needs a model; none is loaded")
            return False
        if self.running:
            return True
        rates = [info.sample_rate] + [
            int(d.default_samplerate)
            for d in self.backend.devices()
            if d.index == input_device and int(d.default_samplerate) != info.sample_rate
        ]
        folder = recordings_dir()
        self._stamp = free_stamp(folder)
        self.control = LiveControl(k, monitor)
        self.stats = None
        self._request = jobs.StartLive(
            jobs.CancelToken(),
            self.control,
            self.backend,
            input_device,
            output_device,
            tuple(rates),
            str(folder / f"live-{self._stamp}"),
        )
        self.worker.submit(self._request)
        return True

    def stop(self) -> None:
        if self.control is not None:
            self.control.stop()

    def set_k(self, k: int) -> None:
        if self.control is not None:
            self.control.set_k(k)

    def set_monitor(self, monitor: str) -> None:
        if self.control is not None:
            self.control.set_monitor(monitor)

    def request_probe(self) -> None:
        """Measure the latency with the probe during the running session."""
        if self.control is not None:
            self.control.request_probe()

    def _on_result(self, r: jobs.Result) -> None:
        if self._request is None or r.request is not self._request:
            return
        if isinstance(r, jobs.LiveStarted):
            self.started.emit(r.device_rate)
        elif isinstance(r, jobs.LiveFrame):
            self.stats = r.stats
            self.frame.emit(r.codes, r.stats)
        elif isinstance(r, jobs.LiveFinished):
            self._request = self.control = None
            if r.error:
                self.error.emit(r.error)
            self._finished(r.result)
        elif isinstance(r, jobs.Failed | jobs.Cancelled):
            self._request = self.control = None
            if isinstance(r, jobs.Failed):
                self.error.emit(r.message)
            self.finished.emit("")

    def _finished(self, result) -> None:
        info = self.info
        if info is None or len(result.input24) == 0:
            self.finished.emit("")
            return
        rate = info.sample_rate
        if result.files is not None:  # spooled: the WAVs on disk are the session already
            a, b = result.files
        else:  # the spool could not be written (the engine said why): try once more here
            folder = recordings_dir()
            try:
                a = write_audio(
                    folder / f"live-{self._stamp}-input.wav", result.input24[None], rate
                )
                b = write_audio(
                    folder / f"live-{self._stamp}-output.wav", result.output24[None], rate
                )
            except CodecError as e:
                self.error.emit(f"the live session could not be saved: {e}")
                a = b = None
        c = Comparison(f"live {self._stamp}", result.input24[None], rate, path=a)
        gen = c.set_codes(result.codes[None], info.description)
        if len(set(result.ks)) == 1:  # one K throughout: the live output is that decode
            c.store(result.ks[0], result.output24[None], generation=gen)
        self.finished.emit(f"saved {a.name} and {b.name} in {a.parent}" if a and b else "")
        self.sessionReady.emit(c)
