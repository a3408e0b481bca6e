"""One comparison: a signal at the codec rate, its codes, and per K its decode and metrics.

The GUI thread, the codec worker and the metrics thread all use one comparison, so it is
safe by construction: what never changes (name, rates, the signal) is set once and the
signal is read-only; everything else (codes, cached decodes, measurements) sits behind one
lock and is handed out as values that are never modified afterwards (read-only arrays,
frozen measurements). Signals are float32 [C, T]; codes are int64 [C, K, F].

Decodes are cached per K with a byte budget (least recently used first out), so a long
file does not keep 32 full decodes in memory; measurements are numbers only, so a sweep
over every K costs no audio memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ..analysis.views import ViewData

CACHE_BYTES = 1_500_000_000

# What a cached decode is keyed by: K for the codec's own decode at K codebooks, or
# (part, K) for one part of it: ("semantic", K), ("acoustic", K), ("residual", K).
Key = int | tuple[str, int]


def decode_key(k: int, part: str = "all") -> Key:
    return k if part == "all" else (part, k)


def frozen(x: np.ndarray) -> np.ndarray:
    """x as a read-only array (a view when x is writable): safe to share between threads."""
    if x.flags.writeable:
        x = x.view()
        x.flags.writeable = False
    return x


@dataclass(frozen=True)
class Measurement:
    """Metrics of the decode at K against the signal: one dict per channel
    (codec.analysis.metrics.channel_metrics), the loudness-match gain in dB, and what part
    of the signal they cover ('' for all of it)."""

    k: int
    channels: tuple[MappingProxyType, ...]
    gain_db: float
    scope: str = ""

    @classmethod
    def of(cls, k: int, channels: list[dict], gain_db: float, scope: str = "") -> Measurement:
        return cls(k, tuple(MappingProxyType(dict(c)) for c in channels), float(gain_db), scope)


@dataclass
class _State:
    """Everything that changes, guarded by Comparison._lock."""

    codes: np.ndarray | None = None
    model: str = ""
    generation: int = 0  # bumped by every set_codes: results for older codes are refused
    decoded: OrderedDict[Key, np.ndarray] = field(default_factory=OrderedDict)
    views: dict[Key, ViewData] = field(default_factory=dict)  # per cached decode
    source_views: ViewData | None = None
    measured: dict[int, Measurement] = field(default_factory=dict)
    peak_dbfs: dict[Key, float] = field(default_factory=dict)
    stream_codes: np.ndarray | None = None
    derived: dict[str, object] = field(default_factory=dict)  # e.g. "tokens": TokenAnalysis


class Comparison:
    """A signal x24 [C, T] at codec_rate Hz, loaded from `path` (source_rate Hz,
    source_samples per channel), with its codes and per-K results."""

    def __init__(
        self,
        name: str,
        x24: np.ndarray,
        codec_rate: int,
        source_rate: int | None = None,
        source_samples: int | None = None,
        path: Path | None = None,
        warnings: list[str] | tuple[str, ...] = (),
        cache_bytes: int = CACHE_BYTES,
    ) -> None:
        x = np.asarray(x24, np.float32)
        if x.ndim != 2 or x.shape[1] == 0:
            raise ValueError(f"a comparison needs a signal [C, T] with T > 0, got {x.shape}")
        self.name = name
        self.x24 = frozen(np.ascontiguousarray(x))
        self.codec_rate = int(codec_rate)
        self.source_rate = int(source_rate or codec_rate)
        self.source_samples = int(source_samples if source_samples is not None else x.shape[1])
        self.path = path
        self.warnings = tuple(warnings)
        self.cache_bytes = int(cache_bytes)
        self._lock = threading.Lock()
        self._s = _State()

    # ---- what never changes ---------------------------------------------------------------
    @property
    def channels(self) -> int:
        return int(self.x24.shape[0])

    @property
    def num_samples(self) -> int:
        return int(self.x24.shape[1])

    @property
    def source_length(self) -> int:
        """Samples per channel at source_rate (what an export at the source rate has)."""
        return self.source_samples

    @property
    def duration(self) -> float:
        return self.num_samples / self.codec_rate

    # ---- codes -------------------------------------------------------------------------------
    def set_codes(self, codes: np.ndarray | None, model: str) -> int:
        """New codes [C, K, F] (or None): everything derived from the old ones is dropped.
        Returns the new generation."""
        with self._lock:
            s = self._s
            s.codes = None if codes is None else frozen(np.asarray(codes, np.int64))
            s.model = model
            s.generation += 1
            s.decoded.clear()
            s.views.clear()
            s.measured.clear()
            s.peak_dbfs.clear()
            s.stream_codes = None
            s.derived.clear()
            return s.generation

    @property
    def codes(self) -> np.ndarray | None:
        with self._lock:
            return self._s.codes

    @property
    def model(self) -> str:
        with self._lock:
            return self._s.model

    @property
    def generation(self) -> int:
        with self._lock:
            return self._s.generation

    @property
    def stream_codes(self) -> np.ndarray | None:
        with self._lock:
            return self._s.stream_codes

    def set_stream_codes(self, codes: np.ndarray, generation: int) -> None:
        with self._lock:
            if generation == self._s.generation:
                self._s.stream_codes = frozen(np.asarray(codes, np.int64))

    def set_derived(self, name: str, value: object, generation: int | None = None) -> bool:
        """Keep an immutable result computed from the codes (dropped with them)."""
        with self._lock:
            if generation is not None and generation != self._s.generation:
                return False
            self._s.derived[name] = value
            return True

    def derived(self, name: str) -> object | None:
        with self._lock:
            return self._s.derived.get(name)

    # ---- decodes -----------------------------------------------------------------------------
    def reconstruction(self, k: Key) -> np.ndarray | None:
        """The cached decode with k codebooks (or a part of it, see Key), [C, T] read-only."""
        with self._lock:
            y = self._s.decoded.get(k)
            if y is not None:
                self._s.decoded.move_to_end(k)
            return y

    def cached_ks(self) -> list[int]:
        """The Ks whose decode (all parts together) is cached."""
        with self._lock:
            return sorted(k for k in self._s.decoded if isinstance(k, int))

    def cached_bytes(self) -> int:
        with self._lock:
            return self._cached_bytes()

    def _cached_bytes(self) -> int:
        s = self._s
        return sum(v.nbytes for v in s.decoded.values()) + sum(v.nbytes for v in s.views.values())

    def views(self, k: Key) -> ViewData | None:
        """What the window draws of the decode at k, once the worker made it (or None)."""
        with self._lock:
            return self._s.views.get(k)

    def set_views(self, k: Key, views: ViewData, generation: int | None = None) -> None:
        """Attach the drawing data of the decode at k (kept and dropped with the decode)."""
        with self._lock:
            if k in self._s.decoded and generation in (None, self._s.generation):
                self._s.views[k] = views

    @property
    def source_views(self) -> ViewData | None:
        with self._lock:
            return self._s.source_views

    def set_source_views(self, views: ViewData) -> None:
        with self._lock:
            self._s.source_views = views

    def store(
        self, k: int, y: np.ndarray, evict: bool = True, generation: int | None = None
    ) -> bool:
        """Cache the decode y [C, T] for k; True if it was kept.

        With evict=False (background work) y is kept only if it fits the budget without
        dropping another decode, so a sweep never pushes out what the user listened to.
        A decode of older codes (`generation` given and stale) is not kept.
        """
        y = frozen(y)
        with self._lock:
            s = self._s
            if generation is not None and generation != s.generation:
                return False
            if (
                not evict
                and k not in s.decoded
                and self._cached_bytes() + y.nbytes > self.cache_bytes
            ):
                return False
            s.decoded[k] = y
            s.decoded.move_to_end(k)
            while len(s.decoded) > 1 and self._cached_bytes() > self.cache_bytes:
                old, _ = s.decoded.popitem(last=False)
                s.views.pop(old, None)
            return True

    # ---- measurements ------------------------------------------------------------------------
    def set_measurement(self, m: Measurement, generation: int | None = None) -> bool:
        with self._lock:
            if generation is not None and generation != self._s.generation:
                return False
            self._s.measured[m.k] = m
            return True

    def measurement(self, k: int) -> Measurement | None:
        with self._lock:
            return self._s.measured.get(k)

    def measurements(self) -> dict[int, Measurement]:
        """A copy: {k: Measurement} of every K measured so far."""
        with self._lock:
            return dict(sorted(self._s.measured.items()))

    def set_peak(self, k: Key, dbfs: float, generation: int | None = None) -> None:
        """Sample peak (dBFS, all channels) of the whole decode at k; the loudness-match
        limiter needs the whole signal's peak, and metrics of a long file see excerpts."""
        with self._lock:
            if generation is None or generation == self._s.generation:
                self._s.peak_dbfs[k] = float(dbfs)

    def peak(self, k: Key) -> float | None:
        with self._lock:
            return self._s.peak_dbfs.get(k)
