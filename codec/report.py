"""Reports: code a file at several codebook counts, write audio, codes, metrics and a figure.

`make_report` is the whole job behind `main.py report`; `render_figure` draws the summary
figure and is shared with the app (matplotlib's object API with the Agg canvas, no pyplot
and its figure registry; the dark style is applied with rc_context for the call only).
No Qt here.

Metrics compare the signals the codec sees: the input resampled to the codec rate and the
reconstruction at that rate (`metrics_sample_rate` in metrics.json). The reconstruction
files are at the input file's own rate. Every output file is written to a temporary name in
the output folder and then renamed, so a reader never sees a half-written file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .metrics import (
    ALIGN_MAX_LAG_S,
    CHANNEL_METRIC_KEYS,
    LOUDNESS,
    MEL,
    MRSTFT,
    STOI_MIN_SECONDS,
    compare,
    token_stats,
)

FORMAT = "mimi-explorer-report/1"
DEFAULT_KS = (1, 2, 4, 8, 16, 32)
MAX_FIGURE_CHANNELS = 4  # more lanes would make the page unreadable; the JSON has them all

# Colours as in app/views.py, so a report looks like the window.
BACKGROUND = "#1e1e1e"
FOREGROUND = "#d4d4d4"
ORIGINAL = "#8ecae6"
RECONSTRUCTION = "#fb8500"
PLAYHEAD = "#ffd166"
CHANNEL_COLOURS = ("#fb8500", "#8ecae6", "#90be6d", "#f28482", "#cdb4db", "#ffd166")
STYLE = {
    "figure.facecolor": BACKGROUND,
    "axes.facecolor": BACKGROUND,
    "savefig.facecolor": BACKGROUND,
    "axes.edgecolor": "#5a5a5a",
    "axes.labelcolor": FOREGROUND,
    "axes.titlecolor": FOREGROUND,
    "text.color": FOREGROUND,
    "xtick.color": FOREGROUND,
    "ytick.color": FOREGROUND,
    "grid.color": "#3a3a3a",
    "legend.facecolor": "#2a2a2a",
    "legend.edgecolor": "#5a5a5a",
    "font.size": 9,
    "axes.titlesize": 10,
}

Log = Callable[[str], None]
ProgressFactory = Callable[[str], Callable[[int, int], None]]


# --- files -------------------------------------------------------------------------------


def _atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call write(tmp) on a temporary file beside `path`, then rename it to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique name, created by the writer itself: mkstemp would leave the file mode 0600.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_text(path: Path, text: str) -> Path:
    return _atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def json_safe(obj):
    """obj with numpy scalars made Python and non-finite floats made None (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# --- figure ------------------------------------------------------------------------------


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
    from .dsp import spectrogram_db

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
        time_axes = []
        row = 0
        for c in range(shown):
            ax = fig.add_subplot(gs[row, :])
            _draw_wave(ax, x[c], sample_rate, ORIGINAL, "original", 0.9)
            if y is not None and c < y.shape[0]:
                _draw_wave(ax, y[c], sample_rate, RECONSTRUCTION, f"codec, K = {k}", 0.75)
            ax.set_title(f"channel {c}: waveform", loc="left")
            ax.legend(loc="upper right", fontsize=8, ncols=2)
            ax.set_ylabel("amplitude")
            time_axes.append(ax)
            ax_a = fig.add_subplot(gs[row + 1, :2])
            _draw_spectrogram(ax_a, x[c], sample_rate, f"channel {c}: original")
            ax_b = fig.add_subplot(gs[row + 1, 2:], sharey=ax_a)
            if y is not None and c < y.shape[0]:
                _draw_spectrogram(ax_b, y[c], sample_rate, f"channel {c}: codec, K = {k}")
            time_axes += [ax_a, ax_b]
            row += 2
        for c in range(min(shown, cz.shape[0])):
            ax = fig.add_subplot(gs[row, :])
            _draw_tokens(
                ax,
                cz[c],
                frame_rate,
                k,
                vmax,
                f"channel {c}: tokens (codebook 0 semantic; rows from K = {k} on dimmed)",
            )
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
        _atomic_write(out, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi))
    return out


# --- the report --------------------------------------------------------------------------


def _csv_text(results: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["k", "bitrate_bps", "channel", *CHANNEL_METRIC_KEYS])
    for res in results:
        for ch, m in enumerate(res["channels"]):
            w.writerow(
                [res["k"], res["bitrate_bps"], ch, *(repr(m[key]) for key in CHANNEL_METRIC_KEYS)]
            )
    return buf.getvalue()


def check_ks(ks: Sequence[int] | None, num_codebooks: int) -> list[int]:
    """Sorted distinct Ks; the default is DEFAULT_KS within 1..num_codebooks plus the max."""
    if not ks:
        return sorted({k for k in DEFAULT_KS if k <= num_codebooks} | {num_codebooks})
    bad = [k for k in ks if not 1 <= k <= num_codebooks]
    if bad:
        raise ValueError(f"codebooks must be 1..{num_codebooks} for this model, got {bad[0]}")
    return sorted(set(ks))


def make_report(
    input_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    codec,
    ks: Sequence[int] | None = None,
    *,
    progress: ProgressFactory | None = None,
    log: Log | None = None,
    audio=None,
) -> dict:
    """Code `input_path` once with max(ks) codebooks, decode every K, and write to out_dir:
    `<stem>_kNN.flac` per K (at the file's own rate), `<stem>.codes.safetensors`,
    `metrics.json`, `metrics.csv` (one row per K x channel) and `report.png` (drawn at the
    largest K). Returns the metrics.json content. Raises AudioError/CodecError/ValueError.
    `audio` is the already loaded input (codec.audio.Audio), if the caller has it.
    """
    from . import excerpts
    from .audio import load_audio
    from .codes_io import CodesFile, save_codes
    from .long_file import LONG_INPUT_S, is_long, read_resampled, write_resampled
    from .pipeline import decode_signal, encode_signal, to_codec_rate

    def say(msg: str) -> None:
        if log:
            log(msg)

    def prog(label: str):
        return progress(label) if progress else None

    t0 = time.perf_counter()
    src = Path(input_path)
    out = Path(out_dir)
    ks = check_ks(ks, codec.num_codebooks)
    rate = codec.sample_rate
    if audio is None and is_long(src, LONG_INPUT_S):
        # read block by block straight to the codec rate: the source is never held whole
        # its StreamInfo has what the report reads of an Audio: rate, channels, length,
        # duration and warnings
        x24, audio = read_resampled(src, rate, progress=prog("read"))
    else:
        audio = audio if audio is not None else load_audio(src)
        x24 = to_codec_rate(codec, audio.samples, audio.sample_rate)
    for w in audio.warnings:
        say(f"warning: {w}")
    out.mkdir(parents=True, exist_ok=True)
    stem = src.stem or "audio"

    codes_t = encode_signal(codec, x24, max(ks), progress=prog("encode"))
    codes = codes_t.numpy()
    codes_name = f"{stem}.codes.safetensors"
    save_codes(
        out / codes_name,
        CodesFile(
            codes=codes_t,
            sample_rate=audio.sample_rate,
            num_samples=audio.num_samples,
            codec_sample_rate=rate,
            frame_rate=codec.frame_rate,
            codebook_size=codec.codebook_size,
            model=codec.description,
        ),
    )

    # a long signal is measured on excerpts (codec.excerpts), said in metrics.json
    ranges = [(0, codes.shape[2])]
    if excerpts.is_long(x24.shape[1], rate):
        ranges = excerpts.excerpt_frames(codes.shape[2], codec.frame_rate)
    scope = excerpts.describe(ranges, codes.shape[2], codec.frame_rate)
    ref = x24 if len(ranges) == 1 else excerpts.take(x24, ranges, codec.frame_size)
    recon: dict[int, np.ndarray] = {}
    metrics_by_k: dict[int, list[dict]] = {}
    results = []
    for k in ks:
        y24 = decode_signal(codec, codes_t[:, :k], x24.shape[1], progress=prog(f"decode K={k}"))
        if k == max(ks):
            recon[k] = y24  # the figure's; the others are dropped once written and measured
        name = f"{stem}_k{k:02d}.flac"
        write_resampled(y24, rate, out / name, audio.sample_rate, audio.num_samples)
        est = y24 if len(ranges) == 1 else excerpts.take(y24, ranges, codec.frame_size)
        del y24
        metrics_by_k[k] = compare(ref, est, rate)
        mean = float(np.mean([m["si_sdr_aligned"] for m in metrics_by_k[k]]))
        say(f"K={k}: wrote {name}, SI-SDR (aligned, mean over channels) {mean:.2f} dB")
        results.append(
            {
                "k": k,
                "bitrate_bps": codec.bitrate(k),
                "audio": name,
                "channels": metrics_by_k[k],
            }
        )

    k_fig = max(ks)
    render_figure(
        x24,
        {k_fig: recon[k_fig]},
        codes,
        rate,
        codec.frame_rate,
        metrics_by_k,
        k_fig,
        out / "report.png",
        title=f"{src.name}  \u2014  {codec.description}",
        codebook_size=codec.codebook_size,
    )
    report = {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": codec.description,
        "device": str(codec.device),
        "input": {
            "path": str(src.resolve()),
            "sample_rate": audio.sample_rate,
            "channels": audio.channels,
            "num_samples": audio.num_samples,
            "duration_s": audio.duration,
            "warnings": list(audio.warnings),
        },
        "codec": {
            "sample_rate": rate,
            "frame_rate": codec.frame_rate,
            "codebook_size": codec.codebook_size,
            "num_codebooks": codec.num_codebooks,
            "frames": int(codes.shape[2]),
        },
        "metrics_sample_rate": rate,
        "metrics_scope": scope or "the whole signal",
        "parameters": {
            "mel": MEL,
            "mrstft": MRSTFT,
            "loudness": LOUDNESS,
            "stoi_min_seconds": STOI_MIN_SECONDS,
            "align_max_lag_s": ALIGN_MAX_LAG_S,
        },
        "codebooks": ks,
        "figure_k": k_fig,
        "results": results,
        "token_stats": [
            {
                "channel": c,
                "codebooks": token_stats(codes[c], codec.codebook_size, codec.frame_rate),
            }
            for c in range(codes.shape[0])
        ],
        "files": {
            "codes": codes_name,
            "csv": "metrics.csv",
            "figure": "report.png",
            "audio": {str(r["k"]): r["audio"] for r in results},
        },
        "notes": "Metrics compare the input and the reconstruction at metrics_sample_rate. "
        "null marks a value that is undefined (STOI of a clip under stoi_min_seconds or of "
        "silence; change_rate with one frame) or infinite (SI-SDR of identical signals). "
        "Silence reads the loudness floors in parameters.loudness.",
        "elapsed_s": 0.0,
    }
    _write_text(out / "metrics.csv", _csv_text(results))
    report["elapsed_s"] = round(time.perf_counter() - t0, 3)
    safe = json_safe(report)
    _write_text(out / "metrics.json", json.dumps(safe, indent=2, allow_nan=False) + "\n")
    return safe
