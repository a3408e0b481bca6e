"""What "long" means, as a policy rather than a second code path.

Every length goes through the same reader, runners and operations. Past `long_s` seconds
two things change: the metrics are measured on evenly spaced excerpts (codec.analysis.
excerpts) instead of the whole signal, and fewer decodes are cached beside the signal. The
sweep's codebook counts are here too, so the GUI, the CLI and the report agree on them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis import excerpts

# The codebook counts the quality-versus-K sweep measures: dense where quality changes
# fastest (few codebooks), sparse above; 8 is Moshi's setting. Ten decodes instead of 32.
SWEEP_KS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
REPORT_KS = (1, 2, 4, 8, 16, 32)  # what `report` decodes when not told


def sweep_ks(num_codebooks: int) -> list[int]:
    """SWEEP_KS limited to a codec with `num_codebooks` codebooks (its maximum included)."""
    ks = [k for k in SWEEP_KS if k <= num_codebooks]
    if num_codebooks not in ks:
        ks.append(num_codebooks)
    return ks


def report_ks(ks: list[int] | tuple[int, ...] | None, num_codebooks: int) -> list[int]:
    """Sorted distinct Ks; the default is REPORT_KS within 1..num_codebooks plus the max."""
    if not ks:
        return sorted({k for k in REPORT_KS if k <= num_codebooks} | {num_codebooks})
    bad = [k for k in ks if not 1 <= k <= num_codebooks]
    if bad:
        raise ValueError(f"codebooks must be 1..{num_codebooks} for this model, got {bad[0]}")
    return sorted(set(ks))


@dataclass(frozen=True)
class LongFilePolicy:
    """How long signals are measured and cached (seconds and bytes)."""

    long_s: float = 600.0  # longer than this is "long"
    excerpt_count: int = excerpts.COUNT
    excerpt_s: float = excerpts.SECONDS
    warmup_s: float = excerpts.WARMUP_S
    cache_bytes: int = 1_500_000_000  # cached decodes of a short signal
    # audio held for a long signal (the signal + cached decodes): past this, only the
    # decode at the current K is kept; two hours of mono then hold about 1.4 GB
    long_audio_bytes: int = 1_500_000_000

    def is_long(self, num_samples: int, rate: int) -> bool:
        return num_samples > self.long_s * rate

    def cache_budget(self, signal_bytes: int, num_samples: int, rate: int) -> int:
        """Bytes of decodes a comparison may cache beside its signal."""
        if not self.is_long(num_samples, rate):
            return self.cache_bytes
        return min(self.cache_bytes, max(self.long_audio_bytes - signal_bytes, 0))

    def metric_ranges(
        self, num_frames: int, frame_rate: float, num_samples: int, rate: int
    ) -> list[tuple[int, int]]:
        """Frame ranges the metrics cover: the whole signal, or the excerpts of a long one."""
        if not self.is_long(num_samples, rate):
            return [(0, num_frames)]
        return excerpts.excerpt_frames(num_frames, frame_rate, self.excerpt_count, self.excerpt_s)

    def stream_check_frames(
        self, num_frames: int, frame_rate: float, num_samples: int, rate: int
    ) -> int:
        """Frames the streaming check codes: all, or the first `long_s` seconds of a long
        signal (streaming from the start must equal batch from the start, and the whole
        would take as long as playing it)."""
        if not self.is_long(num_samples, rate):
            return num_frames
        return max(1, min(num_frames, int(self.long_s * frame_rate)))


DEFAULT_POLICY = LongFilePolicy()
