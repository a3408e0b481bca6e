"""Files of any length coded in bounded memory: read, resample, code and write in blocks.

The whole-file path (`audio.load_audio` + `pipeline`) holds the signal several times over
(source, 24 kHz copy, reconstruction, resampled reconstruction): about 4 GB for two hours of
stereo 48 kHz. Here the input is read `BLOCK_FRAMES` at a time, resampled with
`soxr.ResampleStream`, coded in the same 64-frame chunks with the same carried state as
`MimiCodec.encode` / `decode`, and written block by block to a temporary file that is
renamed onto the output only when complete. Memory then depends on the block sizes, not on
the duration; the result equals the whole-file path (same chunk edges, same soxr filter).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

from .atomic import atomic_write
from .audio import (
    _DECODE_ERRORS,
    MAX_RATE,
    MIN_RATE,
    TRUNCATION_SLACK,
    TRUNCATION_SLACK_FRACTION,
    _check_readable,
    decode_error,
    refuse_truncated_riff,
    write_format,
)
from .errors import AudioError, Cancelled
from .mimi_codec import BATCH_CHUNK_FRAMES, CancelCheck, MimiCodec, Progress

BLOCK_FRAMES = 1 << 17  # source frames per read (5.5 s at 24 kHz; 1 MB per channel)
# Inputs longer than this (seconds) take the streamed path in the CLI; shorter ones keep
# the whole-file path, whose memory is small at that length anyway.
LONG_INPUT_S = 600.0


@dataclass
class StreamInfo:
    """What a streamed job read: the source's rate and length, and repairs made."""

    sample_rate: int
    channels: int
    num_samples: int = 0  # per channel, at sample_rate
    num_samples_24: int = 0  # per channel, at the codec rate
    nonfinite: int = 0  # NaN/Inf samples replaced by 0
    over: int = 0  # samples beyond full scale (kept)
    peak: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate


def declared_duration(path: str | os.PathLike) -> float | None:
    """Seconds the file's header promises, or None when it cannot say (or cannot be read)."""
    try:
        info = sf.info(str(path))
    except _DECODE_ERRORS:
        return None
    if not 0 < info.frames < 1 << 62 or info.samplerate <= 0:
        return None
    return info.frames / info.samplerate


def is_long(path: str | os.PathLike, limit_s: float | None = None) -> bool:
    """True when the header says the file is longer than `limit_s` (default LONG_INPUT_S)."""
    d = declared_duration(path)
    return d is not None and d > (LONG_INPUT_S if limit_s is None else limit_s)


class _Resampler:
    """Block-wise soxr (HQ, the filter `audio.resample` uses); identity at equal rates.

    `push([n, C])` and `flush()` return [m, C] float32; the concatenation equals
    `soxr.resample` of the concatenated input (checked in tests).
    """

    def __init__(self, sr_in: int, sr_out: int, channels: int) -> None:
        self.stream = (
            None
            if sr_in == sr_out
            else soxr.ResampleStream(sr_in, sr_out, channels, dtype="float32", quality="HQ")
        )
        self.channels = channels

    def push(self, x: np.ndarray, last: bool = False) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self.stream is None:
            return x
        y = self.stream.resample_chunk(x, last=last)
        return y.reshape(-1, self.channels).astype(np.float32, copy=False)

    def flush(self) -> np.ndarray:
        return self.push(np.zeros((0, self.channels), np.float32), last=True)


class ChunkEncoder:
    """24 kHz blocks of any size -> codes, in `MimiCodec.encode`'s chunks and state.

    `push(x [C, n])` returns the codes [C, K, 64] of every chunk completed so far (a list,
    possibly empty); `finish()` codes the remainder (the model pads the last frame).
    """

    def __init__(self, codec: MimiCodec, channels: int, k: int) -> None:
        self.codec, self.k = codec, codec._check_k(k)
        self.step = BATCH_CHUNK_FRAMES * codec.frame_size  # samples per chunk
        self.state = codec.model.init_encoder_state()
        self.buf = np.zeros((channels, 0), np.float32)
        self.samples = 0  # 24 kHz samples pushed

    @torch.inference_mode()
    def _code(self, x: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(x))[:, None, :].to(self.codec.device)
        return self.codec.model.encode(t, self.k, self.state).cpu()

    def push(self, x: np.ndarray) -> list[torch.Tensor]:
        self.samples += x.shape[1]
        self.buf = np.concatenate([self.buf, x], axis=1) if self.buf.shape[1] else x
        out = []
        while self.buf.shape[1] >= self.step:
            out.append(self._code(self.buf[:, : self.step]))
            self.buf = self.buf[:, self.step :]
        return out

    def finish(self) -> list[torch.Tensor]:
        if self.buf.shape[1] == 0:
            return []
        out, self.buf = [self._code(self.buf)], self.buf[:, :0]
        return out


class ChunkDecoder:
    """codes [C, K, f] chunks (f <= 64) -> audio [C, 1920 f], `MimiCodec.decode`'s state."""

    def __init__(self, codec: MimiCodec) -> None:
        self.codec = codec
        self.state = codec.model.init_decoder_state()

    @torch.inference_mode()
    def __call__(self, codes: torch.Tensor) -> np.ndarray:
        y = self.codec.model.decode(codes.to(self.codec.device), self.state)
        return y[:, 0].cpu().numpy()


def _read_blocks(path: Path, info_out: list[StreamInfo]) -> Iterator[np.ndarray]:
    """Blocks [n, C] float32 of a file, checked like `load_audio` (AudioError otherwise).

    NaN/Inf become 0 and are counted, peaks beyond full scale are counted; the first item
    appended to `info_out` describes the file as soon as it is open.
    """
    size = _check_readable(path)
    refuse_truncated_riff(path, size)
    opened = False
    try:
        with sf.SoundFile(str(path)) as snd:
            opened = True
            sr, declared = int(snd.samplerate), int(snd.frames)
            if not MIN_RATE <= sr <= MAX_RATE:
                raise AudioError(
                    f"{path.name} has an unsupported sample rate ({sr} Hz; "
                    f"{MIN_RATE}..{MAX_RATE} Hz are read)"
                )
            info = StreamInfo(sr, int(snd.channels))
            info_out.append(info)
            while True:
                block = snd.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
                if len(block) == 0:
                    break
                bad = ~np.isfinite(block)
                if bad.any():
                    info.nonfinite += int(bad.sum())
                    block[bad] = 0.0
                mag = np.abs(block)
                info.over += int((mag > 1.0).sum())
                info.peak = max(info.peak, float(mag.max()))
                info.num_samples += len(block)
                yield block
    except (AudioError, Cancelled, KeyboardInterrupt):
        raise
    except _DECODE_ERRORS as e:
        raise decode_error(path.name, e, opened) from e
    if info.num_samples == 0:
        raise AudioError(f"{path.name} contains no samples")
    slack = max(TRUNCATION_SLACK, int(TRUNCATION_SLACK_FRACTION * declared))
    if 0 < declared < 1 << 62 and info.num_samples < declared - slack:
        raise AudioError(
            f"{path.name} is truncated: its header promises {declared} samples per "
            f"channel but only {info.num_samples} could be decoded"
        )
    if info.nonfinite:
        info.warnings.append(f"{info.nonfinite} NaN/Inf samples were replaced by silence")
    if info.over:
        info.warnings.append(
            f"{info.over} samples exceed full scale (peak {info.peak:.2f}, "
            f"{20 * np.log10(info.peak):+.1f} dBFS); they are coded as they are, not clipped "
            f"(a FLAC export clips them to ±1)"
        )


def _expected_frames(path: Path, codec: MimiCodec) -> int:
    """Codec frames the header's length implies (for progress; 0 when unknown)."""
    d = declared_duration(path)
    return 0 if d is None else math.ceil(d * codec.sample_rate / codec.frame_size)


def _codes_24k(
    codec: MimiCodec,
    path: Path,
    k: int,
    progress: Progress | None,
    cancel: CancelCheck | None,
    info_out: list[StreamInfo],
) -> Iterator[torch.Tensor]:
    """Yield codes [C, K, f] chunk by chunk over the file (f = 64 but for the last).

    `info_out[0].num_samples_24` is set once the last chunk has been yielded.
    """
    total = _expected_frames(path, codec)
    enc: ChunkEncoder | None = None
    rs: _Resampler | None = None
    done = 0

    def emit(chunks: list[torch.Tensor]) -> Iterator[torch.Tensor]:
        nonlocal done
        for c in chunks:
            done += c.shape[-1]
            if progress is not None:
                progress(done, max(total, done))
            yield c

    for block in _read_blocks(path, info_out):
        if cancel is not None and cancel():
            raise Cancelled("coding cancelled")
        if enc is None:
            info = info_out[0]
            enc = ChunkEncoder(codec, info.channels, k)
            rs = _Resampler(info.sample_rate, codec.sample_rate, info.channels)
        assert rs is not None
        x24 = rs.push(block)
        if len(x24):
            yield from emit(enc.push(np.ascontiguousarray(x24.T)))
    assert enc is not None and rs is not None  # _read_blocks raised for an empty file
    tail = rs.flush()
    if len(tail):
        yield from emit(enc.push(np.ascontiguousarray(tail.T)))
    if enc.samples == 0:
        raise AudioError(f"{path.name} is too short to resample")
    yield from emit(enc.finish())
    info_out[0].num_samples_24 = enc.samples


def stream_encode(
    codec: MimiCodec,
    path: str | os.PathLike,
    num_codebooks: int | None = None,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
) -> tuple[torch.Tensor, StreamInfo]:
    """File -> (codes [C, K, ceil(T24 / 1920)] int64 on the CPU, what was read).

    Equal to `encode_signal(codec, to_codec_rate(load_audio(path)))`; only the codes (32 x
    12.5 int64 per second per channel, 11.5 MB per channel-hour) are held whole.
    """
    infos: list[StreamInfo] = []
    k = num_codebooks or codec.num_codebooks
    parts = list(_codes_24k(codec, Path(path), k, progress, cancel, infos))
    return torch.cat(parts, dim=-1), infos[0]


class _Writer:
    """Writes [n, C] blocks to an open SoundFile, holding back a short tail.

    The output must end at exactly `limit` samples (the source length), which is known
    only when the input is exhausted; the last few resampled samples may overshoot it by a
    sample or so, so `HOLD` samples stay in memory until `close(limit)`.
    """

    HOLD = 4096

    def __init__(self, snd: sf.SoundFile, clip: bool) -> None:
        self.snd, self.clip = snd, clip
        self.tail = np.zeros((0, snd.channels), np.float32)
        self.written = 0

    def _write(self, x: np.ndarray) -> None:
        if len(x):
            self.snd.write(np.clip(x, -1.0, 1.0) if self.clip else x)
            self.written += len(x)

    def push(self, x: np.ndarray) -> None:
        self.tail = np.concatenate([self.tail, x]) if len(self.tail) else x
        if len(self.tail) > self.HOLD:
            self._write(self.tail[: -self.HOLD])
            self.tail = self.tail[-self.HOLD :]

    def close(self, limit: int) -> None:
        x = self.tail[: max(limit - self.written, 0)]
        if len(x) < limit - self.written:  # pad with silence, as `from_codec_rate` does
            x = np.pad(x, ((0, limit - self.written - len(x)), (0, 0)))
        self._write(x)
        self.tail = self.tail[:0]


@contextmanager
def _open_output(
    dst: Path, fmt: tuple[str, str], sample_rate: int, channels: int
) -> Iterator[_Writer]:
    """A _Writer on a temporary file that is renamed onto dst only if the block ends
    without an exception (codec.atomic); FLAC output is clipped to +-1."""
    with (
        atomic_write(dst) as tmp,
        sf.SoundFile(
            str(tmp), "w", samplerate=sample_rate, channels=channels, format=fmt[0], subtype=fmt[1]
        ) as snd,
    ):
        yield _Writer(snd, clip=fmt[0] == "FLAC")


def stream_roundtrip(
    codec: MimiCodec,
    src: str | os.PathLike,
    dst: str | os.PathLike,
    num_codebooks: int | None = None,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
) -> StreamInfo:
    """Code `src` with K codebooks and write the reconstruction to `dst` (.wav or .flac).

    Same samples as the whole-file roundtrip (codes -> decode -> trim to the 24 kHz length
    -> resample to the source rate -> pad/trim to the source length). `dst` appears only
    when complete; a cancel (Cancelled), Ctrl-C or error leaves no file and no temporary.
    """
    src_p, dst_p = Path(src), Path(dst)
    fmt = write_format(dst_p)
    k = num_codebooks or codec.num_codebooks
    infos: list[StreamInfo] = []
    dec = ChunkDecoder(codec)
    chunks = _codes_24k(codec, src_p, k, progress, cancel, infos)
    try:
        first = next(chunks, None)  # opens and checks the input before any output exists
        assert first is not None and infos
        info = infos[0]
        back = _Resampler(codec.sample_rate, info.sample_rate, info.channels)
        with _open_output(dst_p, fmt, info.sample_rate, info.channels) as out:
            decoded = 0  # 24 kHz samples decoded so far
            item: torch.Tensor | None = first
            while item is not None:
                codes, item = item, next(chunks, None)
                if cancel is not None and cancel():
                    raise Cancelled("coding cancelled")
                y = dec(codes)
                # the last frame is padding beyond the input: trim to the 24 kHz length
                keep = y.shape[1] if item is not None else info.num_samples_24 - decoded
                decoded += min(keep, y.shape[1])
                out.push(back.push(np.ascontiguousarray(y[:, :keep].T)))
            out.push(back.flush())
            out.close(info.num_samples)
    except sf.LibsndfileError as e:
        raise AudioError(f"cannot write {dst_p}: {e}") from e
    finally:
        chunks.close()  # closes the input file now, also on errors and Ctrl-C
    return info


def read_resampled(
    path: str | os.PathLike,
    rate: int,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
) -> tuple[np.ndarray, StreamInfo]:
    """File -> ([C, T] float32 at `rate`, what was read), reading block by block.

    Equal to `resample(load_audio(path).samples, sr, rate)`, but the source is never held
    whole: memory is the result plus one block. The result goes straight into an array
    sized from the header (grown when a header undercounts). `progress(done, total)` is in
    source samples per channel; `cancel()` is checked between blocks (Cancelled).
    """
    p = Path(path)
    infos: list[StreamInfo] = []
    d = declared_duration(p)
    out: np.ndarray | None = None
    n = 0
    rs: _Resampler | None = None

    def put(y: np.ndarray) -> None:  # y [m, C]
        nonlocal out, n
        assert out is not None
        if n + len(y) > out.shape[1]:
            grown = np.zeros((out.shape[0], max(2 * out.shape[1], n + len(y))), np.float32)
            grown[:, :n] = out[:, :n]
            out = grown
        out[:, n : n + len(y)] = y.T
        n += len(y)

    blocks = _read_blocks(p, infos)
    try:
        for block in blocks:
            if cancel is not None and cancel():
                raise Cancelled("loading cancelled")
            info = infos[0]
            if out is None:
                expected = math.ceil((d or 0.0) * rate) + 64
                out = np.zeros((info.channels, max(expected, BLOCK_FRAMES)), np.float32)
                rs = _Resampler(info.sample_rate, rate, info.channels)
            assert rs is not None
            put(rs.push(block))
            if progress is not None:
                total = round(d * info.sample_rate) if d else info.num_samples
                progress(info.num_samples, max(total, info.num_samples))
    finally:
        blocks.close()
    assert out is not None and rs is not None
    put(rs.flush())
    info = infos[0]
    if n == 0:
        raise AudioError(f"{p.name} is too short to resample")
    info.num_samples_24 = n
    if n == out.shape[1]:
        return out, info
    if out.shape[0] == 1:
        return out[:, :n], info  # a contiguous view: no copy of a long mono signal
    return np.ascontiguousarray(out[:, :n]), info


def write_resampled(
    y: np.ndarray,
    rate: int,
    dst: str | os.PathLike,
    sample_rate: int,
    num_samples: int,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
) -> None:
    """Write y [C, T] at `rate` to dst (.wav/.flac) at sample_rate, num_samples long.

    Same samples as `write_audio(dst, from_codec_rate(y, rate, sample_rate, num_samples),
    sample_rate)`, resampled and written block by block, so a long signal is never held
    twice. Atomic: dst appears only when complete (Cancelled and errors leave nothing).
    """
    dst_p = Path(dst)
    fmt = write_format(dst_p)
    channels, total = y.shape
    back = _Resampler(rate, sample_rate, channels)
    try:
        with _open_output(dst_p, fmt, sample_rate, channels) as out:
            for s in range(0, total, BLOCK_FRAMES):
                if cancel is not None and cancel():
                    raise Cancelled("export cancelled")
                out.push(back.push(np.ascontiguousarray(y[:, s : s + BLOCK_FRAMES].T)))
                if progress is not None:
                    progress(min(s + BLOCK_FRAMES, total), total)
            out.push(back.flush())
            out.close(num_samples)
    except (sf.LibsndfileError, OSError) as e:
        raise AudioError(f"cannot write {dst_p}: {e}") from e
