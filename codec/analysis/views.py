"""What the window draws of one signal, computed once off the GUI thread: a min/max
pyramid per channel for the waveform and a spectrogram per channel (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .content import looks_like_speech
from .dsp import spectrogram_db
from .levels import PeakPyramid


@dataclass(frozen=True, eq=False)
class ViewData:
    """envelopes: one PeakPyramid per channel; spectrograms: one [F, cols] dB image per
    channel, `seconds_per_column` apart."""

    envelopes: tuple[PeakPyramid, ...]
    spectrograms: tuple[np.ndarray, ...]
    seconds_per_column: float
    speech: bool = False  # codec.analysis.content.looks_like_speech

    @property
    def nbytes(self) -> int:
        pyr = sum(lo.nbytes + hi.nbytes for p in self.envelopes for _, lo, hi in p.levels)
        return pyr + sum(s.nbytes for s in self.spectrograms)


def view_data(x: np.ndarray, rate: int, judge_content: bool = False) -> ViewData:
    """x [C, T] float32 at `rate` Hz -> its ViewData (0.3 s per channel-hour of pyramid);
    with judge_content, also whether it looks like speech."""
    envelopes = tuple(PeakPyramid(np.asarray(ch, np.float32)) for ch in x)
    specs = [spectrogram_db(ch, rate) for ch in x]
    for s, _ in specs:
        s.flags.writeable = False
    speech = judge_content and looks_like_speech(x, rate)
    return ViewData(envelopes, tuple(s for s, _ in specs), specs[0][1] if specs else 0.0, speech)
