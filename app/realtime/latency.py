"""The live loop's latency readout, from facts the audio callbacks record.

Mic-to-speaker latency is when a sample leaves the speaker minus when it entered the
microphone. The engine knows both ends for sure:

- every input callback reports the ADC time of its first sample (PortAudio's
  `inputBufferAdcTime`) and the engine counts input samples, so the capture time of input
  sample m is the ADC time of its block plus its offset in the block;
- every output callback reports the DAC time of its first sample (`outputBufferDacTime`)
  and which input sample that first sample was decoded from (the jitter buffer's tag).

So one output block gives one reading, dac - capture(tag), with nothing estimated: the
80 ms frame, the compute, the queued samples on both sides and the devices' buffers are
all inside it. Where a host API gives no time stamps (0), the readout falls back to sample
counts plus the streams' nominal latency and says so (`source == "estimate"`).
"""

from __future__ import annotations

import bisect
import collections
from dataclasses import dataclass


@dataclass(frozen=True)
class InputFact:
    index: int  # input samples (device rate) before this block
    frames: int
    adc: float  # seconds, stream clock; 0 when the host API gives no time stamp
    wall: float  # time.perf_counter() in the callback (fallback clock)


@dataclass(frozen=True)
class OutputFact:
    index: int  # output samples (device rate) before this block
    frames: int
    dac: float  # seconds, stream clock; 0 when unknown
    wall: float
    tag: int  # input index of the first sample played in this block; -1 if it was silence


class LatencyMeter:
    """Turns callback facts into latency readings (seconds); owned by the frame loop."""

    def __init__(
        self,
        rate: int,
        nominal_s: float = 0.0,
        shared_clock: bool = True,
        window: int = 12,
        keep_s: float = 4.0,
    ) -> None:
        """rate: device Hz. nominal_s: the streams' reported input + output latency, used
        only without time stamps. shared_clock: one duplex stream (input and output sample
        counts tick together). window: readings averaged for `current_ms` (12 frames =
        about 1 s). keep_s: input history kept to look tags up."""
        self.rate = rate
        self.nominal_s = nominal_s
        self.shared_clock = shared_clock
        self._inputs: collections.deque[InputFact] = collections.deque(
            maxlen=max(int(keep_s * rate / 64), 64)
        )
        self._starts: collections.deque[int] = collections.deque(maxlen=self._inputs.maxlen)
        self._window: collections.deque[float] = collections.deque(maxlen=window)
        self.readings: list[float] = []  # every reading, seconds (one per frame)
        self.source = ""  # "timestamps" or "estimate", once there is a reading

    def add_input(self, fact: InputFact) -> None:
        self._inputs.append(fact)
        self._starts.append(fact.index)

    def add_output(self, fact: OutputFact | None) -> float | None:
        """A reading from the latest output block (None while it played silence)."""
        if fact is None or fact.tag < 0 or not self._inputs:
            return None
        block = self._block_of(fact.tag)
        offset = (fact.tag - block.index) / self.rate
        if fact.dac > 0 and block.adc > 0:
            value, source = fact.dac - (block.adc + offset), "timestamps"
        elif self.shared_clock:  # one stream: both sides count the same samples
            value, source = (fact.index - fact.tag) / self.rate + self.nominal_s, "estimate"
        else:  # two streams without time stamps: the callbacks' wall clock
            captured = block.wall - block.frames / self.rate + offset
            value, source = fact.wall - captured + self.nominal_s, "estimate"
        self.source = source
        self._window.append(value)
        self.readings.append(value)
        return value

    def _block_of(self, tag: int) -> InputFact:
        i = bisect.bisect_right(self._starts, tag) - 1
        return self._inputs[max(i, 0)]

    @property
    def current_ms(self) -> float:
        """Mean of the last `window` readings, ms (0 before the first)."""
        return 1000.0 * sum(self._window) / len(self._window) if self._window else 0.0

    def summary_ms(self, skip_s: float = 1.0, frame_s: float = 0.08) -> dict[str, float]:
        """Median, min and max of the readings after the first `skip_s` (the jitter buffer
        settling), ms."""
        import numpy as np

        r = self.readings[int(skip_s / frame_s) :] or self.readings
        if not r:
            return {"median": 0.0, "min": 0.0, "max": 0.0}
        a = 1000.0 * np.asarray(r)
        return {"median": float(np.median(a)), "min": float(a.min()), "max": float(a.max())}
