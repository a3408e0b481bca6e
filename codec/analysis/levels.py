"""Levels of detail for long signals and code maps (numpy only, no Qt).

A 2-hour file is 172.8 M samples per channel at 24 kHz and 90,000 x 32 codes. Drawing all of
it on every zoom step would stall the window, and the screen has only a few thousand pixel
columns anyway. So each view asks, for its visible range, for at most a few thousand
points or columns:

- `PeakPyramid`: min/max envelopes of a signal at block sizes 64, 256, 1024, ... samples,
  built once (one pass over the signal); a view gets raw samples when zoomed in far enough,
  otherwise the interleaved min/max of the finest level that fits (peak downsampling, so a
  single click stays visible at any zoom).
- `code_columns`: every n-th frame of a [K, F] code map (n a power of two), so columns
  show real token ids (averaging categorical ids would invent tokens); n = 1 when zoomed in.
"""

from __future__ import annotations

import math

import numpy as np

MAX_POINTS = 4096  # min/max pairs per visible range (about 2 per pixel on a 2k screen)
RAW_MAX = 8192  # visible samples drawn as they are, below this
MAX_COLUMNS = 4096  # code-map columns drawn per visible range


class PeakPyramid:
    """Min/max envelopes of one signal y [T] (float32) at block sizes base * factor**i.

    Memory: about 2 * 4 * T / base * (1 + 1/factor + ...) bytes, 2.7 % of the signal for
    base 64: 14 MB for 2 hours at 24 kHz.
    """

    def __init__(self, y: np.ndarray, base: int = 64, factor: int = 4) -> None:
        self.y = y
        self.levels: list[tuple[int, np.ndarray, np.ndarray]] = []  # (block, mins, maxs)
        if len(y) <= RAW_MAX:
            return
        block = base
        lo = np.minimum.reduceat(y, np.arange(0, len(y), block))
        hi = np.maximum.reduceat(y, np.arange(0, len(y), block))
        while True:
            self.levels.append((block, lo, hi))
            if len(lo) <= MAX_POINTS:
                break
            idx = np.arange(0, len(lo), factor)
            lo, hi = np.minimum.reduceat(lo, idx), np.maximum.reduceat(hi, idx)
            block *= factor

    def view(self, i0: int, i1: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Points for samples [i0, i1): (sample positions float64, values float32, block).

        block = 1: raw samples. Otherwise two points per block (its min then its max), at
        the block's first sample, at most 2 * MAX_POINTS of them (plus the edge blocks).
        """
        n = len(self.y)
        i0, i1 = max(0, min(i0, n)), max(0, min(i1, n))
        if i1 - i0 <= RAW_MAX or not self.levels:
            return np.arange(i0, i1, dtype=np.float64), self.y[i0:i1], 1
        need = (i1 - i0) / MAX_POINTS
        block, lo, hi = next(
            (lv for lv in self.levels if lv[0] >= need), self.levels[-1]
        )  # the finest level with at most MAX_POINTS blocks in view
        b0, b1 = i0 // block, math.ceil(i1 / block)
        x = np.repeat(np.arange(b0, b1, dtype=np.float64) * block, 2)
        y = np.empty(2 * (b1 - b0), np.float32)
        y[0::2], y[1::2] = lo[b0:b1], hi[b0:b1]
        return x, y, block


def envelopes(x: np.ndarray) -> list[PeakPyramid]:
    """One PeakPyramid per channel of x [C, T] (float32). The codec worker builds them, off
    the GUI thread: 0.3 s per channel for two hours at 24 kHz (measured, 2-core CPU)."""
    return [PeakPyramid(np.asarray(ch, np.float32)) for ch in x]


def code_columns(
    codes: np.ndarray, f0: float, f1: float, max_columns: int = MAX_COLUMNS
) -> tuple[np.ndarray, int, int]:
    """Columns to draw for frames [f0, f1) of codes [K, F]: (image [K, n], first, step).

    step is the smallest power of two keeping n <= max_columns over the range padded by
    half its width on each side (so a small pan still finds drawn columns); column j shows
    frame first + j * step exactly. The whole map is returned when it fits at step 1.
    """
    total = codes.shape[1]
    if total <= max_columns:
        return codes, 0, 1
    span = max(f1 - f0, 1.0)
    lo, hi = max(0.0, f0 - span / 2), min(float(total), f1 + span / 2)
    step = 1 << max(0, math.ceil(math.log2(max(hi - lo, 1.0) / max_columns)))
    first = int(lo) // step * step
    last = min(total, math.ceil(hi / step) * step)
    return codes[:, first:last:step], first, step
