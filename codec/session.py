"""One comparison: a source signal, its codes, and its reconstructions per codebook count.

Pure data (numpy), shared by the GUI and the CLI. Signals are float32 [C, T]; codes are
int64 [C, K, F]. Reconstructions are cached per K with a byte budget (least recently used
ones are dropped first), so a long file does not keep 32 full decodes in memory. Quality
metrics per K are kept as numbers only, so a sweep over every K costs no audio memory.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CACHE_BYTES = 1_500_000_000

# The codebook counts the quality-versus-K sweep measures: dense where quality changes
# fastest (few codebooks), sparse above; 8 is Moshi's setting. Ten decodes instead of 32.
SWEEP_KS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)


def sweep_ks(num_codebooks: int) -> list[int]:
    """SWEEP_KS limited to a codec with `num_codebooks` codebooks (its maximum included)."""
    ks = [k for k in SWEEP_KS if k <= num_codebooks]
    if num_codebooks not in ks:
        ks.append(num_codebooks)
    return ks


@dataclass
class Comparison:
    name: str
    # [C, T] at source_rate (what the user loaded); None when it is not held (long files
    # are read straight to the codec rate), then `source_samples` gives T
    source: np.ndarray | None
    source_rate: int
    x24: np.ndarray  # [C, T24] at the codec rate: what is coded, played and compared
    codec_rate: int = 24_000
    path: Path | None = None
    warnings: list[str] = field(default_factory=list)
    codes: np.ndarray | None = None  # [C, K, F]
    model: str = ""
    # codec.metrics.compare(x24, decode at K) per K: one dict per channel
    metrics: dict[int, list[dict]] = field(default_factory=dict)
    # codec.metrics.loudness_match_gain_db(x24, decode at K) per K, dB
    match_gain_db: dict[int, float] = field(default_factory=dict)
    # sample peak (dBFS, all channels) of the whole decode per K, set when it is decoded: the
    # loudness-match limiter needs the whole signal's peak, and metrics of a long file only
    # see excerpts
    peak_dbfs: dict[int, float] = field(default_factory=dict)
    stream_codes: np.ndarray | None = None  # [C, K, F] from the streaming encoder
    source_samples: int = 0  # T at source_rate when `source` is None
    cache_bytes: int = CACHE_BYTES  # budget for cached decodes
    metrics_note: str = ""  # how metrics were measured when not on the whole signal
    _decoded: OrderedDict[int, np.ndarray] = field(default_factory=OrderedDict)

    @property
    def channels(self) -> int:
        return int(self.x24.shape[0])

    @property
    def num_samples(self) -> int:
        return int(self.x24.shape[1])

    @property
    def source_length(self) -> int:
        """Samples per channel at source_rate (what an export at the source rate has)."""
        return int(self.source.shape[1]) if self.source is not None else self.source_samples

    @property
    def duration(self) -> float:
        return self.num_samples / self.codec_rate

    def set_codes(self, codes: np.ndarray, model: str) -> None:
        """New codes (or None): everything derived from the old ones is dropped."""
        self.codes = codes
        self.model = model
        self._decoded.clear()
        self.metrics.clear()
        self.match_gain_db.clear()
        self.peak_dbfs.clear()
        self.stream_codes = None

    def reconstruction(self, k: int) -> np.ndarray | None:
        """The cached decode with k codebooks, [C, T24], or None."""
        y = self._decoded.get(k)
        if y is not None:
            self._decoded.move_to_end(k)
        return y

    def cached_ks(self) -> list[int]:
        return sorted(self._decoded)

    def cached_bytes(self) -> int:
        return sum(v.nbytes for v in self._decoded.values())

    def store(self, k: int, y: np.ndarray, evict: bool = True) -> bool:
        """Cache the decode y [C, T24] for k; True if it was kept.

        With evict=False (background work) y is kept only if it fits the budget without
        dropping another decode, so a sweep never pushes out what the user listened to.
        """
        if (
            not evict
            and k not in self._decoded
            and self.cached_bytes() + y.nbytes > self.cache_bytes
        ):
            return False
        self._decoded[k] = y
        self._decoded.move_to_end(k)
        while len(self._decoded) > 1 and self.cached_bytes() > self.cache_bytes:
            self._decoded.popitem(last=False)
        return True
