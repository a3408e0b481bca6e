"""Token statistics per codebook: usage, entropy, ideal bitrate, change rate (numpy; no Qt).

A codebook with N entries costs log2(N) bits per frame when its tokens are sent as-is (the
nominal bitrate, 137.5 bit/s for N = 2048 at 12.5 frames/s). The empirical entropy of the
tokens actually used is what an ideal entropy coder would need for this clip (a zeroth-order
estimate: it ignores context, so a real context model can do better still).
"""

from __future__ import annotations

import math

import numpy as np

TOKEN_STAT_KEYS = (
    "codebook",
    "used_share",
    "entropy_bits",
    "ideal_bitrate",
    "nominal_bitrate",
    "change_rate",
)


def token_stats(codes: np.ndarray, codebook_size: int, frame_rate: float) -> list[dict]:
    """Per-codebook statistics of codes [K, F] (ints in 0..codebook_size-1).

    One dict per codebook k (TOKEN_STAT_KEYS): codebook (index k), used_share (distinct
    tokens / codebook_size), entropy_bits (bits per token, from the token histogram),
    ideal_bitrate (entropy_bits x frame_rate, bit/s), nominal_bitrate (log2(codebook_size) x
    frame_rate, bit/s), change_rate (share of frame-to-frame transitions where the token
    changes; NaN with fewer than 2 frames).
    """
    c = np.asarray(codes)
    if c.ndim != 2:
        raise ValueError(f"codes must be [codebooks, frames], got shape {c.shape}")
    if codebook_size < 1:
        raise ValueError("codebook_size must be >= 1")
    c = c.astype(np.int64, copy=False)
    if c.size and (c.min() < 0 or c.max() >= codebook_size):
        raise ValueError(f"codes must lie in 0..{codebook_size - 1}")
    nominal = math.log2(codebook_size) * frame_rate
    out = []
    for k, row in enumerate(c):
        counts = np.bincount(row, minlength=codebook_size)
        used = int(np.count_nonzero(counts))
        if row.size:
            p = counts[counts > 0] / row.size
            entropy = float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0
        else:
            entropy = 0.0
        change = float(np.mean(row[1:] != row[:-1])) if row.size >= 2 else float("nan")
        out.append(
            {
                "codebook": k,
                "used_share": used / codebook_size,
                "entropy_bits": entropy,
                "ideal_bitrate": entropy * frame_rate,
                "nominal_bitrate": nominal,
                "change_rate": change,
            }
        )
    return out
