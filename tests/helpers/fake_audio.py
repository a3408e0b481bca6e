"""A fake audio backend: streams whose callbacks the test drives by hand (`pump`)."""

from __future__ import annotations

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

    def pump(self, frames: int) -> np.ndarray | None:
        """Run the callback for one block of `frames`; returns what an output stream played."""
        if not self.active:
            return None
        if self.kind == "output":
            out = np.zeros((frames, self.channels), np.float32)
            self.callback(out, frames, None, None)
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


class FakeBackend:
    def __init__(
        self,
        inputs: int = 1,
        outputs: int = 1,
        source: np.ndarray | None = None,
        fail_open: bool = False,
    ) -> None:
        self.available = True
        self.reason = ""
        self._devices = []
        if inputs:
            self._devices.append(DeviceInfo(0, "fake mic", 2, 0, 48_000.0))
        if outputs:
            self._devices.append(DeviceInfo(1, "fake speaker", 0, 2, 48_000.0))
        self.source = source
        self.fail_open = fail_open
        self.streams: list[FakeStream] = []

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

    def output_stream(self, samplerate, channels, callback, device=None, blocksize=0):
        return self._open("output", samplerate, channels, callback, device)

    def input_stream(self, samplerate, channels, callback, device=None, blocksize=0):
        return self._open("input", samplerate, channels, callback, device)

    def last(self, kind: str) -> FakeStream:
        return [s for s in self.streams if s.kind == kind][-1]
