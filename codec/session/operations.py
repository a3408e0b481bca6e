"""The stages every front end shares: open -> encode -> decode(K) -> measure(K) -> export.

The codec worker (the window), the command line and `report` call these and nothing else
to code audio, so the three cannot drift apart. Signals are float32 [C, T], each channel
coded separately (channels ride in the batch dimension); codes are int64 [C, K, F].

Two shapes of the same stages:
  * in memory, on a `Comparison` (the window and the report hold the signal to draw and
    measure it): `open_file`, `encode`, `decode`, `measure`, `export`;
  * file to file, block by block in bounded memory whatever the length (the command line):
    `encode_file`, `roundtrip_file`, `decode_to_file`.
Both read through the one reader and code through the one chunk runner, with the same
chunk edges, so they give the same samples (tested).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from ..analysis import excerpts
from ..analysis import stream_check as sc
from ..analysis.metrics import channel_metrics, loudness_match_gain_db, peak_dbfs
from ..audio.reader import SourceInfo, SourceReader, read_resampled
from ..audio.resample import StreamResampler
from ..audio.write import open_output, write_format, write_resampled
from ..errors import check_cancelled
from ..model.codec import MimiCodec
from ..model.decode_run import DecodeRun
from ..model.runner import (
    BACKGROUND_CHUNK_FRAMES,
    ChunkPacer,
    DecoderRunner,
    EncoderRunner,
    as_tensor,
)
from .comparison import Comparison, Measurement, decode_key
from .kept import KeptRun
from .policy import DEFAULT_POLICY, LongFilePolicy

Progress = Callable[[int, int], None]  # (done, total)
CancelCheck = Callable[[], bool]


# ---- in memory: a Comparison ----------------------------------------------------------------
def open_file(
    path: str | os.PathLike,
    rate: int,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
    policy: LongFilePolicy = DEFAULT_POLICY,
) -> Comparison:
    """Read a file of any length to `rate` Hz, block by block (the source is never held)."""
    x, info = read_resampled(path, rate, progress, cancel)
    return Comparison(
        name=Path(path).name,
        x24=x,
        codec_rate=rate,
        source_rate=info.sample_rate,
        source_samples=info.num_samples,
        path=Path(path),
        warnings=info.warnings,
        cache_bytes=policy.cache_budget(x.nbytes, x.shape[1], rate),
    )


def encode_signal(
    codec: MimiCodec,
    x: np.ndarray,
    num_codebooks: int | None = None,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
) -> torch.Tensor:
    """x [C, T] at the codec rate -> codes [C, K, ceil(T / frame_size)] (CPU, int64)."""
    xt = as_tensor(np.asarray(x, np.float32), torch.float32)[:, None, :]
    return codec.encode(xt, num_codebooks, progress=progress, cancel=cancel).cpu()


def decode_signal(
    codec: MimiCodec,
    codes: torch.Tensor | np.ndarray,
    num_samples: int | None = None,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
    part: str = "all",
    chunk_frames: int | str | ChunkPacer = "batch",
) -> np.ndarray:
    """codes [C, K, F] -> [C, T] float32 at the codec rate, trimmed to num_samples if given.

    The runner's chunks are written straight into the result, so a long decode is held
    once rather than as chunks plus their concatenation. part: "all", "semantic" or
    "acoustic" (one group of the split quantizer alone, through the same decoder).
    chunk_frames: the runner's chunk ("batch", or fewer frames so that `cancel` is checked
    more often, or a ChunkPacer: work that must step aside for the user promptly).
    """
    return DecodeRun(codec, codes, num_samples, part).run(progress, cancel, chunk_frames)


def encode(
    codec: MimiCodec,
    comparison: Comparison,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
) -> np.ndarray:
    """Code the comparison's signal with every codebook; its codes are replaced."""
    codes = encode_signal(codec, comparison.x24, None, progress, cancel).numpy()
    comparison.set_codes(codes, codec.description)
    return codes


def decode(
    codec: MimiCodec,
    comparison: Comparison,
    k: int,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
    keep: bool = True,
    part: str = "all",
    chunk_frames: int | str | ChunkPacer = "batch",
    kept: KeptRun | None = None,
) -> np.ndarray:
    """The decode at K codebooks [C, T], from the cache or decoded now (and cached, with its
    peak, when keep=True; keep=False caches it only where it fits without evicting).

    kept: the caller's slot for a decode that steps aside (Cancelled): it keeps the
    unfinished DecodeRun, and a later call for the same codes, K and part goes on with it
    instead of starting over.

    part: "all" (the codec's decode), "semantic" or "acoustic" (one group of the split
    quantizer alone, through the same decoder), or "residual" (the signal minus the decode
    at K: what K codebooks miss).
    """
    key = decode_key(k, part)
    cached = comparison.reconstruction(key)
    if cached is not None:
        return cached
    codes, gen = comparison.codes, comparison.generation
    if codes is None:
        raise ValueError("nothing is encoded yet")
    if part == "residual":
        y = comparison.x24 - decode(
            codec, comparison, k, progress, cancel, keep, "all", chunk_frames
        )
    else:
        slot, which = kept or KeptRun(), (gen, k, part)
        run = slot.resume(
            DecodeRun,
            lambda r: r.matches(codec, comparison, which),
            lambda: DecodeRun(
                codec, codes[:, :k], comparison.num_samples, part, source=comparison, key=which
            ),
        )
        y = run.run(progress, cancel, chunk_frames)
        slot.drop()
    if keep:
        comparison.set_peak(key, peak_dbfs(y), gen)
    comparison.store(key, y, evict=keep, generation=gen)
    return y


def measurement_inputs(
    codec: MimiCodec,
    comparison: Comparison,
    k: int,
    policy: LongFilePolicy = DEFAULT_POLICY,
    cancel: CancelCheck | None = None,
    pacer: ChunkPacer | None = None,
    kept: KeptRun | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """(reference, decode, scope): what `measure_pair` compares for K.

    A short signal: all of it, decoded in full (cached where it fits without evicting). A
    long one: the policy's excerpts, from the cached full decode when there is one, else
    each decoded on its own after a warm-up (codec.analysis.excerpts). pacer: the decode's
    chunks (default: BACKGROUND_CHUNK_FRAMES), checking `cancel` between them; kept: the
    caller's slot for the decode (the whole signal's or the excerpts') that steps aside,
    which goes on where it stopped when asked again.
    """
    codes = comparison.codes
    if codes is None:
        raise ValueError("nothing is encoded yet")
    frames, fs = codes.shape[-1], codec.frame_size
    ranges = policy.metric_ranges(
        frames, codec.frame_rate, comparison.num_samples, comparison.codec_rate
    )
    scope = excerpts.describe(ranges, frames, codec.frame_rate)
    if not scope:  # small chunks: a background measurement steps aside promptly
        chunk = pacer or BACKGROUND_CHUNK_FRAMES
        y = decode(codec, comparison, k, cancel=cancel, keep=False, chunk_frames=chunk, kept=kept)
        return comparison.x24, y, ""
    ref = excerpts.take(comparison.x24, ranges, fs)
    full = comparison.reconstruction(k)
    if full is not None:
        return ref, excerpts.take(full, ranges, fs), scope
    slot, which = kept or KeptRun(), (comparison.generation, k, "excerpts")
    run = slot.resume(
        excerpts.ExcerptRun,
        lambda r: r.matches(codec, comparison, which),
        lambda: excerpts.ExcerptRun(
            codec, codes[:, :k], ranges, comparison.num_samples, policy.warmup_s, comparison, which
        ),
    )
    est = run.run(cancel, pacer)
    slot.drop()
    return ref, est, scope


def measure_pair(
    k: int,
    ref: np.ndarray,
    est: np.ndarray,
    rate: int,
    scope: str = "",
    cancel: CancelCheck | None = None,
) -> Measurement:
    """Every metric of est [C, T] against ref [C, T] at `rate` Hz, channel by channel."""
    channels = []
    for c in range(ref.shape[0]):
        check_cancelled(cancel, "measuring")
        channels.append(channel_metrics(ref[c], est[c], rate, cancel))
    return Measurement.of(k, channels, loudness_match_gain_db(ref, est, rate), scope)


def measure(
    codec: MimiCodec,
    comparison: Comparison,
    k: int,
    policy: LongFilePolicy = DEFAULT_POLICY,
    cancel: CancelCheck | None = None,
) -> Measurement:
    """Decode (or take from the cache) and measure K; the measurement is kept in the
    comparison (unless its codes changed meanwhile)."""
    gen = comparison.generation
    ref, est, scope = measurement_inputs(codec, comparison, k, policy, cancel)
    m = measure_pair(k, ref, est, comparison.codec_rate, scope, cancel)
    comparison.set_measurement(m, gen)
    return m


def stream_check(
    codec: MimiCodec,
    c: Comparison,
    k: int,
    frames: int,
    progress: Callable[[str], sc.Progress] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> sc.StreamCheck:
    """The streaming path against the batch path at K on the first `frames` frames of the
    comparison's codes (all of them, or a policy's share of a long file: `scope` says
    which). The streaming codes are kept on the comparison (one encode serves every K);
    the batch side is the comparison's decode at K where it has one. progress(stage) gives
    the (done, total) callback for "streaming encode" or "streaming decode K=..."."""
    codes = c.codes
    if codes is None:
        raise ValueError("nothing is encoded yet")
    fs = codec.frame_size
    frames = min(frames, codes.shape[-1])
    scope = ""
    if frames < codes.shape[-1]:
        secs = frames / codec.frame_rate
        scope = f"on the first {secs / 60:.1f} min" if secs >= 60 else f"on the first {secs:.1f} s"
    n = min(frames * fs, c.num_samples)
    say = progress or (lambda stage: None)
    gen = c.generation
    stream_codes = c.stream_codes
    if stream_codes is None:
        stream_codes = sc.stream_encode(codec, c.x24[:, :n], say("streaming encode"), cancel)
        c.set_stream_codes(stream_codes, gen)
    y_stream = sc.stream_decode(
        codec, stream_codes[:, :k], n, say(f"streaming decode K={k}"), cancel
    )
    y_batch = c.reconstruction(k)
    if y_batch is None:
        y_batch = decode_signal(codec, codes[:, :k, :frames], n, cancel=cancel)
    check = sc.compare_paths(k, codes[..., :frames], stream_codes, y_batch[:, :n], y_stream, fs)
    check.scope = scope
    return check


def export(
    comparison: Comparison,
    k: int,
    path: str | os.PathLike,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
) -> Path:
    """Write the cached decode at K to `path` at the source's rate and length, block by
    block (a long decode is never held twice), atomically."""
    y = comparison.reconstruction(k)
    if y is None:
        raise ValueError(f"the decode at K = {k} is gone; decode it again to export")
    return write_resampled(
        y,
        comparison.codec_rate,
        path,
        comparison.source_rate,
        comparison.source_length,
        progress,
        cancel,
    )


# ---- file to file: block by block ------------------------------------------------------------
def _code_blocks(
    codec: MimiCodec,
    reader: SourceReader,
    k: int,
    progress: Progress | None,
    cancel: CancelCheck | None,
) -> Iterator[torch.Tensor]:
    """Codes [C, K, f] of the file, chunk by chunk (f = 64 frames but for the last)."""
    info = reader.info
    total = codec.num_frames(round(info.declared_duration * codec.sample_rate))
    enc = EncoderRunner(codec.model, codec.check_k(k))

    def emitted(codes: torch.Tensor) -> Iterator[torch.Tensor]:
        if codes.shape[-1]:
            if progress is not None:
                progress(enc.frames, max(total, enc.frames))
            yield codes

    for block in reader.blocks(codec.sample_rate):
        check_cancelled(cancel, "coding")
        yield from emitted(enc.push(block[:, None, :]))
    yield from emitted(enc.finish())


def encode_file(
    codec: MimiCodec,
    path: str | os.PathLike,
    num_codebooks: int | None = None,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
) -> tuple[torch.Tensor, SourceInfo]:
    """File -> (codes [C, K, ceil(T / frame_size)] int64 on the CPU, what was read).

    Equal to encoding the whole file at the codec rate; only the codes (32 x 12.5 int64 per
    second per channel, 11.5 MB per channel-hour) are held whole.
    """
    reader = SourceReader(path)
    parts = list(
        _code_blocks(codec, reader, num_codebooks or codec.num_codebooks, progress, cancel)
    )
    return torch.cat(parts, dim=-1), reader.info


def roundtrip_file(
    codec: MimiCodec,
    src: str | os.PathLike,
    dst: str | os.PathLike,
    num_codebooks: int | None = None,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
    part: str = "all",
) -> SourceInfo:
    """Code `src` with K codebooks and write the reconstruction to `dst` (.wav or .flac).

    The samples of open -> encode -> decode(K) -> export: the decode is trimmed to the
    signal's length at the codec rate, resampled to the source rate and padded or trimmed
    to the source length. `dst` appears only when complete; a cancel, Ctrl-C or error
    leaves no file and no temporary. part: "all", or "semantic" / "acoustic" to decode one
    group of the split quantizer alone.
    """
    write_format(Path(dst))  # a bad suffix fails before any work
    reader = SourceReader(src)
    info = reader.info
    dec = DecoderRunner(codec.model)
    chunks = _code_blocks(codec, reader, num_codebooks or codec.num_codebooks, progress, cancel)
    try:
        item = next(chunks)  # reads the first block: a bad input fails before any output
        back = StreamResampler(codec.sample_rate, info.sample_rate, info.channels)
        with open_output(dst, info.sample_rate, info.channels) as out:
            decoded = 0  # codec-rate samples decoded so far
            while item is not None:
                codes, item = item, next(chunks, None)
                check_cancelled(cancel, "coding")
                y = dec.push(codes, part)[:, 0].numpy()
                # the last frame is padding beyond the input: trim to the codec-rate length
                keep = y.shape[1] if item is not None else info.num_samples_out - decoded
                decoded += min(keep, y.shape[1])
                out.push(back.push(np.ascontiguousarray(y[:, :keep].T)))
            out.push(back.flush())
            out.close(info.num_samples)
    finally:
        chunks.close()  # closes the input file now, also on errors and Ctrl-C
    return info


def decode_to_file(
    codec: MimiCodec,
    codes: torch.Tensor,
    dst: str | os.PathLike,
    sample_rate: int,
    num_samples: int,
    progress: Progress | None = None,
) -> Path:
    """codes [C, K, F] -> dst at sample_rate, num_samples long (the source's rate and length)."""
    write_format(Path(dst))
    n = round(num_samples * codec.sample_rate / sample_rate)
    y = decode_signal(codec, codes, n, progress)
    # resampled and written block by block: two hours of 48 kHz stereo are never held at
    # the output rate (the same samples as resampling the whole signal; tested)
    return write_resampled(y, codec.sample_rate, dst, sample_rate, num_samples)
