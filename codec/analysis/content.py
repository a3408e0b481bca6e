"""A rough guess at what a signal holds: speech, or something else (music, noise).

Used only to choose which metric a chart opens on (STOI is meant for speech). Speech has
a syllable rhythm: its short-time energy rises and falls 2-8 times a second, it pauses
(frames 20 dB and more below the loud ones), and most of its energy lies between 100 Hz
and 4 kHz. Music and noise mostly do not. The guess looks at all three on a downmix.
"""

from __future__ import annotations

import numpy as np

HOP_S = 0.01  # energy envelope at 100 Hz
SYLLABLE_HZ = (2.0, 8.0)


def _envelope(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(mono downmix [T], log10 energy per 10 ms frame [n])."""
    mono = np.asarray(x, np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=0)
    hop = max(1, int(HOP_S * rate))
    n = len(mono) // hop
    frames = mono[: n * hop].reshape(n, hop).astype(np.float64)
    return mono, np.log10(np.mean(frames**2, axis=1) + 1e-10)


def pause_share(x: np.ndarray, rate: int) -> float:
    """Share of 10 ms frames at least 20 dB below the loud ones (the 90th percentile)."""
    _, energy = _envelope(x, rate)
    if len(energy) == 0:
        return 0.0
    return float(np.mean(energy < np.percentile(energy, 90) - 2.0))


def speech_score(x: np.ndarray, rate: int) -> float:
    """0..1: share of the energy envelope's modulation power at syllable rates (2-8 Hz),
    times the share of the signal's power between 100 Hz and 4 kHz. x [C, T] or [T]."""
    mono, energy = _envelope(x, rate)
    n = len(energy)
    if n < 200:  # under 2 s: no rhythm to judge
        return 0.0
    env = energy - energy.mean()
    spec = np.abs(np.fft.rfft(env * np.hanning(n))) ** 2
    freqs = np.fft.rfftfreq(n, HOP_S)
    band = (freqs >= SYLLABLE_HZ[0]) & (freqs <= SYLLABLE_HZ[1])
    wide = (freqs >= 0.5) & (freqs <= 30.0)
    rhythm = float(spec[band].sum() / max(spec[wide].sum(), 1e-20))
    step = max(1, len(mono) // (1 << 20))  # a long file: every n-th sample is enough here
    sub = mono[::step][: 1 << 20]
    p = np.abs(np.fft.rfft(sub * np.hanning(len(sub)))) ** 2
    f = np.fft.rfftfreq(len(sub), step / rate)
    voice = float(p[(f >= 100) & (f <= 4000)].sum() / max(p.sum(), 1e-20))
    return rhythm * voice


def looks_like_speech(x: np.ndarray, rate: int) -> bool:
    """True for signals with speech's rhythm, pauses and band (a guess, not a detector)."""
    return pause_share(x, rate) >= 0.08 and speech_score(x, rate) >= 0.15
