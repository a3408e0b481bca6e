"""Quality metrics between an original and a reconstruction (numpy/torch; no Qt).

Signals are float32/float64 [T] (one channel) at `sr` Hz; every metric trims the pair to
the shorter length first. Multi-channel signals are [C, T] and are measured per channel
(`compare`). The parameters of each metric are defined once, here (MEL, MRSTFT, LOUDNESS,
STOI_MIN_SECONDS, ALIGN_MAX_LAG_S).

Undefined values are NaN, never an exception: STOI of a clip too short for pystoi or of a
silent reference; SI-SDR of an empty pair; PESQ where the ITU code refuses the pair (`pesq_wb`
says why). Identical signals give SI-SDR = +inf.
Levels of silence use documented floors (LOUDNESS) so differences stay finite.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .token_stats import token_stats

__all__ = [
    "ALIGN_MAX_LAG_S",
    "CHANNEL_METRIC_KEYS",
    "LOUDNESS",
    "MEL",
    "MRSTFT",
    "PESQ",
    "STOI_MIN_SECONDS",
    "PesqScore",
    "best_lag",
    "channel_metrics",
    "compare",
    "crest_factor_db",
    "integrated_loudness",
    "log_mel",
    "loudness_match_gain_db",
    "mel_distance",
    "mrstft_distance",
    "peak_dbfs",
    "pesq_wb",
    "quality",
    "si_sdr",
    "si_sdr_aligned",
    "stoi",
    "token_stats",
]

MEL = {"n_fft": 1024, "hop": 256, "n_mels": 80}  # log-mel distance parameters
# Multi-resolution STFT distance (Yamamoto et al., Parallel WaveGAN): per resolution
# (n_fft, hop), spectral convergence + mean |log10 magnitude difference|, averaged.
MRSTFT = {"resolutions": ((512, 128), (1024, 256), (2048, 512)), "eps": 1e-5}
# BS.1770 loudness via pyloudnorm. Clips shorter than one gating block are measured as a
# single block spanning the whole clip (the block's mean square is the same estimator,
# just over less time). Silence (no block above BS.1770's -70 LUFS absolute gate) reads
# `floor_lufs`; a zero peak reads `floor_dbfs`; the crest factor of silence is 0 dB.
LOUDNESS = {"block_s": 0.4, "floor_lufs": -70.0, "floor_dbfs": -120.0}
STOI_MIN_SECONDS = 0.4  # pystoi needs 30 frames of 25.6 ms at 10 kHz (hop 12.8 ms)
ALIGN_MAX_LAG_S = 0.1  # channel_metrics searches delays up to +-100 ms
# PESQ (ITU-T P.862.2, wideband) through the `pesq` package, which wraps the ITU reference
# code: defined for speech at 16 kHz only, so both signals are resampled to `rate` first.
# It needs at least `min_seconds` of audio (the reference code's own limit).
PESQ = {
    "rate": 16_000,
    "mode": "wb",
    "min_seconds": 0.25,
    # longer pairs are scored in pieces of at most this long and the scores averaged: the
    # ITU code's utterance tables have a fixed size (50), and on long inputs it writes past
    # them (ludlows/PESQ issue 18, "stack smashing" at ~120 s; here a 10-minute file's
    # measurement corrupted the metrics thread's stack and crashed the app later)
    "max_seconds": 15.0,
    "label": "PESQ (wideband, 16 kHz)",
}

CHANNEL_METRIC_KEYS = (
    "si_sdr",
    "si_sdr_aligned",
    "lag_samples",
    "mel_distance",
    "mrstft_distance",
    "stoi",
    "lufs_ref",
    "lufs_est",
    "loudness_diff_lu",
    "peak_dbfs_ref",
    "peak_dbfs_est",
    "crest_db_ref",
    "crest_db_est",
    "pesq_wb",
)


def _pair(ref: np.ndarray, est: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = min(len(ref), len(est))
    return np.asarray(ref[:n], np.float64), np.asarray(est[:n], np.float64)


def _pair2d(ref: np.ndarray, est: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r, e = np.atleast_2d(np.asarray(ref, np.float64)), np.atleast_2d(np.asarray(est, np.float64))
    if r.shape[0] != e.shape[0]:
        raise ValueError(f"channel counts differ: {r.shape[0]} vs {e.shape[0]}")
    n = min(r.shape[1], e.shape[1])
    return r[:, :n], e[:, :n]


# --- waveform metrics -------------------------------------------------------------------


def si_sdr(ref: np.ndarray, est: np.ndarray) -> float:
    """Scale-invariant SDR in dB of est [T] against ref [T] (inf for a perfect match)."""
    r, e = _pair(ref, est)
    if len(r) == 0:
        return float("nan")
    r, e = r - r.mean(), e - e.mean()
    alpha = np.dot(e, r) / (np.dot(r, r) + 1e-12)
    target = alpha * r
    noise = e - target
    num, den = np.dot(target, target), np.dot(noise, noise)
    if den <= 1e-20 * max(num, 1e-20):
        return float("inf")
    return float(10 * np.log10((num + 1e-20) / den))


def best_lag(ref: np.ndarray, est: np.ndarray, max_lag: int) -> int:
    """Lag (samples; positive = est is late) maximising the cross-correlation, |lag| <= max_lag."""
    r, e = _pair(ref, est)
    max_lag = max(0, min(int(max_lag), len(r) - 1))
    if len(r) == 0:
        return 0
    n = 1 << int(np.ceil(np.log2(2 * len(r) + 1)))
    xc = np.fft.irfft(np.fft.rfft(e, n) * np.conj(np.fft.rfft(r, n)), n)
    lags = np.concatenate([xc[: max_lag + 1], xc[-max_lag:]]) if max_lag else xc[:1]
    idx = int(np.argmax(lags))
    return idx if idx <= max_lag else idx - len(lags)


def si_sdr_aligned(ref: np.ndarray, est: np.ndarray, max_lag: int = 2400) -> tuple[float, int]:
    """SI-SDR after shifting est by the cross-correlation lag; (dB, lag in samples)."""
    lag = best_lag(ref, est, max_lag)
    if lag > 0:
        return si_sdr(ref[: len(ref) - lag], est[lag:]), lag
    if lag < 0:
        return si_sdr(ref[-lag:], est[: len(est) + lag]), lag
    return si_sdr(ref, est), 0


# --- spectral distances -----------------------------------------------------------------


def _stft_mag(x: np.ndarray, n_fft: int, hop: int):
    """|STFT| [n_fft/2 + 1, frames] (torch, Hann window); short signals are zero-padded."""
    import torch

    t = torch.from_numpy(np.asarray(x, np.float32))
    if len(t) < n_fft:
        t = torch.nn.functional.pad(t, (0, n_fft - len(t)))
    return torch.stft(t, n_fft, hop, window=torch.hann_window(n_fft), return_complex=True).abs()


def log_mel(x: np.ndarray, sr: int) -> np.ndarray:
    """log10 mel power spectrogram [n_mels, frames] of x [T] with the MEL parameters."""
    import torch

    from .dsp import mel_bank

    mel = mel_bank(MEL["n_fft"], MEL["n_mels"], sr) @ _stft_mag(x, MEL["n_fft"], MEL["hop"]) ** 2
    return torch.log10(mel + 1e-5).numpy()


def mel_distance(ref: np.ndarray, est: np.ndarray, sr: int) -> float:
    """Mean absolute difference of log10-mel spectrograms (0 for identical signals)."""
    r, e = _pair(ref, est)
    return float(np.mean(np.abs(log_mel(r, sr) - log_mel(e, sr))))


def mrstft_distance(ref: np.ndarray, est: np.ndarray) -> float:
    """Multi-resolution STFT distance (MRSTFT parameters), 0 for identical signals.

    Per resolution: spectral convergence ||R - E||_F / ||R||_F plus mean |log10 R - log10 E|
    of the magnitudes; the result is the mean over resolutions (dimensionless).
    """
    import torch

    r, e = _pair(ref, est)
    eps = MRSTFT["eps"]
    total = 0.0
    for n_fft, hop in MRSTFT["resolutions"]:
        mr, me = _stft_mag(r, n_fft, hop), _stft_mag(e, n_fft, hop)
        sc = torch.linalg.norm(mr - me) / (torch.linalg.norm(mr) + eps)
        mag = torch.mean(torch.abs(torch.log10(mr + eps) - torch.log10(me + eps)))
        total += float(sc + mag)
    return total / len(MRSTFT["resolutions"])


def stoi(ref: np.ndarray, est: np.ndarray, sr: int) -> float:
    """Short-time objective intelligibility (pystoi), 0..1.

    NaN where STOI is undefined: a clip shorter than STOI_MIN_SECONDS, too few non-silent
    frames (pystoi would warn and return 1e-5), or a silent reference.
    """
    from pystoi import stoi as _stoi

    r, e = _pair(ref, est)
    if len(r) < STOI_MIN_SECONDS * sr or not np.any(r):
        return float("nan")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(_stoi(r, e, sr, extended=False))
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        return float("nan")
    return value


class PesqScore(NamedTuple):
    """A PESQ value (MOS-LQO) and, when it is NaN, why ('' otherwise)."""

    value: float
    reason: str


def pesq_wb(ref: np.ndarray, est: np.ndarray, sr: int) -> PesqScore:
    """Wideband PESQ (P.862.2, MOS-LQO, about 1.0 to 4.64) of est [T] against ref [T].

    Meant for speech: music and noise get a number that means little. Both signals are
    resampled from sr to PESQ["rate"] (16 kHz) with soxr. Past PESQ["max_seconds"] the
    pair is scored in equal consecutive pieces and the pieces' scores are averaged. NaN
    with a reason, never an exception, where PESQ is undefined: under PESQ["min_seconds"],
    a silent reference or reconstruction, no utterance found by the ITU code, the package
    missing.
    """
    r, e = _pair(ref, est)
    nan = float("nan")
    if len(r) < PESQ["min_seconds"] * sr:
        return PesqScore(nan, f"shorter than {PESQ['min_seconds']} s")
    if not np.any(r):
        return PesqScore(nan, "the reference is silent")
    if not np.any(e):
        return PesqScore(nan, "the reconstruction is silent")
    try:
        import pesq as _pesq
    except ImportError as ex:  # a broken install: the other metrics still work
        return PesqScore(nan, f"the pesq package cannot be imported ({ex})")
    from ..audio.resample import resample

    rate = PESQ["rate"]
    r16 = resample(r[None].astype(np.float32), sr, rate)[0]
    e16 = resample(e[None].astype(np.float32), sr, rate)[0]
    pieces = max(1, math.ceil(len(r16) / (PESQ["max_seconds"] * rate)))
    bounds = np.linspace(0, len(r16), pieces + 1).round().astype(int)
    scores = [_pesq_piece(_pesq, rate, r16[a:b], e16[a:b]) for a, b in itertools.pairwise(bounds)]
    values = [v.value for v in scores if math.isfinite(v.value)]
    if not values:
        return scores[0]
    return PesqScore(float(np.mean(values)), "")


def _pesq_piece(_pesq, rate: int, r16: np.ndarray, e16: np.ndarray) -> PesqScore:
    """The ITU code on one piece (at most PESQ["max_seconds"]) at 16 kHz, in its own
    process (pesq_process: the C code holds the interpreter lock, and the player's
    callback needs it)."""
    from .pesq_process import PesqCrashed, itu_pesq

    nan = float("nan")
    try:
        value = float(itu_pesq(rate, r16, e16, PESQ["mode"]))
    except PesqCrashed as ex:
        return PesqScore(nan, str(ex))
    except _pesq.NoUtterancesError:
        return PesqScore(nan, "no utterance detected (PESQ is for speech)")
    except _pesq.BufferTooShortError:
        return PesqScore(nan, f"shorter than {PESQ['min_seconds']} s")
    except (RuntimeError, ValueError) as ex:  # PesqError is a RuntimeError
        msg = ex.args[0] if ex.args else ex
        text = msg.decode(errors="replace") if isinstance(msg, bytes) else str(msg)
        return PesqScore(nan, f"PESQ failed: {text}")
    if not math.isfinite(value):
        return PesqScore(nan, "PESQ gave no finite value")
    return PesqScore(value, "")


# --- levels ------------------------------------------------------------------------------


def integrated_loudness(x: np.ndarray, sr: int) -> float:
    """Integrated loudness (BS.1770, pyloudnorm) of x [T] or [C, T] in LUFS.

    Clips shorter than a 400 ms block are one block over the whole clip; silence reads
    LOUDNESS["floor_lufs"]. More than 5 channels (beyond pyloudnorm's weights) are summed
    in power with weight 1, each measured alone.
    """
    import pyloudnorm

    a = np.atleast_2d(np.asarray(x, np.float64))
    floor = LOUDNESS["floor_lufs"]
    n = a.shape[1]
    if n == 0 or not np.any(a):
        return floor
    if a.shape[0] > 5:
        power = sum(10 ** (integrated_loudness(ch, sr) / 10) for ch in a)
        return max(floor, 10 * math.log10(power))
    meter = pyloudnorm.Meter(sr, block_size=min(LOUDNESS["block_s"], n / sr))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lufs = float(meter.integrated_loudness(a.T))
    return lufs if math.isfinite(lufs) and lufs > floor else floor


def peak_dbfs(x: np.ndarray) -> float:
    """Sample peak of x (any shape) in dBFS (full scale = 1.0); silence reads the floor."""
    # max and -min rather than abs: no temporary the size of x (a two-hour decode is 0.7 GB)
    p = max(float(np.max(x)), -float(np.min(x))) if np.size(x) else 0.0
    return max(LOUDNESS["floor_dbfs"], 20 * math.log10(p)) if p > 0 else LOUDNESS["floor_dbfs"]


def crest_factor_db(x: np.ndarray) -> float:
    """Peak-to-RMS ratio of x in dB (3.01 dB for a sine); 0 for silence."""
    a = np.asarray(x, np.float64)
    rms = math.sqrt(float(np.mean(a * a))) if a.size else 0.0
    if rms <= 0:
        return 0.0
    return 20 * math.log10(float(np.max(np.abs(a))) / rms)


def loudness_match_gain_db(ref: np.ndarray, est: np.ndarray, sr: int) -> float:
    """Gain in dB to apply to est [C, T] so its integrated loudness equals ref's [C, T].

    0.0 when either signal is silent (at or below the LUFS floor).
    """
    r, e = _pair2d(ref, est)
    floor = LOUDNESS["floor_lufs"]
    lr, le = integrated_loudness(r, sr), integrated_loudness(e, sr)
    if lr <= floor or le <= floor:
        return 0.0
    return lr - le


# --- all metrics -------------------------------------------------------------------------


def channel_metrics(
    ref: np.ndarray, est: np.ndarray, sr: int, cancel: Callable[[], bool] | None = None
) -> dict[str, float]:
    """Every metric for one channel: ref [T] original, est [T] reconstruction, at sr Hz.

    Keys (CHANNEL_METRIC_KEYS): si_sdr, si_sdr_aligned (dB); lag_samples (est's delay found
    by cross-correlation within +-ALIGN_MAX_LAG_S, positive = late); mel_distance and
    mrstft_distance (0 = identical); stoi (0..1, NaN when undefined); lufs_ref, lufs_est
    (LUFS); loudness_diff_lu (est - ref, LU); peak_dbfs_* (dBFS); crest_db_* (dB);
    pesq_wb (wideband PESQ at 16 kHz, MOS-LQO, for speech; NaN when undefined).

    cancel() is checked before each metric (then codec.errors.Cancelled): on a 10-minute
    signal each takes seconds here, 30 s or so in all, and a window being closed waits for
    the one in hand.
    """
    from ..errors import check_cancelled

    def step(f, *args):
        check_cancelled(cancel, "measuring")
        return f(*args)

    r, e = _pair(ref, est)
    aligned, lag = step(si_sdr_aligned, r, e, round(ALIGN_MAX_LAG_S * sr))
    lufs_ref, lufs_est = step(integrated_loudness, r, sr), step(integrated_loudness, e, sr)
    return {
        "si_sdr": step(si_sdr, r, e),
        "si_sdr_aligned": aligned,
        "lag_samples": float(lag),
        "mel_distance": step(mel_distance, r, e, sr),
        "mrstft_distance": step(mrstft_distance, r, e),
        "stoi": step(stoi, r, e, sr),
        "lufs_ref": lufs_ref,
        "lufs_est": lufs_est,
        "loudness_diff_lu": lufs_est - lufs_ref,
        "peak_dbfs_ref": peak_dbfs(r),
        "peak_dbfs_est": peak_dbfs(e),
        "crest_db_ref": crest_factor_db(r),
        "crest_db_est": crest_factor_db(e),
        "pesq_wb": step(pesq_wb, r, e, sr).value,
    }


def compare(ref: np.ndarray, est: np.ndarray, sr: int) -> list[dict[str, float]]:
    """channel_metrics for each channel of ref [C, T] and est [C, T] (trimmed to one length)."""
    r, e = _pair2d(ref, est)
    return [channel_metrics(r[c], e[c], sr) for c in range(r.shape[0])]


def quality(ref: np.ndarray, est: np.ndarray, sr: int) -> dict[str, float]:
    """The metrics the demo table reports, for one channel."""
    return {
        "mel_distance": mel_distance(ref, est, sr),
        "si_sdr": si_sdr(ref, est),
        "stoi": stoi(ref, est, sr),
    }
