"""A fake audio backend: streams whose callbacks the test drives by hand (`pump`).

Duplex streams model a device on one clock: time is the count of samples pumped, each
callback gets PortAudio-style time stamps (input latency `in_latency`, output latency
`out_latency`, seconds), and with `loop_s` set the speaker reaches the microphone: what
was played comes back on the input `loop_s` later (a loopback cable, or a room with
`air` = loop_s - in_latency - out_latency). `emitted` and `captured` are the two
physical signals on that clock, for measuring the true mic-to-speaker lag from outside.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from app.realtime.devices import DeviceInfo


class FakeStream:
    def __init__(
        self,
        kind: str,
        samplerate: float,
        channels: int,
        callback,
        device,
        source: np.ndarray | None = None,
    ) -> None:
        self.kind, self.samplerate, self.channels = kind, samplerate, channels
        self.callback, self.device = callback, device
        self.latency = 0.02
        self.active = False
        self.closed = False
        self.played: list[np.ndarray] = []  # output: every block the callback wrote
        self.source = source  # input: [T, C] samples to deliver
        self.read_pos = 0
        self.fail_after: int | None = None  # input: frames after which the device "dies"

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        self.active = False

    def close(self) -> None:
        self.active = False
        self.closed = True

    def pump(self, frames: int, status=None) -> np.ndarray | None:
        """Run the callback for one block of `frames` with PortAudio's `status` flags (None:
        none); returns what an output stream played."""
        if not self.active:
            return None
        if self.kind == "output":
            out = np.zeros((frames, self.channels), np.float32)
            self.callback(out, frames, None, status)
            self.played.append(out.copy())
            return out
        if self.fail_after is not None and self.read_pos >= self.fail_after:
            self.active = False
            return None
        src = self.source if self.source is not None else np.zeros((0, self.channels))
        block = np.zeros((frames, self.channels), np.float32)
        chunk = src[self.read_pos : self.read_pos + frames]
        block[: len(chunk)] = chunk[:, : self.channels]
        self.read_pos += frames
        self.callback(block, frames, None, None)
        return None


class FakeDuplexStream:
    def __init__(
        self,
        samplerate: float,
        callback,
        device,
        source: np.ndarray | None,
        in_latency: float,
        out_latency: float,
        loop_s: float | None,
        blocksize: int,
    ) -> None:
        self.kind, self.samplerate, self.channels = "duplex", samplerate, 1
        self.callback, self.device, self.blocksize = callback, device, blocksize
        self.latency = (in_latency, out_latency)
        self.in_latency, self.out_latency = in_latency, out_latency
        self.loop = None if loop_s is None else round(loop_s * samplerate)
        self.active = self.closed = False
        self.source = source  # [T] microphone signal besides the loop
        self.pos = 0  # samples pumped: the stream clock
        self.played: list[np.ndarray] = []  # every output block, in order
        self.inputs: list[np.ndarray] = []  # every input block the callback got

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        self.active = False

    def close(self) -> None:
        self.active = False
        self.closed = True

    def _tape(self) -> np.ndarray:
        return np.concatenate(self.played)[:, 0] if self.played else np.zeros(0, np.float32)

    def pump(self, frames: int | None = None, status=None) -> np.ndarray | None:
        """One callback of `frames` (default: the block size) with PortAudio's `status`
        flags (None: none): returns the output block."""
        if not self.active:
            return None
        frames = frames or self.blocksize
        a, b = self.pos, self.pos + frames
        indata = np.zeros((frames, 1), np.float32)
        if self.source is not None:
            chunk = self.source[a:b]
            indata[: len(chunk), 0] = chunk
        if self.loop is not None:  # input position m hears output position m - loop
            assert frames <= self.loop, "the loop must be longer than a block"
            tape = self._tape()
            lo, hi = a - self.loop, b - self.loop
            src = np.zeros(frames, np.float32)
            seg = tape[max(lo, 0) : max(hi, 0)]
            src[frames - len(seg) :] = seg
            indata[:, 0] += src
        t = a / self.samplerate
        info = SimpleNamespace(
            inputBufferAdcTime=t - self.in_latency,
            currentTime=t,
            outputBufferDacTime=t + self.out_latency,
        )
        outdata = np.zeros((frames, 1), np.float32)
        self.callback(indata, outdata, frames, info, status)
        self.inputs.append(indata.copy())
        self.played.append(outdata.copy())
        self.pos = b
        return outdata

    def physical(self) -> tuple[np.ndarray, np.ndarray]:
        """(captured, emitted) [n]: what reached the mic and what left the speaker, both on
        the physical clock (input position m was captured at m - in_latency, output
        position s emitted at s + out_latency)."""
        di = round(self.in_latency * self.samplerate)
        do = round(self.out_latency * self.samplerate)
        captured = np.concatenate(self.inputs)[:, 0][di:] if self.inputs else np.zeros(0)
        emitted = np.concatenate([np.zeros(do, np.float32), self._tape()])
        n = min(len(captured), len(emitted))
        return captured[:n], emitted[:n]


class FakeBackend:
    def __init__(
        self,
        inputs: int = 1,
        outputs: int = 1,
        source: np.ndarray | None = None,
        fail_open: bool = False,
        duplex: bool = False,
        in_latency: float = 0.004,
        out_latency: float = 0.006,
        loop_s: float | None = None,
    ) -> None:
        """duplex: offer duplex streams (else only separate input and output streams, as
        the app falls back to). source: [T] or [T, C] microphone signal."""
        self.available = True
        self.reason = ""
        self._devices = []
        if inputs:
            self._devices.append(DeviceInfo(0, "fake mic", 2, 0, 48_000.0))
        if outputs:
            self._devices.append(DeviceInfo(1, "fake speaker", 0, 2, 48_000.0))
        self.source = source
        self.fail_open = fail_open
        self.streams: list = []
        self.duplex = duplex
        self.in_latency, self.out_latency, self.loop_s = in_latency, out_latency, loop_s
        if not duplex:  # the engine then finds no duplex_stream, as with a limited backend
            self.duplex_stream = None

    def devices(self) -> list[DeviceInfo]:
        return list(self._devices)

    def default_device(self, kind: str) -> int | None:
        for d in self._devices:
            if (kind == "input" and d.max_input_channels) or (
                kind == "output" and d.max_output_channels
            ):
                return d.index
        return None

    def _open(self, kind, samplerate, channels, callback, device) -> FakeStream:
        if self.fail_open:
            raise RuntimeError("device unavailable")
        s = FakeStream(
            kind, samplerate, channels, callback, device, self.source if kind == "input" else None
        )
        self.streams.append(s)
        return s

    def output_stream(self, samplerate, channels, callback, device=None, blocksize=0, **kw):
        return self._open("output", samplerate, channels, callback, device)

    def input_stream(self, samplerate, channels, callback, device=None, blocksize=0, **kw):
        return self._open("input", samplerate, channels, callback, device)

    def duplex_stream(self, samplerate, channels, callback, device=(None, None), blocksize=0, **kw):
        if self.fail_open:
            raise RuntimeError("device unavailable")
        src = None
        if self.source is not None:
            src = self.source if self.source.ndim == 1 else self.source[:, 0]
        s = FakeDuplexStream(
            samplerate,
            callback,
            device,
            src,
            self.in_latency,
            self.out_latency,
            self.loop_s,
            blocksize or 256,
        )
        self.streams.append(s)
        return s

    def last(self, kind: str) -> FakeStream:
        return [s for s in self.streams if s.kind == kind][-1]
