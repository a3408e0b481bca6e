"""The audio-device boundary: sounddevice (PortAudio) behind a small interface.

Everything else in the app talks to `AudioBackend`; tests swap in a fake with the same
methods. Stream callbacks must only copy data in or out (see player, recorder, live).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

Callback = Callable[..., None]


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float


class Stream(Protocol):
    samplerate: float
    latency: Any

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


class AudioBackend(Protocol):
    """What the app needs from an audio library."""

    available: bool
    reason: str  # why it is unavailable ('' when available)

    def devices(self) -> list[DeviceInfo]: ...
    def default_device(self, kind: str) -> int | None: ...
    def output_stream(
        self,
        samplerate: float,
        channels: int,
        callback: Callback,
        device: int | None = None,
        blocksize: int = 0,
        latency: str | float = "high",
    ) -> Stream: ...
    def input_stream(
        self,
        samplerate: float,
        channels: int,
        callback: Callback,
        device: int | None = None,
        blocksize: int = 0,
        latency: str | float = "high",
    ) -> Stream: ...
    def duplex_stream(
        self,
        samplerate: float,
        channels: int,
        callback: Callback,
        device: tuple[int | None, int | None] = (None, None),
        blocksize: int = 0,
        latency: str | float = "low",
    ) -> Stream:
        """One stream with input and output: callback(indata, outdata, frames, time_info,
        status), both sides on one clock."""
        ...


class SoundDeviceBackend:
    """PortAudio through sounddevice. Unavailable (with a reason) when PortAudio is missing."""

    def __init__(self) -> None:
        self.available = False
        self.reason = ""
        self._sd: Any = None
        try:
            import sounddevice as sd  # raises OSError when libportaudio2 is missing
        except (OSError, ImportError) as e:
            self.reason = f"audio disabled: PortAudio is not available ({e})"
            return
        self._sd = sd
        self.available = True

    def devices(self) -> list[DeviceInfo]:
        if not self.available:
            return []
        try:
            found = self._sd.query_devices()
        except Exception as e:  # PortAudio errors are not a documented type
            self.reason = f"audio devices cannot be listed: {e}"
            return []
        return [
            DeviceInfo(
                i,
                d["name"],
                int(d["max_input_channels"]),
                int(d["max_output_channels"]),
                float(d["default_samplerate"]),
            )
            for i, d in enumerate(found)
        ]

    def default_device(self, kind: str) -> int | None:
        if not self.available:
            return None
        try:
            info = self._sd.query_devices(kind=kind)
        except Exception:
            return None
        return int(info["index"]) if info is not None and "index" in info else None

    def output_stream(
        self, samplerate, channels, callback, device=None, blocksize=0, latency="high"
    ):
        return self._open(
            self._sd.OutputStream, samplerate, channels, callback, device, blocksize, latency
        )

    def input_stream(
        self, samplerate, channels, callback, device=None, blocksize=0, latency="high"
    ):
        return self._open(
            self._sd.InputStream, samplerate, channels, callback, device, blocksize, latency
        )

    def duplex_stream(
        self, samplerate, channels, callback, device=(None, None), blocksize=0, latency="low"
    ):
        return self._open(
            self._sd.Stream, samplerate, channels, callback, device, blocksize, latency
        )

    @staticmethod
    def _open(kind, samplerate, channels, callback, device, blocksize, latency):
        return kind(
            samplerate=samplerate,
            channels=channels,
            dtype="float32",
            callback=callback,
            device=device,
            blocksize=blocksize,
            latency=latency,
        )


def has_output(backend: AudioBackend) -> str:
    """'' when some output device exists, else the reason playback is disabled."""
    if not backend.available:
        return backend.reason
    if not any(d.max_output_channels > 0 for d in backend.devices()):
        return "playback disabled: no audio output device found"
    return ""


def has_input(backend: AudioBackend) -> str:
    if not backend.available:
        return backend.reason
    if not any(d.max_input_channels > 0 for d in backend.devices()):
        return "recording disabled: no audio input device found"
    return ""
