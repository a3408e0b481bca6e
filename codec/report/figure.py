"""The report figure: waveforms, spectrograms, token heatmap and quality-versus-K curves.

Shared by `report` and the window's "Export report figure". matplotlib's object API with
the Agg canvas (no pyplot and its figure registry); the dark style is applied with
rc_context for the call only. Written atomically.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ..analysis.dsp import spectrogram_db
from ..audio.atomic import atomic_write
from .theme import BACKGROUND, CHANNEL_COLOURS, ORIGINAL, PLAYHEAD, RECONSTRUCTION, STYLE

MAX_FIGURE_CHANNELS = 4  # more lanes would make the page unreadable; the JSON has them all


def _envelope(x: np.ndarray, sr: int, columns: int = 3000):
    """(t, lo, hi): min/max per column, so long signals draw fast and keep their peaks."""
    n = len(x)
    if n <= 2 * columns:
        t = np.arange(n) / sr
        return t, x, x
    per = math.ceil(n / columns)
    pad = (-n) % per
    xx = np.pad(x, (0, pad), mode="edge").reshape(-1, per)
    t = (np.arange(xx.shape[0]) * per + per / 2) / sr
    return t, xx.min(axis=1), xx.max(axis=1)


def _draw_wave(ax, x: np.ndarray, sr: int, colour: str, label: str, alpha: float) -> None:
    t, lo, hi = _envelope(np.asarray(x, np.float32), sr)
    if lo is hi:
        ax.plot(t, lo, color=colour, lw=0.7, alpha=alpha, label=label)
    else:
        ax.fill_between(t, lo, hi, color=colour, lw=0.3, alpha=alpha, label=label)


def _draw_spectrogram(ax, x: np.ndarray, sr: int, title: str) -> None:
    db, sec_per_col = spectrogram_db(np.asarray(x, np.float32), sr, n_fft=512, max_columns=1500)
    top = float(db.max())
    ax.imshow(
        db,
        origin="lower",
        aspect="auto",
        cmap="inferno",
        vmin=top - 80,
        vmax=top,
        extent=(0, db.shape[1] * sec_per_col, 0, sr / 2000),
        interpolation="nearest",
    )
    ax.set_ylabel("kHz")
    ax.set_title(title, loc="left")


def _draw_tokens(ax, codes: np.ndarray, frame_rate: float, k: int, vmax: int, title: str):
    n_k, n_f = codes.shape
    ax.imshow(
        codes,
        aspect="auto",
        cmap="viridis",
        vmin=0,
        vmax=vmax,
        extent=(0, n_f / frame_rate, n_k - 0.5, -0.5),
        interpolation="nearest",
    )
    ax.axhline(0.5, color=BACKGROUND, lw=2.5)  # the semantic codebook 0 stands apart
    if k < n_k:
        ax.axhspan(k - 0.5, n_k - 0.5, color="black", alpha=0.65, lw=0)  # rows above K dimmed
        ax.axhline(k - 0.5, color=PLAYHEAD, lw=1)
    ticks = sorted({0, *[t for t in (8, 16, 24, n_k - 1) if t < n_k]})
    ax.set_yticks(ticks, [("0 sem" if t == 0 else str(t)) for t in ticks])
    ax.set_ylabel("codebook")
    ax.set_title(title, loc="left")


CURVES = (
    ("si_sdr_aligned", "SI-SDR, aligned (dB)  \u2191"),
    ("mel_distance", "log-mel distance  \u2193"),
    ("mrstft_distance", "MR-STFT distance  \u2193"),
    ("stoi", "STOI  \u2191"),
)


def _finite(v) -> bool:
    return isinstance(v, int | float) and math.isfinite(v)


def _draw_curve(ax, key: str, title: str, metrics_by_k: dict[int, list[dict]], k: int):
    ks = sorted(metrics_by_k)
    channels = max((len(v) for v in metrics_by_k.values()), default=0)
    for c in range(channels):
        ys = [
            metrics_by_k[kk][c].get(key, np.nan) if c < len(metrics_by_k[kk]) else np.nan
            for kk in ks
        ]
        ys = [y if _finite(y) else np.nan for y in ys]
        ax.plot(
            ks,
            ys,
            "o-",
            ms=3.5,
            lw=1.3,
            color=CHANNEL_COLOURS[c % len(CHANNEL_COLOURS)],
            label=f"ch {c}",
        )
    if len(ks) > 1 and min(ks) > 0:
        ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(kk) for kk in ks])
    ax.minorticks_off()
    ax.axvline(k, color=PLAYHEAD, lw=0.8, ls="--")
    ax.set_xlabel("codebooks K")
    ax.set_title(title, loc="left")
    ax.grid(True, lw=0.5)
    if not any(_finite(m.get(key)) for v in metrics_by_k.values() for m in v):
        ax.text(0.5, 0.5, "n/a (clip too short or silent)", ha="center", transform=ax.transAxes)


def _draw_signals(fig, gs, x, y, sample_rate: int, k: int, shown: int) -> list:
    """Per channel: the waveform overlay (one row) and both spectrograms (the next row).
    Returns the time axes drawn."""
    axes = []
    for c in range(shown):
        row = 2 * c
        ax = fig.add_subplot(gs[row, :])
        _draw_wave(ax, x[c], sample_rate, ORIGINAL, "original", 0.9)
        if y is not None and c < y.shape[0]:
            _draw_wave(ax, y[c], sample_rate, RECONSTRUCTION, f"codec, K = {k}", 0.75)
        ax.set_title(f"channel {c}: waveform", loc="left")
        ax.legend(loc="upper right", fontsize=8, ncols=2)
        ax.set_ylabel("amplitude")
        ax_a = fig.add_subplot(gs[row + 1, :2])
        _draw_spectrogram(ax_a, x[c], sample_rate, f"channel {c}: original")
        ax_b = fig.add_subplot(gs[row + 1, 2:], sharey=ax_a)
        if y is not None and c < y.shape[0]:
            _draw_spectrogram(ax_b, y[c], sample_rate, f"channel {c}: codec, K = {k}")
        axes += [ax, ax_a, ax_b]
    return axes


def render_figure(
    x24: np.ndarray,
    recon: dict[int, np.ndarray],
    codes: np.ndarray,
    sample_rate: int,
    frame_rate: float,
    metrics_by_k: dict[int, list[dict]],
    k: int,
    path: str | os.PathLike,
    *,
    title: str = "",
    codebook_size: int | None = None,
    dpi: int = 110,
) -> Path:
    """Draw the report figure to the PNG `path` (written atomically) and return its Path.

    x24 [C, T] original and recon[K] [C, T] reconstructions at `sample_rate` Hz; codes
    [C, Kc, F] tokens at `frame_rate` frames/s; metrics_by_k[K] = one channel_metrics dict
    per channel; `k` is the K drawn in the overlays and marked in the heatmap and curves.
    Panels: per channel a waveform overlay (original light blue, reconstruction orange) and
    spectrograms of both; per channel the token heatmap; the quality-versus-K curves.
    At most MAX_FIGURE_CHANNELS channels are drawn. `codebook_size` fixes the heatmap's
    colour range (default: the largest token) and adds the bitrate to the title.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    x = np.atleast_2d(np.asarray(x24, np.float32))
    c_all = x.shape[0]
    shown = min(c_all, MAX_FIGURE_CHANNELS)
    y = recon.get(k)
    y = None if y is None else np.atleast_2d(np.asarray(y, np.float32))
    cz = np.asarray(codes)
    if cz.ndim == 2:
        cz = cz[None]
    vmax = (codebook_size - 1) if codebook_size else max(int(cz.max(initial=0)), 1)

    heights = [1.3, 1.5] * shown + [1.5] * shown + ([2.0] if metrics_by_k else [])
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(14, 0.9 + 1.45 * sum(heights)), layout="constrained")
        FigureCanvasAgg(fig)
        gs = fig.add_gridspec(len(heights), 4, height_ratios=heights)
        duration = x.shape[1] / sample_rate
        time_axes = _draw_signals(fig, gs, x, y, sample_rate, k, shown)
        row = 2 * shown
        for c in range(min(shown, cz.shape[0])):
            ax = fig.add_subplot(gs[row, :])
            title_c = f"channel {c}: tokens (codebook 0 semantic; rows from K = {k} on dimmed)"
            _draw_tokens(ax, cz[c], frame_rate, k, vmax, title_c)
            time_axes.append(ax)
            row += 1
        for ax in time_axes:
            ax.set_xlim(0, duration)
        time_axes[-1].set_xlabel("time (s)")
        if metrics_by_k:
            for i, (key, label) in enumerate(CURVES):
                _draw_curve(fig.add_subplot(gs[row, i]), key, label, metrics_by_k, k)
            fig.axes[-len(CURVES)].legend(loc="lower right", fontsize=8)
        head = title or "Mimi Explorer report"
        if codebook_size:
            kbps = k * math.log2(codebook_size) * frame_rate / 1000
            head += f"  \u2014  K = {k} ({kbps:.2f} kbps per channel)"
        if c_all > shown:
            head += f"  \u2014  first {shown} of {c_all} channels shown"
        fig.suptitle(head, x=0.01, ha="left", fontsize=12)
        out = Path(path)
        with atomic_write(out) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi)
    return out
