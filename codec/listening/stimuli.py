"""The stimuli of a listening test: one excerpt of a comparison in every condition.

Signals are float32 [C, n] at the codec rate (the comparison's `codec_rate`), all of one
length. What a listener hears is `Stimuli.played(name)`: the signal times its gain, the
same short fade at both ends for every stimulus (a cut mid-word would click, and a click
heard in one stimulus only would give it away).

Anchors (BS.1534-3): the reference low-passed at 3.5 kHz (the low anchor) and at 7 kHz (the
mid anchor), with a linear-phase Kaiser-window FIR whose stop band starts at the cut-off
(ANCHOR_FILTER): energy above the cut-off is at least `attenuation_db` down (tested at
40 dB). Zero phase: the anchor is not delayed against the reference.

Codec conditions are decoded from the comparison's codes over the excerpt's frames only,
starting `WARMUP_S` earlier with a fresh decoder (codec.analysis.excerpts explains why
that matches the full decode); a decode already cached in the comparison is used as it is.

Loudness matching: every stimulus is brought to the reference's integrated loudness
(BS.1770), then all of them share one further cut where needed so that no stimulus peaks
above MATCH_CEILING_DBFS. They stay equally loud and nothing clips.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..analysis.excerpts import WARMUP_S
from ..analysis.metrics import integrated_loudness, peak_dbfs
from ..errors import check_cancelled
from ..session import operations as ops
from ..session.comparison import Comparison
from .conditions import REFERENCE, Condition, parse_condition

CancelCheck = Callable[[], bool]

MAX_EXCERPT_S = 12.0  # BS.1534-3: stimuli of about 10-12 s at most
MIN_EXCERPT_S = 0.5
FADE_S = 0.01  # raised-cosine fade in and out of every stimulus
MATCH_CEILING_DBFS = -0.1  # the loudest stimulus peak after matching
# Anchor low-pass: the pass band ends `transition_hz` below the cut-off, the stop band
# starts at the cut-off with `attenuation_db` of attenuation (Kaiser window design).
ANCHOR_FILTER = {"transition_hz": 200.0, "attenuation_db": 90.0}


# ---- excerpts -----------------------------------------------------------------------------
def excerpt_range(
    num_samples: int, rate: int, start_s: float, end_s: float, max_s: float = MAX_EXCERPT_S
) -> tuple[int, int]:
    """[s0, s1) in samples of a selection (seconds), clipped to the signal and to max_s
    (the first max_s of a longer selection). ValueError when under MIN_EXCERPT_S."""
    start = min(max(float(start_s), 0.0), num_samples / rate)
    end = min(max(float(end_s), start), num_samples / rate, start + max_s)
    if end - start < MIN_EXCERPT_S - 1e-9:
        raise ValueError(
            f"an excerpt must last at least {MIN_EXCERPT_S} s (this one: {end - start:.2f} s)"
        )
    s0 = round(start * rate)
    return s0, min(num_samples, s0 + round((end - start) * rate))


def fade(x: np.ndarray, rate: int, seconds: float = FADE_S) -> np.ndarray:
    """x [C, n] with a raised-cosine fade in and out of `seconds` (a new array)."""
    y = np.array(x, np.float32, copy=True)
    n = min(round(seconds * rate), y.shape[1] // 2)
    if n > 0:
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)
        y[:, :n] *= ramp
        y[:, -n:] *= ramp[::-1]
    return y


# ---- anchors ------------------------------------------------------------------------------
def lowpass_taps(rate: int, cutoff_hz: float) -> np.ndarray:
    """Linear-phase FIR taps (odd count) with the stop band from cutoff_hz (ANCHOR_FILTER)."""
    from scipy.signal import firwin, kaiserord

    tw, atten = ANCHOR_FILTER["transition_hz"], ANCHOR_FILTER["attenuation_db"]
    numtaps, beta = kaiserord(atten, tw / (rate / 2))
    numtaps |= 1  # odd: a whole-sample delay, undone exactly
    return firwin(numtaps, cutoff_hz - tw / 2, window=("kaiser", beta), fs=rate)


def lowpass(x: np.ndarray, rate: int, cutoff_hz: float) -> np.ndarray:
    """x [C, T] low-passed at cutoff_hz (zero phase, same length), float32."""
    from scipy.signal import fftconvolve

    a = np.asarray(x, np.float32)
    if cutoff_hz >= rate / 2:
        return a.copy()
    taps = lowpass_taps(rate, cutoff_hz)
    return fftconvolve(a, taps[None, :], mode="same", axes=1).astype(np.float32)


def _anchor(comparison: Comparison, c: Condition, s0: int, s1: int) -> np.ndarray:
    rate = comparison.codec_rate
    pad = len(lowpass_taps(rate, c.cutoff_hz))  # the excerpt's edges see real context
    a0, a1 = max(0, s0 - pad), min(comparison.num_samples, s1 + pad)
    y = lowpass(comparison.x24[:, a0:a1], rate, c.cutoff_hz)
    return y[:, s0 - a0 : s1 - a0]


# ---- codec conditions ---------------------------------------------------------------------
def _cached(comparison: Comparison, k: int, part: str) -> np.ndarray | None:
    try:
        from ..session.comparison import decode_key
    except ImportError:  # a comparison keyed by K alone caches only the full decode
        return comparison.reconstruction(k) if part == "all" else None
    return comparison.reconstruction(decode_key(k, part))


def _decode(
    codec, comparison: Comparison, c: Condition, s0: int, s1: int, cancel: CancelCheck | None
) -> np.ndarray:
    full = _cached(comparison, c.k, c.part)
    if full is not None:
        return np.array(full[:, s0:s1], np.float32)
    codes = comparison.codes
    if codes is None:
        raise ValueError(f"{comparison.name} is not encoded yet")
    if c.k > codes.shape[1]:
        raise ValueError(f"{c.name}: {comparison.name} has only {codes.shape[1]} codebooks")
    fs = codec.frame_size
    f0, f1 = s0 // fs, math.ceil(s1 / fs)
    w0 = max(0, f0 - round(WARMUP_S * codec.frame_rate))
    prefix = np.ascontiguousarray(codes[:, : c.k, w0:f1])
    if c.part == "all":
        y = ops.decode_signal(codec, prefix, cancel=cancel)
    else:
        y = decode_part(codec, prefix, c.part, cancel)
    return np.array(y[:, s0 - w0 * fs : s1 - w0 * fs], np.float32)


def decode_part(codec, codes: np.ndarray, part: str, cancel: CancelCheck | None) -> np.ndarray:
    """The hook for conditions that decode one group of the split quantizer alone:
    codes [C, K, F] -> [C, F * frame_size]. ValueError where the operations cannot."""
    from .conditions import part_decoding_available

    if not part_decoding_available():
        raise ValueError(f"this version cannot decode the {part} part alone")
    return ops.decode_signal(codec, codes, cancel=cancel, part=part)


def render(
    codec,
    comparison: Comparison,
    condition: str | Condition,
    s0: int,
    s1: int,
    cancel: CancelCheck | None = None,
) -> np.ndarray:
    """The excerpt [s0, s1) of the comparison in one condition: [C, s1 - s0] float32,
    before loudness matching and fades. `codec` may be None for conditions without codes."""
    c = condition if isinstance(condition, Condition) else parse_condition(condition)
    if c.kind == "reference":
        return np.array(comparison.x24[:, s0:s1], np.float32)
    if c.kind == "anchor":
        return _anchor(comparison, c, s0, s1)
    if codec is None:
        raise ValueError(f"{c.name} needs the codec")
    return _decode(codec, comparison, c, s0, s1, cancel)


# ---- loudness -------------------------------------------------------------------------------
def loudness_gains(
    signals: dict[str, np.ndarray],
    rate: int,
    target_lufs: float,
    ceiling_dbfs: float = MATCH_CEILING_DBFS,
) -> dict[str, float]:
    """Gains (dB) bringing each signal [C, n] to target_lufs, then lowered together so the
    loudest peak stays at or below ceiling_dbfs. A silent signal gets only the shared cut."""
    floor = -70.0
    match = {}
    for name, y in signals.items():
        lufs = integrated_loudness(y, rate)
        match[name] = 0.0 if lufs <= floor or target_lufs <= floor else target_lufs - lufs
    over = max(peak_dbfs(y) + match[n] for n, y in signals.items()) - ceiling_dbfs
    shift = max(0.0, over)
    return {n: g - shift for n, g in match.items()}


# ---- a whole set ----------------------------------------------------------------------------
@dataclass
class Stimuli:
    """One item of a test: `signals[name]` [C, n] float32 at `rate` for each condition
    (before gains and fades), `gains_db[name]` (0 without loudness matching), and where
    the excerpt comes from (`source` file, `start_s`, `end_s`)."""

    item: str
    rate: int
    signals: dict[str, np.ndarray]
    gains_db: dict[str, float]
    source: str = ""
    start_s: float = 0.0
    end_s: float = 0.0
    objective: dict[str, dict] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.signals)

    @property
    def num_samples(self) -> int:
        return next(iter(self.signals.values())).shape[1]

    @property
    def channels(self) -> int:
        return next(iter(self.signals.values())).shape[0]

    def played(self, name: str) -> np.ndarray:
        """[C, n] float32: what a listener hears for `name` (gain and fades applied)."""
        g = 10 ** (self.gains_db.get(name, 0.0) / 20)
        return fade(self.signals[name] * np.float32(g), self.rate)

    def meta(self) -> dict:
        """What a session file keeps of this item besides the audio."""
        return {
            "item": self.item,
            "rate": self.rate,
            "conditions": self.names,
            "gains_db": dict(self.gains_db),
            "source": self.source,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "num_samples": self.num_samples,
            "channels": self.channels,
        }


def build(
    codec,
    comparison: Comparison,
    item: str,
    start_s: float,
    end_s: float,
    names: list[str],
    match_loudness: bool = True,
    cancel: CancelCheck | None = None,
    max_s: float = MAX_EXCERPT_S,
) -> Stimuli:
    """Every condition in `names` for the excerpt [start_s, end_s) of the comparison."""
    rate = comparison.codec_rate
    s0, s1 = excerpt_range(comparison.num_samples, rate, start_s, end_s, max_s)
    signals = {}
    for n in names:
        check_cancelled(cancel, "building the stimuli")
        signals[n] = render(codec, comparison, n, s0, s1, cancel)
    if match_loudness:
        ref = signals.get(REFERENCE)
        if ref is None:
            ref = render(codec, comparison, REFERENCE, s0, s1)
        gains = loudness_gains(signals, rate, integrated_loudness(ref, rate))
    else:
        gains = {n: 0.0 for n in names}
    source = str(comparison.path) if comparison.path is not None else comparison.name
    return Stimuli(item, rate, signals, gains, source, s0 / rate, s1 / rate)
