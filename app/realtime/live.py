"""Live round trip: mic -> codec hops and frames -> streaming encode -> decode -> speaker.

The devices run in small blocks (BLOCK_S), their callbacks only copying
(app.realtime.device_link): input blocks go to a queue with their time stamp, and output
blocks come out of an adaptive jitter buffer (app.realtime.jitter) that tags every sample
with the input sample it was decoded from.
`LiveEngine.run()` does the work in the codec worker's thread: it resamples to and from
the device rate with the live resampler when the device cannot run at 24 kHz, encodes
each 40 ms hop of input as soon as it is in (`codec.model.hop_stream`: the first half of
an 80 ms frame is encoded while the second is being recorded), decodes each frame at its
last hop with the K of the moment, queues each decoded hop for the speaker at once (the
first before the second is decoded), and keeps both signals so the session can become a
normal comparison when it stops. So only about half of a frame's compute lies between
its last input sample and its first output sample (`LiveStats.first_out_ms`).

Latency: the readout comes from the callbacks' time stamps and the tags
(app.realtime.latency); a probe (app.realtime.probe) measures it from outside on request.

What the session keeps (both signals, the codes, the K of each frame; on disk with
`spool` set) is `app.realtime.take.LiveTake`'s.
"""

from __future__ import annotations

import gc
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from codec.model.threads import fastest_threads, torch_threads

from .device_link import DeviceLink
from .devices import AudioBackend
from .host_load import StealMeter
from .jitter import JitterBuffer
from .latency import LatencyMeter
from .probe import ProbeError, ProbeResult, ProbeRun
from .resampler import LiveResampler
from .take import LiveTake

# The hop stream costs about 1.4x a frame's compute (twice the calls); where its step
# takes more than this share of a frame, the loop codes whole frames instead (the
# full-size Mimi on a slow 2-core CPU), which keeps up where hops would fall behind.
HOP_SHARE_MAX = 0.5
MAX_QUEUED_FRAMES = 25  # 2 s of input backlog; beyond that the oldest input is dropped
BLOCK_S = 0.005  # device block: small blocks keep the devices' share of the latency small
# The latency asked of PortAudio for each direction: the host API's "low" unless told.
# Measured on the PipeWire loopback (demo codec, readout median / PortAudio over- and
# underflows): 30 s runs: "low" 126-129 ms / 1-4, 10 ms 123 ms / 1, 5 ms 118 ms / 60,
# 1 ms 118 ms / 61; 60 s runs: "low" 128 ms / 1, 10 ms 128 ms / 4. Below 10 ms the
# device layer runs dry twice a second; between "low" and 10 ms the runs' spread is wider
# than the difference, so "low" stays the default (`live --device-latency-ms` sets it).
DEVICE_LATENCY_S: float | str = "low"
# The jitter buffer's floor, seconds of slack. The first frame's compute sets the phase of
# every later one: at no slack a first frame faster than the next ones made the speaker
# run dry at once (within the first second in 5 of 7 sessions on the loopback here; begun
# a step up, in none of 8). And where the buffer came down to no slack by its own rule (15 s
# in which the slack never fell below a step), the next frame a little later than any in
# those 15 s ran it dry: no slack leaves no margin. Measured on the loopback here (60 s
# runs, demo codec): a 5 ms floor ran dry 0-3 times a run (2 of 5 runs), a 10 ms floor in
# none of 4, at a readout median of 108-110 ms. So it never goes below 10 ms.
MIN_BUFFER_S = 0.010


@dataclass
class LiveStats:
    """The session's figures after the latest frame (the frame loop owns it; copies go out)."""

    frames: int = 0
    compute_ms: float = 0.0  # last frame, encode + decode
    compute_ms_avg: float = 0.0
    # the part of it after the frame's last input sample, until its first decoded hop was
    # queued for the speaker: the compute's share of the latency (app.realtime.live's
    # docstring says why it is smaller)
    first_out_ms: float = 0.0
    first_out_ms_avg: float = 0.0
    rtf: float = 0.0  # compute time / frame duration
    latency_ms: float = 0.0  # mic-to-speaker, from the callbacks' time stamps (last ~1 s)
    latency_source: str = ""  # "timestamps", or "estimate" where the host API gives none
    buffer_ms: float = 0.0  # the jitter buffer's target slack now
    dropped: int = 0  # input frames dropped because processing fell behind
    late: int = 0  # times the speaker found no decoded audio (underruns)
    late_ms: float = 0.0  # decoded audio skipped after them: its time had passed
    skipped: int = 0  # cuts made to bring the latency back after a stall
    samples_skipped: int = 0  # ... their total, device-rate samples
    skipped_ms: float = 0.0
    xruns: int = 0  # xruns_in + xruns_out (a duplex block flagged on both sides counts 2)
    xruns_in: int = 0  # ... input overflows and underflows
    xruns_out: int = 0  # ... output underflows and overflows
    # share of the CPU the host (hypervisor) took: the last second's, and the session's,
    # percent; None where the system does not say (app.realtime.host_load)
    steal_pct: float | None = None
    steal_pct_session: float | None = None
    k: int = 8
    samples_in: int = 0  # device-rate samples the input callback received
    samples_out: int = 0  # device-rate decoded samples the output callback played
    measured_latency_ms: float = 0.0  # the last probe's figure (0: not measured)
    probe_readout_ms: float = 0.0  # the readout when the last probe was measured
    probe_note: str = ""  # what the last probe found, or why it failed
    duplex: bool = False  # one duplex stream (else an input and an output stream)
    block: int = 0  # device block, samples
    threads: int = 0  # torch threads the frame loop runs on (chosen by timing, at open)
    hops: bool = True  # coded a hop at a time (else whole frames; chosen with the threads)


@dataclass
class LiveResult:
    input24: np.ndarray  # [T] float32 at the codec rate
    output24: np.ndarray  # [T] decoded, aligned with the input (same frames)
    codes: np.ndarray  # [n_q, F]
    ks: list[int] = field(default_factory=list)  # K used for each frame
    files: tuple[Path, Path] | None = None  # (input, output) WAVs when spooled to disk
    probes: list[ProbeResult] = field(default_factory=list)  # latency measurements made


class LiveControl:
    """What the GUI may change while a session runs: K, what the speaker plays, a latency
    probe, stop.

    Set from the GUI thread, read by the frame loop before each frame; a lock makes each
    hand-over whole.
    """

    def __init__(self, k: int, monitor: str = "output") -> None:
        self._lock = threading.Lock()
        self._k, self._monitor = int(k), monitor
        self._probe = False
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

    def request_probe(self) -> None:
        """Measure the latency with a probe (see app.realtime.probe) at the next frame."""
        with self._lock:
            self._probe = True

    def take_probe_request(self) -> bool:
        with self._lock:
            asked, self._probe = self._probe, False
            return asked

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()


def _pct(share: float | None) -> float | None:
    return None if share is None else 100.0 * share


class LiveEngine:
    """One live session: open() the devices, run() the frame loop until stop()."""

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
        block_s: float = BLOCK_S,
        duplex: bool = True,
        device_latency: float | str = DEVICE_LATENCY_S,
        hops: bool | None = None,
        min_buffer_s: float = MIN_BUFFER_S,
    ) -> None:
        self.codec = codec
        self.rate = codec.sample_rate
        self.device_rate = device_rate or self.rate
        self.block = max(round(self.device_rate * block_s), 16)
        self.control = control or LiveControl(k)
        self.stats = LiveStats(k=self.control.settings()[0], block=self.block)
        self.want_hops = hops  # None: by timing (choose_threads)
        self._error = ""  # the loop's own (a device that stopped); see `error`
        self.on_frame = None  # callable(codes [n_q], LiveStats), called from run()'s thread
        floor = round(min_buffer_s * self.device_rate)
        self.buffer = JitterBuffer(self.device_rate, self.block, minimum=floor)
        self.devices = DeviceLink(
            backend,
            self.device_rate,
            self.block,
            self.buffer,
            input_device,
            output_device,
            duplex=duplex,
            latency=device_latency,
        )
        # owned by the frame loop
        self._meter: LatencyMeter | None = None
        self._next_tag = 0  # device-rate output samples queued so far
        self._frame_ms = 0.0  # compute spent on the frame in progress so far
        self._dropped_in = 0  # device-rate input samples dropped (the tags skip them)
        self.consumed = 0  # input samples the frame loop has taken in
        self._probe: ProbeRun | None = None
        self._probes: list[ProbeResult] = []
        self._frozen = False  # the heap is frozen for the session (see _freeze_heap)
        self._steal: StealMeter | None = None
        self._steal_at = 0.0  # when it was last read (perf_counter)
        self.take = LiveTake(codec.num_codebooks, self.rate, spool)  # the frame loop's

    # ---- control -----------------------------------------------------------------------
    def choose_threads(self) -> dict[int, float]:
        """Time the codec's live step (a frame in hops) on 1 and on all torch threads (fresh
        states, before any stream opens) and keep the count the frame loop will use; code
        in hops unless that step takes more than HOP_SHARE_MAX of a frame (or the engine
        was told). Returns the median ms per frame of each count (codec.model.threads
        says why this matters)."""
        rng = np.random.default_rng(0)
        x = torch.from_numpy(0.1 * rng.standard_normal((1, 1, self.codec.frame_size))).float()

        def make_step():
            stream = self.codec.hop_stream()

            def step():
                k = self.control.settings()[0]
                for h in x.split(stream.hop, dim=-1):  # as the frame loop feeds it
                    codes = stream.encode(h, levels=k)
                for _ in stream.decode(codes):
                    pass
                stream.all_codes()

            return step

        # two threads must be clearly faster: the audio server and the callbacks share
        # these cores, and a step on fewer threads keeps its time when they wake
        self.stats.threads, times = fastest_threads(make_step, timed=10, prefer_fewer=1.4)
        frame_ms = 1000 * self.codec.frame_size / self.rate
        hops_fit = times[self.stats.threads] <= HOP_SHARE_MAX * frame_ms
        self.stats.hops = hops_fit if self.want_hops is None else bool(self.want_hops)
        return times

    def open(self) -> None:
        """Open and start the streams (raises RuntimeError with a reason): see DeviceLink.
        The frame loop's thread count is chosen first, unless already chosen."""
        if not self.stats.threads:
            self.choose_threads()
        self._freeze_heap()
        try:
            self.devices.open()
            nominal = self.devices.nominal_latency_s
            self._steal, self._steal_at = StealMeter(), time.perf_counter()
            shared = self.devices.duplex
            self._meter = LatencyMeter(self.device_rate, nominal, shared_clock=shared)
        except Exception:
            self.close()  # nothing left open, nor the heap frozen
            raise
        self.stats.duplex = self.devices.duplex

    def stop(self) -> None:
        self.control.stop()

    def close(self) -> None:
        self.devices.close()
        self._thaw_heap()

    # The cyclic garbage collector's full pass walks every object in the process, holding
    # the interpreter lock throughout: with the codec loaded that took 110-170 ms here, a
    # few times a minute, and the callbacks (which need the lock to copy a block) waited
    # that long, so the devices ran dry (traced: the longest wait for the lock in a
    # callback fell from 140-200 ms a run to 4-21 ms). What exists when the session starts
    # is moved out of the collector's reach for the session; reference counting still
    # frees it, and the collector still looks at everything made after. No collection
    # here: this runs in the GUI's codec worker, and the GUI collects on its own thread
    # only (app.gui_gc); cycles already garbage wait for the thaw. The freeze is the
    # process's, and one live session runs at a time.
    def _freeze_heap(self) -> None:
        if not self._frozen:
            gc.freeze()
            self._frozen = True

    def _thaw_heap(self) -> None:
        if self._frozen:
            gc.unfreeze()
            self._frozen = False

    @property
    def error(self) -> str:
        """What went wrong that the session survived ("" if nothing)."""
        return self._error or self.take.error

    def run(self, poll_s: float = 0.01) -> LiveResult:
        """Process frames until stop(); returns the recorded session. Runs in one thread."""
        fs = self.codec.frame_size
        stream = self.codec.hop_stream()
        rs_in = rs_out = None
        if self.device_rate != self.rate:
            rs_in = LiveResampler(self.device_rate, self.rate)
            rs_out = LiveResampler(self.rate, self.device_rate)
        if self._meter is None:
            self._meter = LatencyMeter(self.device_rate)
        self.take.open()
        try:
            with torch_threads(self.stats.threads or torch.get_num_threads()):
                self._loop(stream, rs_in, rs_out, fs, poll_s)
        finally:
            self._finish_probe(force=True)
            self.take.close()
            self.close()
            self._count()  # the callbacks have stopped: the final figures
            self._read_steal()
        return self.result()

    def _loop(self, stream, rs_in, rs_out, fs, poll_s) -> None:
        pending = np.zeros(0, np.float32)  # from the start of the frame being coded
        piece = stream.hop if self.stats.hops else fs
        while not self.control.stopped:
            if self.devices.input_ended:  # what it delivered before it died is processed
                self._error = "the input device stopped; the session so far was kept"
                break
            items = self.devices.take_inputs(poll_s)
            if not items:
                continue
            for block, fact in items:
                self._meter.add_input(fact)
                if self._probe is not None:
                    self._probe.record(block, fact.index)
            x = np.concatenate([b for b, _ in items])
            if rs_in is not None:
                x = rs_in.process(x)
            pending = np.concatenate([pending, x])
            fed = stream.pending  # pending[:fed] is in the encoder already
            # feed the encoder each hop (or frame) as soon as it is in; a frame decodes at
            # its last hop
            while (n := min(len(pending) - fed, fs - fed) // piece * piece) > 0:
                if fed == 0:  # a frame boundary
                    n_frames = len(pending) // fs
                    if n_frames > MAX_QUEUED_FRAMES:  # fell behind: drop the oldest input
                        drop = n_frames - MAX_QUEUED_FRAMES
                        self.stats.dropped += drop
                        self._dropped_in += round(drop * fs * self.device_rate / self.rate)
                        pending = pending[drop * fs :]
                    if self._probe is None and self.control.take_probe_request():
                        self._probe = ProbeRun(self.device_rate, self.stats.latency_ms)
                k, monitor = self.control.settings()  # the K of a frame completed now
                t0 = time.perf_counter()
                chunk = torch.from_numpy(pending[fed : fed + n]).view(1, 1, -1)
                codes = stream.encode(chunk, levels=k)
                self._frame_ms += 1000 * (time.perf_counter() - t0)
                fed += n
                if codes.shape[-1]:
                    self._finish_frame(pending[:fs], codes, k, monitor, stream, rs_out, t0)
                    pending, fed = pending[fs:], 0
            self.consumed += sum(f.frames for _, f in items)
            self._finish_probe()

    def _finish_frame(
        self, frame: np.ndarray, codes, k: int, monitor: str, stream, rs_out, t_last: float
    ) -> None:
        """Decode the frame just encoded (codes [1, K, 1]) hop by hop, each hop queued for the
        speaker as soon as it is decoded; then find its other levels; keep both signals and
        the codes; update the figures. t_last: when the encoding of the frame's last hop
        began (its last sample was in)."""
        probing = self._probe is not None and self._probe.monitoring
        at, ys, first_out = 0, [], 0.0
        t0 = time.perf_counter()
        for i, out in enumerate(stream.decode(codes, whole=not self.stats.hops)):
            y = out[0, 0].numpy()
            ys.append(y)
            # the probe's echo path is the input monitor: the same frame and timing as the
            # decode, without the codec smearing the chirp
            play = frame[at : at + len(y)] if monitor == "input" or probing else y
            at += len(y)
            self._queue_out(play, rs_out, probing, first=i == 0)
            if i == 0:
                first_out = 1000 * (time.perf_counter() - t_last)
        all_codes = stream.all_codes()[0, :, 0].numpy()
        self._frame_ms += 1000 * (time.perf_counter() - t0)
        self.take.keep(frame, np.concatenate(ys), all_codes, k)
        ms, self._frame_ms = self._frame_ms, 0.0
        self._update(k, ms, first_out, len(frame) / self.rate)
        if self.on_frame is not None:
            self.on_frame(all_codes.copy(), self.stats)

    def _queue_out(self, play: np.ndarray, rs_out, probing: bool, first: bool) -> None:
        """Queue one decoded hop [hop] for the speaker, tagged with the input sample it was
        decoded from; `first`: the frame's first hop (the jitter buffer adapts there)."""
        tag = self._next_tag + self._dropped_in
        if rs_out is not None:
            n_in = len(play)
            play = rs_out.process(play)
            short = round(n_in * self.device_rate / self.rate) - len(play)
            if self._next_tag == 0 and short > 0:
                # the resampler holds its first millisecond back: lead with that much
                # silence, or the speaker would run dry once before every frame after
                play = np.concatenate([np.zeros(short, np.float32), play])
                tag -= short
        self._next_tag += len(play)
        if probing:
            play = self._probe.mix(play)
        self.buffer.push(play, tag, adapt=first)

    def _update(self, k: int, ms: float, first_out_ms: float, frame_s: float) -> None:
        st = self.stats
        st.frames += 1
        st.k = k
        st.compute_ms = ms
        st.first_out_ms = first_out_ms
        st.first_out_ms_avg += (first_out_ms - st.first_out_ms_avg) / min(st.frames, 50)
        st.compute_ms_avg += (ms - st.compute_ms_avg) / min(st.frames, 50)
        st.rtf = ms / (1000 * frame_s)
        self._meter.add_output(self.devices.last_out)
        st.latency_ms = self._meter.current_ms
        st.latency_source = self._meter.source
        if time.perf_counter() - self._steal_at >= 1.0:
            self._read_steal()
        self._count()

    def _read_steal(self) -> None:
        """The host's share of the CPU since the last reading and since the start."""
        if self._steal is None:
            return
        self._steal.update()
        self._steal_at = time.perf_counter()
        if self._steal.recent is not None:  # None: no tick passed since the last reading
            self.stats.steal_pct = _pct(self._steal.recent)
        if self._steal.session is not None:
            self.stats.steal_pct_session = _pct(self._steal.session)

    def _count(self) -> None:
        """Copy the buffer's and the callbacks' counters into the stats."""
        st, out = self.stats, self.buffer
        st.buffer_ms = 1000 * out.target / self.device_rate
        st.late, st.skipped, st.samples_skipped = out.underruns, out.skipped, out.samples_skipped
        st.skipped_ms = 1000 * out.samples_skipped / self.device_rate
        st.late_ms = 1000 * out.late_samples / self.device_rate
        st.xruns_in, st.xruns_out = self.devices.input_xruns, self.devices.output_xruns
        st.xruns = self.devices.xruns
        st.samples_in, st.samples_out = self.devices.received, out.popped

    def latency_summary(self) -> dict[str, float]:
        """Median, min and max of the latency readings after the first second, ms."""
        return self._meter.summary_ms() if self._meter is not None else {}

    def _finish_probe(self, force: bool = False) -> None:
        p = self._probe
        if p is None or not (p.done or force):
            return
        self._probe = None
        try:
            r = p.result()
        except ProbeError as e:
            self.stats.measured_latency_ms = 0.0
            self.stats.probe_note = str(e)
            return
        self._probes.append(r)
        self.stats.measured_latency_ms = r.latency_ms
        self.stats.probe_readout_ms = r.readout_ms
        self.stats.probe_note = (
            f"probe: {r.latency_ms:.0f} ms measured, readout {r.readout_ms:.0f} ms"
        )

    def result(self) -> LiveResult:
        """Both signals [T] at the codec rate, codes [n_q, F] and the K of each frame."""
        t = self.take
        x, y = t.signals()
        return LiveResult(x, y, t.codes(), list(t.ks), files=t.files, probes=list(self._probes))
