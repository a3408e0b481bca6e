"""Measuring the live loop's latency from outside its bookkeeping: play a probe, hear it twice.

The live engine plays a short chirp and, for a moment, monitors its input (the same frame
path and timing as the codec's output, without the codec smearing the chirp). Wherever the
speaker reaches the microphone (a loopback device, or speaker and mic in one room), the
chirp arrives at the input once (i1), is played again one mic-to-speaker latency later,
and arrives a second time (i2). So

    i2 - i1 = mic-to-speaker latency + the speaker-to-mic path

counted in input samples: one clock, no time stamps, nothing the engine reports. On a
loopback the speaker-to-mic path is zero; in a room it is the sound's flight (about 3 ms a
metre). This module holds the probe signal and the search; no devices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

PROBE_S = 0.05  # chirp length; shorter than a frame, so two arrivals never overlap
MONITOR_S = 0.6  # how long the input is monitored after the chirp (room for the echo)
LISTEN_S = 1.2  # input searched after the chirp is queued
PEAK_RATIO = 0.4  # an arrival: a correlation peak at least this share of the largest
MIN_CLARITY = 6.0  # largest peak / median correlation; below it the probe was not heard


class ProbeError(Exception):
    """The probe could not be found in what came back (the reason is the message)."""


@dataclass(frozen=True)
class ProbeResult:
    latency_ms: float  # i2 - i1: mic-to-speaker latency (+ the speaker-to-mic path)
    first: int  # input index (device samples) of the first arrival
    second: int  # ... and of the second
    clarity: float  # largest correlation peak / median: how clearly it was heard
    readout_ms: float  # the engine's own latency figure at the time, for comparison


def chirp(rate: int, seconds: float = PROBE_S, level: float = 0.5) -> np.ndarray:
    """The probe [n] float32: a Hann-windowed linear chirp, 500 Hz to 5 kHz (inside what
    speakers, microphones and 24 kHz codecs pass), peak `level`."""
    n = int(seconds * rate)
    t = np.arange(n) / rate
    x = signal.chirp(t, 500.0, seconds, min(5000.0, 0.4 * rate))
    return (level * np.hanning(n) * x).astype(np.float32)


def find_arrivals(recorded: np.ndarray, probe: np.ndarray, min_gap: int) -> tuple[int, int, float]:
    """The first two arrivals of `probe` [p] in `recorded` [n] (same rate): their start
    indices (i1, i2 with i2 - i1 >= min_gap samples) and how clearly they stand out.

    Raises ProbeError when the probe is not heard, or heard only once."""
    if len(recorded) < len(probe) + min_gap:
        raise ProbeError("too little input was recorded to look for the probe")
    c = signal.correlate(recorded, probe, mode="valid", method="fft")
    # the envelope of the signed correlation peaks where the probe starts; its carrier's
    # sidelobes (0.77 of the peak, 4 samples away at 24 kHz) do not move it
    env = np.abs(signal.hilbert(c)) if len(c) > 8 else np.abs(c)
    floor = float(np.median(env)) + 1e-12
    top = float(env.max())
    clarity = top / floor
    if not np.isfinite(clarity) or clarity < MIN_CLARITY:
        raise ProbeError(
            "the probe was not heard: the speaker does not reach the microphone "
            "(use a loopback device, or raise the speaker volume)"
        )
    i1 = _first_peak(c, env, 0, PEAK_RATIO * top)
    rest = env[i1 + min_gap :]
    if len(rest) == 0 or rest.max() < MIN_CLARITY * floor:
        raise ProbeError(
            "the probe came back once but not through the live loop a second time "
            "(the echo is too quiet to measure)"
        )
    i2 = _first_peak(c, env, i1 + min_gap, PEAK_RATIO * float(rest.max()))
    return i1, i2, clarity


def _first_peak(c: np.ndarray, env: np.ndarray, start: int, level: float) -> int:
    """The start of the first arrival from `start` on: the envelope's maximum in the first
    region where it exceeds `level`, refined to the largest |correlation| within two
    samples (either polarity: a speaker may invert)."""
    above = np.flatnonzero(env[start:] >= level)
    a = start + int(above[0])
    b = a
    while b + 1 < len(env) and env[b + 1] >= level:
        b += 1
    i = a + int(np.argmax(env[a : b + 1]))
    lo, hi = max(i - 2, 0), min(i + 3, len(c))
    return lo + int(np.argmax(np.abs(c[lo:hi])))


class ProbeRun:
    """One measurement in progress, driven by the frame loop.

    mix(): what to play next (the chirp on top of the input monitor); record(): the input
    blocks that came in since; done once LISTEN_S of input is there, then result()."""

    def __init__(self, rate: int, readout_ms: float) -> None:
        self.rate = rate
        self.probe = chirp(rate)
        self.readout_ms = readout_ms
        self._played = 0  # probe samples queued so far
        self._monitored = 0  # device samples queued since the chirp began
        self._start: int | None = None  # input index of the first block recorded
        self._blocks: list[np.ndarray] = []
        self._have = 0

    @property
    def monitoring(self) -> bool:
        """True while the played signal must be the input monitor (the echo path)."""
        return self._monitored < int(MONITOR_S * self.rate)

    def mix(self, play: np.ndarray) -> np.ndarray:
        """Add the next part of the chirp to play [n] (device rate); returns a new array."""
        out = play.astype(np.float32, copy=True)
        part = self.probe[self._played : self._played + len(out)]
        out[: len(part)] += part
        self._played += len(part)
        self._monitored += len(out)
        return out

    def record(self, block: np.ndarray, index: int) -> None:
        """An input block [n] starting at input index `index` (device samples); what came
        in before the chirp was queued is ignored."""
        if self._played == 0:
            return
        if self._start is None:
            self._start = index
        self._blocks.append(block)
        self._have += len(block)

    @property
    def done(self) -> bool:
        return self._have >= int(LISTEN_S * self.rate)

    def result(self) -> ProbeResult:
        """Raises ProbeError when the probe was not found twice."""
        x = np.concatenate(self._blocks) if self._blocks else np.zeros(0, np.float32)
        # the echo comes one mic-to-speaker latency later: at least a codec frame (80 ms)
        i1, i2, clarity = find_arrivals(x, self.probe, min_gap=int(0.06 * self.rate))
        start = self._start or 0
        return ProbeResult(
            1000.0 * (i2 - i1) / self.rate, start + i1, start + i2, clarity, self.readout_ms
        )
