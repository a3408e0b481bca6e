"""Live round trip: mic -> whole codec frames -> streaming encode -> decode -> speaker.

The audio callbacks only copy: the input callback queues each block, the output callback
copies samples out of a ring of decoded audio (silence when it runs dry, counted as a late
frame). `LiveEngine.run()` does the work in the codec worker's thread: it cuts 80 ms
frames, resamples to and from the device rate with `soxr.ResampleStream` when the device
cannot run at 24 kHz, encodes and decodes each frame with the K of the moment, and keeps
both signals so the session can become a normal comparison when it stops.

With `spool` set, both signals go to two growing WAV files (`<spool>-input.wav`,
`<spool>-output.wav`, see `codec.audio.wav_stream`) instead of memory: a session survives the
app being killed, and memory stays flat however long it runs (10 minutes in memory is
2 x 58 MB).
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soxr
import torch

from codec.audio.wav_stream import WavStreamWriter
from codec.errors import CodecError

from .devices import AudioBackend

MAX_QUEUED_FRAMES = 25  # 2 s of input backlog; beyond that the oldest input is dropped
# Decoded audio waiting for the speaker, in frames. After a stall the engine catches up on
# queued input faster than real time, and what it decodes would then sit in the ring as
# extra latency for the rest of the session; past MAX_OUTPUT_FRAMES the oldest decoded
# audio is skipped down to KEEP_OUTPUT_FRAMES (counted; the saved session keeps it all).
MAX_OUTPUT_FRAMES = 4
KEEP_OUTPUT_FRAMES = 2


@dataclass
class LiveStats:
    frames: int = 0
    compute_ms: float = 0.0  # last frame, encode + decode
    compute_ms_avg: float = 0.0
    rtf: float = 0.0  # compute time / frame duration
    latency_ms: float = 0.0  # estimated mic-to-speaker latency
    dropped: int = 0  # input frames dropped because processing fell behind
    late: int = 0  # output callbacks that found no decoded audio (underruns)
    skipped: int = 0  # decoded frames not played, to bring the latency back after a stall
    samples_skipped: int = 0  # ... the same in device-rate samples
    xruns: int = 0  # over/underflows PortAudio reported (audio lost in the device layer)
    k: int = 8
    samples_in: int = 0  # device-rate samples the input callback received
    samples_out: int = 0  # device-rate decoded samples the output callback played


@dataclass
class LiveResult:
    input24: np.ndarray  # [T] float32 at the codec rate
    output24: np.ndarray  # [T] decoded, aligned with the input (same frames)
    codes: np.ndarray  # [n_q, F]
    ks: list[int] = field(default_factory=list)  # K used for each frame
    files: tuple[Path, Path] | None = None  # (input, output) WAVs when spooled to disk


class _Ring:
    """A lock-protected sample FIFO; pop() returns what is there and pads with silence."""

    def __init__(self) -> None:
        self._buf: collections.deque[np.ndarray] = collections.deque()
        self._lock = threading.Lock()
        self.size = 0  # samples queued now
        self.popped = 0  # real samples handed out so far

    def push(self, x: np.ndarray) -> None:
        with self._lock:
            self._buf.append(x)
            self.size += len(x)

    def drop_oldest(self, n: int) -> int:
        """Discard up to n of the oldest queued samples; returns how many were dropped."""
        dropped = 0
        with self._lock:
            while dropped < n and self._buf:
                head = self._buf[0]
                take = min(n - dropped, len(head))
                if take == len(head):
                    self._buf.popleft()
                else:
                    self._buf[0] = head[take:]
                dropped += take
            self.size -= dropped
        return dropped

    def pop_into(self, out: np.ndarray) -> int:
        """Fill out [n] with queued samples; returns how many were real (rest is 0)."""
        n, got = len(out), 0
        with self._lock:
            while got < n and self._buf:
                head = self._buf[0]
                take = min(n - got, len(head))
                out[got : got + take] = head[:take]
                got += take
                if take == len(head):
                    self._buf.popleft()
                else:
                    self._buf[0] = head[take:]
            self.size -= got
            self.popped += got
        out[got:] = 0.0
        return got


class LiveControl:
    """What the GUI may change while a session runs: K, what the speaker plays, stop.

    Set from the GUI thread, read by the frame loop before each frame; a lock makes each
    hand-over whole.
    """

    def __init__(self, k: int, monitor: str = "output") -> None:
        self._lock = threading.Lock()
        self._k, self._monitor = int(k), monitor
        self._stop = threading.Event()

    def set_k(self, k: int) -> None:
        with self._lock:
            self._k = int(k)

    def set_monitor(self, monitor: str) -> None:
        if monitor not in ("output", "input"):
            raise ValueError(monitor)
        with self._lock:
            self._monitor = monitor

    def settings(self) -> tuple[int, str]:
        with self._lock:
            return self._k, self._monitor

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()


class LiveEngine:
    def __init__(
        self,
        codec,
        backend: AudioBackend,
        input_device: int | None = None,
        output_device: int | None = None,
        device_rate: int | None = None,
        k: int = 8,
        spool: str | Path | None = None,
        control: LiveControl | None = None,
    ) -> None:
        self.codec = codec
        self.spool = Path(spool) if spool is not None else None
        self.backend = backend
        self.input_device, self.output_device = input_device, output_device
        self.rate = codec.sample_rate
        self.device_rate = device_rate or self.rate
        self.control = control or LiveControl(k)
        self.stats = LiveStats(k=self.control.settings()[0])
        self.error = ""
        self.on_frame = None  # callable(codes [n_q], LiveStats), called from run()'s thread
        self._in_q: queue.Queue[np.ndarray] = queue.Queue()
        self._out = _Ring()
        self._in_stream = self._out_stream = None
        self._inputs: list[np.ndarray] = []
        self._outputs: list[np.ndarray] = []
        self._codes: list[np.ndarray] = []
        self._ks: list[int] = []
        self._writers: tuple[WavStreamWriter, WavStreamWriter] | None = None
        self._files: tuple[Path, Path] | None = None

    # ---- audio callbacks: copy only ----------------------------------------------------
    def _in_cb(self, indata, frames, time_info, status) -> None:
        if status and getattr(status, "input_overflow", False):
            self.stats.xruns += 1  # counted and shown; the session goes on
        self._in_q.put(indata[:, 0].copy())
        self.stats.samples_in += frames

    def _out_cb(self, outdata, frames, time_info, status) -> None:
        if status and getattr(status, "output_underflow", False):
            self.stats.xruns += 1
        mono = outdata[:, 0]
        got = self._out.pop_into(mono)
        self.stats.samples_out += got
        if got < frames and self.stats.frames > 0:
            self.stats.late += 1
        for c in range(1, outdata.shape[1]):
            outdata[:, c] = mono

    # ---- control -----------------------------------------------------------------------
    def open(self) -> None:
        """Open and start both streams (raises RuntimeError with a reason)."""
        try:
            self._in_stream = self.backend.input_stream(
                self.device_rate, 1, self._in_cb, device=self.input_device
            )
            self._out_stream = self.backend.output_stream(
                self.device_rate, 1, self._out_cb, device=self.output_device
            )
            self._in_stream.start()
            self._out_stream.start()
        except Exception as e:
            self.close()
            raise RuntimeError(f"cannot open the audio devices for live mode: {e}") from e

    def stop(self) -> None:
        self.control.stop()

    def close(self) -> None:
        for s in (self._in_stream, self._out_stream):
            if s is not None:
                try:
                    s.stop()
                    s.close()
                except Exception:
                    pass
        self._in_stream = self._out_stream = None

    def run(self, poll_s: float = 0.01) -> LiveResult:
        """Process frames until stop(); returns the recorded session. Runs in one thread."""
        fs = self.codec.frame_size
        enc, dec = self.codec.stream_encoder(), self.codec.stream_decoder()
        rs_in = rs_out = None
        if self.device_rate != self.rate:
            rs_in = soxr.ResampleStream(self.device_rate, self.rate, 1, dtype="float32")
            rs_out = soxr.ResampleStream(self.rate, self.device_rate, 1, dtype="float32")
        pending = np.zeros(0, np.float32)
        frame_s = fs / self.rate
        self._open_spool()
        try:
            self._loop(enc, dec, rs_in, rs_out, pending, fs, frame_s, poll_s)
        finally:
            self._close_spool()
            self.close()
        return self.result()

    def _open_spool(self) -> None:
        """Create the two growing WAVs; on failure say so and keep the session in memory."""
        if self.spool is None:
            return
        paths = (
            self.spool.with_name(self.spool.name + "-input.wav"),
            self.spool.with_name(self.spool.name + "-output.wav"),
        )
        try:
            self.spool.parent.mkdir(parents=True, exist_ok=True)
            first = WavStreamWriter(paths[0], self.rate, 1)
            try:
                second = WavStreamWriter(paths[1], self.rate, 1)
            except BaseException:
                first.close()
                raise
        except (OSError, CodecError) as e:
            self.error = f"cannot save the live session to disk ({e}); keeping it in memory"
            return
        self._writers, self._files = (first, second), paths

    def _close_spool(self) -> None:
        writers, self._writers = self._writers, None
        for w in writers or ():
            try:
                w.close()
            except OSError as e:
                self.error = self.error or f"closing {w.path.name} failed: {e}"

    def _loop(self, enc, dec, rs_in, rs_out, pending, fs, frame_s, poll_s) -> None:
        while not self.control.stopped:
            dead = self._in_stream is not None and getattr(self._in_stream, "active", True) is False
            if dead and self._in_q.empty():  # process what it delivered before it died first
                self.error = "the input device stopped; the session so far was kept"
                break
            try:
                block = self._in_q.get(timeout=poll_s)
            except queue.Empty:
                continue
            blocks = [block]
            while True:
                try:
                    blocks.append(self._in_q.get_nowait())
                except queue.Empty:
                    break
            x = np.concatenate(blocks)
            if rs_in is not None:
                x = rs_in.resample_chunk(x)
            pending = np.concatenate([pending, x])
            n_frames = len(pending) // fs
            if n_frames > MAX_QUEUED_FRAMES:  # fell behind: drop the oldest input
                drop = n_frames - MAX_QUEUED_FRAMES
                self.stats.dropped += drop
                pending = pending[drop * fs :]
                n_frames = MAX_QUEUED_FRAMES
            for i in range(n_frames):
                frame = pending[i * fs : (i + 1) * fs]
                self._process(frame, enc, dec, rs_out, frame_s)
            pending = pending[n_frames * fs :]

    def _process(self, frame: np.ndarray, enc, dec, rs_out, frame_s: float) -> None:
        k, monitor = self.control.settings()
        t0 = time.perf_counter()
        with torch.inference_mode():
            codes = enc.step(torch.from_numpy(frame).view(1, 1, -1))
            y = dec.step(codes[:, :k])[0, 0].numpy()
        ms = 1000 * (time.perf_counter() - t0)
        play = frame if monitor == "input" else y
        if rs_out is not None:
            play = rs_out.resample_chunk(play)
        self._out.push(np.ascontiguousarray(play, dtype=np.float32))
        out_frame = round(len(frame) * self.device_rate / self.rate)
        if self._out.size > MAX_OUTPUT_FRAMES * out_frame:  # caught up after a stall
            n = self._out.drop_oldest(self._out.size - KEEP_OUTPUT_FRAMES * out_frame)
            self.stats.samples_skipped += n
            self.stats.skipped += round(n / out_frame)
        self._keep(frame, y)
        self._codes.append(codes[0, :, 0].numpy().copy())
        self._ks.append(k)
        st = self.stats
        st.frames += 1
        st.k = k
        st.compute_ms = ms
        st.compute_ms_avg += (ms - st.compute_ms_avg) / min(st.frames, 50)
        st.rtf = ms / (1000 * frame_s)
        dev_latency = sum(
            float(getattr(s, "latency", 0) or 0)
            for s in (self._in_stream, self._out_stream)
            if s is not None
        )
        queued = self._out.size / self.device_rate
        st.latency_ms = 1000 * (frame_s + ms / 1000 + queued + dev_latency)
        if self.on_frame is not None:
            self.on_frame(self._codes[-1], st)

    def _keep(self, frame: np.ndarray, y: np.ndarray) -> None:
        """Append one frame of input and output [fs] to the spool files, else to memory."""
        if self._writers is not None:
            try:
                self._writers[0].append(frame)
                self._writers[1].append(y)
                return
            except (OSError, CodecError) as e:  # disk full...: keep the rest in memory
                self.error = f"saving the live session failed ({e}); the rest is kept in memory"
                self._close_spool()
        self._inputs.append(frame.copy())
        self._outputs.append(y.copy())

    def result(self) -> LiveResult:
        """Both signals [T] at the codec rate, codes [n_q, F] and the K of each frame."""

        def cat(xs: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(xs) if xs else np.zeros(0, np.float32)

        n_q = self.codec.num_codebooks
        codes = np.stack(self._codes, axis=1) if self._codes else np.zeros((n_q, 0), np.int64)
        x, y = cat(self._inputs), cat(self._outputs)
        if self._files is not None:  # spooled: the files first, then any in-memory tail
            import soundfile as sf

            x = np.concatenate([sf.read(str(self._files[0]), dtype="float32")[0], x])
            y = np.concatenate([sf.read(str(self._files[1]), dtype="float32")[0], y])
        return LiveResult(x, y, codes, list(self._ks), files=self._files)
