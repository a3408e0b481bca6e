"""A streaming rational resampler for the live loop: even output, about 1 ms of delay.

soxr's streaming resampler holds back up to 35 ms ("HQ", 48 -> 24 kHz) and hands out
uneven chunks (1660 or 2490 samples per 80 ms frame), which the live loop would pay for in
latency twice. This one is a plain polyphase FIR (upsample by L, a Kaiser-windowed sinc,
downsample by M) whose output is aligned with its input: output sample j is the signal
at input time j * M / L, exactly as a zero-delay resampler of the whole signal would give.
To know that, it waits for half the filter, `delay_s` (1 ms at the default length), and
every call returns precisely the output samples that are complete: feeding 80 ms always
yields 80 ms, give or take one sample.
"""

from __future__ import annotations

from math import gcd

import numpy as np
from scipy import signal

TAPS_PER_PHASE = 48  # filter length per output sample; 1 ms of delay at 48 and 24 kHz


class LiveResampler:
    def __init__(self, rate_in: int, rate_out: int, taps: int = TAPS_PER_PHASE) -> None:
        g = gcd(int(rate_in), int(rate_out))
        self.up, self.down = int(rate_out) // g, int(rate_in) // g
        self.rate_in, self.rate_out = int(rate_in), int(rate_out)
        big = max(self.up, self.down)
        n = taps * big + 1  # odd: the group delay is a whole number of samples
        # cut just below the lower Nyquist frequency (in cycles per upsampled sample)
        h = signal.firwin(n, 0.92 / big, window=("kaiser", 8.0), scale=True) * self.up
        self.delay = (n - 1) // 2  # in upsampled samples
        t = -(-n // self.up)  # taps per phase
        hp = np.zeros(t * self.up)
        hp[:n] = h
        # phase p holds h[p], h[p + L], h[p + 2L]...: the weights of x[m], x[m-1], ...
        self._phases = hp.reshape(t, self.up).T.astype(np.float64)
        self._t = t
        self._history = np.zeros(t, np.float64)  # the last t inputs before the next call
        self._seen = 0  # inputs consumed so far
        self._made = 0  # outputs produced so far

    @property
    def delay_s(self) -> float:
        """How long the output waits for the input (half the filter), seconds."""
        return self.delay / (self.up * self.rate_in)

    def process(self, x: np.ndarray) -> np.ndarray:
        """x [n] float32 at rate_in -> the complete output samples [m] float32 at rate_out."""
        x = np.asarray(x, dtype=np.float64).ravel()
        buf = np.concatenate([self._history, x])  # buf[i] is input sample base + i
        base = self._seen - self._t
        self._seen += len(x)
        # output j needs inputs up to (j*M + delay) // L: those are here for j <= last
        last = (self.up * self._seen - 1 - self.delay) // self.down
        j = np.arange(self._made, last + 1)
        self._made = max(self._made, last + 1)
        if len(x) >= self._t:
            self._history = x[-self._t :].copy()
        else:
            self._history = buf[-self._t :].copy()
        if len(j) == 0:
            return np.zeros(0, np.float32)
        pos = j * self.down + self.delay  # in the upsampled signal
        m0, phase = pos // self.up, pos % self.up
        idx = (m0 - base)[:, None] - np.arange(self._t)[None, :]
        taps = self._phases[phase]
        valid = idx >= 0  # inputs before the first are silence
        vals = np.where(valid, buf[np.clip(idx, 0, None)], 0.0)
        return np.einsum("jt,jt->j", vals, taps).astype(np.float32)
