"""One comparison: a source signal, its codes, and its reconstructions per codebook count.

Pure data (numpy), shared by the GUI and the CLI. Signals are float32 [C, T]; codes are
int64 [C, K, F]. Reconstructions are cached per K with a byte budget (least recently used
ones are dropped first), so a long file does not keep 32 full decodes in memory.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CACHE_BYTES = 1_500_000_000


@dataclass
class Comparison:
    name: str
    source: np.ndarray  # [C, T] at source_rate (what the user loaded)
    source_rate: int
    x24: np.ndarray  # [C, T24] at the codec rate: what is coded, played and compared
    codec_rate: int = 24_000
    path: Path | None = None
    warnings: list[str] = field(default_factory=list)
    codes: np.ndarray | None = None  # [C, K, F]
    model: str = ""
    _decoded: OrderedDict[int, np.ndarray] = field(default_factory=OrderedDict)

    @property
    def channels(self) -> int:
        return int(self.x24.shape[0])

    @property
    def num_samples(self) -> int:
        return int(self.x24.shape[1])

    @property
    def duration(self) -> float:
        return self.num_samples / self.codec_rate

    def set_codes(self, codes: np.ndarray, model: str) -> None:
        self.codes = codes
        self.model = model
        self._decoded.clear()

    def reconstruction(self, k: int) -> np.ndarray | None:
        """The cached decode with k codebooks, [C, T24], or None."""
        y = self._decoded.get(k)
        if y is not None:
            self._decoded.move_to_end(k)
        return y

    def cached_ks(self) -> list[int]:
        return sorted(self._decoded)

    def store(self, k: int, y: np.ndarray) -> None:
        self._decoded[k] = y
        self._decoded.move_to_end(k)
        while (
            len(self._decoded) > 1 and sum(v.nbytes for v in self._decoded.values()) > CACHE_BYTES
        ):
            self._decoded.popitem(last=False)
