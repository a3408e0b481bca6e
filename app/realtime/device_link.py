"""The devices' side of a live session: the streams and their copy-only callbacks.

One duplex stream where the backend and devices allow it (input and output then share
one clock and one callback), else an input and an output stream started together, all in
blocks of `block` samples. The input callback puts each block on a queue with its time
stamp (`InputFact`); the output callback fills its block from the jitter buffer the frame
loop writes to and records what it played (`OutputFact`). Nothing else happens in them:
the frame loop (app.realtime.live) takes the input from `take_inputs` in its own thread.
"""

from __future__ import annotations

import queue
import time

import numpy as np

from .devices import AudioBackend
from .jitter import JitterBuffer
from .latency import InputFact, OutputFact


def _stamp(time_info, name: str) -> float:
    """PortAudio's time stamp `name` from a callback's time_info (0.0 when absent)."""
    try:
        return float(getattr(time_info, name))
    except (AttributeError, TypeError, ValueError):
        return 0.0


def _flagged(status, *names: str) -> bool:
    """Whether a callback's PortAudio status has any of the flags `names`."""
    return any(getattr(status, n, False) for n in names)


class DeviceLink:
    """Mono input and output at `rate` Hz in blocks of `block` samples; the output plays
    from `out`.

    The counters (`received`, `input_xruns`, `output_xruns`, `last_out`) are written by the
    callbacks only; the frame loop reads them (single values, so a read sees a whole one).
    """

    def __init__(
        self,
        backend: AudioBackend,
        rate: int,
        block: int,
        out: JitterBuffer,
        input_device: int | None = None,
        output_device: int | None = None,
        duplex: bool = True,
        latency: float | str = "low",
    ) -> None:
        self.backend, self.rate, self.block, self.out = backend, rate, block, out
        self.input_device, self.output_device = input_device, output_device
        self.want_duplex = duplex
        self.latency = latency  # asked of PortAudio per direction: seconds, or "low"/"high"
        self.duplex = False  # what open() got
        self._streams: list = []
        self._in_q: queue.Queue[tuple[np.ndarray, InputFact]] = queue.Queue()
        self.received = 0  # input samples received
        self._played = 0  # output samples handed to the device
        # blocks PortAudio flagged: input samples lost (overflow) or zeros put in their place
        # (underflow, a duplex stream's input running short); a gap played on the output
        # (underflow) or output thrown away (overflow)
        self.input_xruns = 0
        self.output_xruns = 0
        self.last_out: OutputFact | None = None

    # ---- callbacks: copy only --------------------------------------------------------
    def _in_cb(self, indata, frames, time_info, status) -> None:
        if status and _flagged(status, "input_overflow", "input_underflow"):
            self.input_xruns += 1  # counted and shown; the session goes on
        fact = InputFact(
            self.received, frames, _stamp(time_info, "inputBufferAdcTime"), time.perf_counter()
        )
        self._in_q.put((indata[:, 0].copy(), fact))
        self.received += frames

    def _out_cb(self, outdata, frames, time_info, status) -> None:
        if status and _flagged(status, "output_underflow", "output_overflow"):
            self.output_xruns += 1
        mono = outdata[:, 0]
        _, tag = self.out.pop_into(mono)
        self.last_out = OutputFact(
            self._played,
            frames,
            _stamp(time_info, "outputBufferDacTime"),
            time.perf_counter(),
            tag,
        )
        self._played += frames
        for c in range(1, outdata.shape[1]):
            outdata[:, c] = mono

    def _duplex_cb(self, indata, outdata, frames, time_info, status) -> None:
        self._in_cb(indata, frames, time_info, status)
        self._out_cb(outdata, frames, time_info, status)

    @property
    def xruns(self) -> int:
        """Input and output xruns together (a duplex block flagged on both sides counts
        once for each)."""
        return self.input_xruns + self.output_xruns

    # ---- streams -----------------------------------------------------------------------
    def open(self) -> None:
        """Open and start the streams; raises RuntimeError with the reason (both, where
        the duplex stream failed before the two streams did)."""
        duplex_failed = ""
        if self.want_duplex and getattr(self.backend, "duplex_stream", None) is not None:
            try:
                s = self.backend.duplex_stream(
                    self.rate,
                    1,
                    self._duplex_cb,
                    device=(self.input_device, self.output_device),
                    blocksize=self.block,
                    latency=self.latency,
                )
                self._streams = [s]
                s.start()
                self.duplex = True
            except Exception as e:  # the two streams below may still open
                duplex_failed = f"; one duplex stream failed first: {e}"
                self.close()
        if self.duplex:
            return
        try:
            out = self.backend.output_stream(
                self.rate,
                1,
                self._out_cb,
                device=self.output_device,
                blocksize=self.block,
                latency=self.latency,
            )
            self._streams = [out]
            inp = self.backend.input_stream(
                self.rate,
                1,
                self._in_cb,
                device=self.input_device,
                blocksize=self.block,
                latency=self.latency,
            )
            self._streams.append(inp)
            out.start()
            inp.start()
        except Exception as e:
            self.close()
            raise RuntimeError(
                f"cannot open the audio devices for live mode: {e}{duplex_failed}"
            ) from e

    def close(self) -> None:
        for s in self._streams:
            try:
                s.stop()
                s.close()
            except Exception:
                pass
        self._streams = []

    @property
    def nominal_latency_s(self) -> float:
        """The streams' own latency figures summed (duplex: input + output), seconds."""
        total = 0.0
        for s in self._streams:
            lat = getattr(s, "latency", 0) or 0
            total += float(sum(lat)) if isinstance(lat, tuple | list) else float(lat)
        return total

    # ---- for the frame loop ------------------------------------------------------------
    def take_inputs(self, timeout: float) -> list[tuple[np.ndarray, InputFact]]:
        """Every input block queued so far ([block] float32 with its fact), waiting up to
        `timeout` s for the first; [] when none came."""
        try:
            items = [self._in_q.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                items.append(self._in_q.get_nowait())
            except queue.Empty:
                return items

    @property
    def input_ended(self) -> bool:
        """The input stream has stopped by itself and everything it delivered was taken."""
        s = self._streams[-1] if self._streams else None
        dead = s is not None and getattr(s, "active", True) is False
        return dead and self._in_q.empty()
