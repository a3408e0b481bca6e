"""One reader for audio files of every length: checked, repaired, block by block.

`SourceReader(path)` opens and checks a file; `blocks(rate)` then yields float32 [C, n]
blocks at the file's own rate or resampled to `rate` (soxr's streaming resampler gives the
same samples as resampling the whole signal at once). Only the block in hand is held, so a
two-hour file costs what a ten-second one does. `load_audio` (the whole file at its own
rate) and `read_resampled` (the whole file at another rate, the source never held) are
built on it; nothing else in the project reads audio files.

Everything it cannot read raises `AudioError` with a one-line reason: missing, unreadable,
empty, truncated or foreign files, absurd headers. What it read but repaired (NaN/Inf
become 0) or that the user should know (peaks beyond full scale, an MP3 or Ogg stream that
may be cut short) is in `info.warnings` once the blocks are exhausted.
"""

from __future__ import annotations

import math
import os
import stat
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from ..errors import AudioError, Cancelled, check_cancelled
from .resample import StreamResampler

MIN_RATE, MAX_RATE = 1_000, 768_000  # Hz; outside this a header is damaged, not exotic
BLOCK_FRAMES = 1 << 17  # source frames per read (5.5 s at 24 kHz; 1 MB per channel)
# A decoder that returns fewer frames than the header promised, beyond this slack, means
# the file is cut short (MP3 frame counts are estimates within an encoder delay or so).
TRUNCATION_SLACK = 4_096
TRUNCATION_SLACK_FRACTION = 0.01

Progress = Callable[[int, int], None]  # (done, total)
CancelCheck = Callable[[], bool]

# What libsndfile and soundfile raise for files they cannot make sense of.
DECODE_ERRORS = (
    sf.LibsndfileError,
    sf.SoundFileError,
    RuntimeError,
    ValueError,
    TypeError,
    OverflowError,
    OSError,
    MemoryError,
)


@dataclass
class Audio:
    """samples float32 [C, T] at `sample_rate` Hz; `warnings` lists what was repaired."""

    samples: np.ndarray
    sample_rate: int
    warnings: list[str]

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate


@dataclass
class SourceInfo:
    """What a file holds: its rate, channels and length, and what reading it found.

    `declared_samples` is the header's length per channel (0 when it cannot say); the
    counts below are complete once the reader's blocks are exhausted.
    """

    name: str
    sample_rate: int
    channels: int
    declared_samples: int = 0
    container: str = ""
    num_samples: int = 0  # per channel, at sample_rate, read so far
    num_samples_out: int = 0  # per channel, at the rate blocks were asked for
    nonfinite: int = 0  # NaN/Inf samples replaced by 0
    over: int = 0  # samples beyond full scale (kept)
    peak: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate

    @property
    def declared_duration(self) -> float:
        return self.declared_samples / self.sample_rate


# ---- checks before libsndfile sees the file -------------------------------------------------
def check_readable(p: Path) -> int:
    """Size in bytes of a readable regular file; AudioError naming the problem otherwise."""
    try:
        st = p.stat()
    except FileNotFoundError:
        raise AudioError(f"file not found: {p}") from None
    except PermissionError:
        raise AudioError(f"no permission to read {p}") from None
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the name
        raise AudioError(f"cannot open {p}: {getattr(e, 'strerror', None) or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise AudioError(f"{p} is a directory, not an audio file")
    if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
        raise AudioError(f"{p} is not a regular file")
    if st.st_size == 0:
        raise AudioError(f"{p.name} is empty (0 bytes)")
    try:  # the honest permission test: open it (os.access ignores ACLs, root, ...)
        with open(p, "rb"):
            pass
    except PermissionError:
        raise AudioError(f"no permission to read {p}") from None
    except OSError as e:
        raise AudioError(f"cannot open {p}: {e.strerror or e}") from None
    return int(st.st_size)


def riff_data_shortfall(path: Path, size: int) -> tuple[int, int] | None:
    """(declared, present) data bytes when a RIFF/WAVE file's data chunk is cut short.

    libsndfile quietly reads what is there, so a half-downloaded WAV would pass for a short
    one. A declared size of 0 or 0xFFFFFFFF (streaming writers) means "unknown": not cut.
    A header that claims less than is present (a recording killed between appending data
    and updating the header) is not cut either: its declared part is complete.
    """
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return None
        endian = "<" if head[:4] == b"RIFF" else ">"
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk = f.read(8)
            (n,) = struct.unpack(endian + "I", chunk[4:8])
            if chunk[:4] == b"data":
                present = size - pos - 8
                if n in (0, 0xFFFFFFFF) or n <= present:
                    return None
                return n, present
            pos += 8 + n + (n & 1)  # chunks are word-aligned
    return None


def ogg_lacks_end(path: Path, size: int) -> bool:
    """True when an Ogg file's last page does not carry the end-of-stream flag.

    An Ogg stream has no total length in any header, and libsndfile takes the length from
    the last page it finds, so a cut file reads as a shorter one; the missing EOS flag
    (header_type bit 0x04 of the final page) is what gives the cut away.
    """
    tail = min(size, 1 << 16)
    with open(path, "rb") as f:
        if f.read(4) != b"OggS":
            return False
        f.seek(size - tail)
        buf = f.read(tail)
    at = buf.rfind(b"OggS")
    while at >= 0:
        if at + 27 <= len(buf) and buf[at + 4] == 0:  # a page header: version 0
            nseg = buf[at + 26]
            body = sum(buf[at + 27 : at + 27 + nseg])
            if at + 27 + nseg + body <= len(buf):  # the last complete page
                return not buf[at + 5] & 0x04
        at = buf.rfind(b"OggS", 0, at)
    return True  # no complete page in the tail at all


def decode_error(name: str, e: BaseException, opened: bool) -> AudioError:
    """One-line AudioError for a libsndfile failure: in the header, or in the data."""
    msg = str(e).splitlines()[0].strip() if str(e).strip() else type(e).__name__
    if opened:
        return AudioError(f"cannot decode {name} (damaged or truncated?): {msg}")
    return AudioError(f"cannot read {name} as audio: {msg}")


def refuse_truncated_riff(p: Path, size: int) -> None:
    """AudioError when a WAV (RIFF) header promises more audio than the file holds."""
    try:
        cut = riff_data_shortfall(p, size)
    except (OSError, ValueError, struct.error):
        return  # let libsndfile give its own reason
    if cut is not None:
        raise AudioError(
            f"{p.name} is truncated: its header promises {cut[0]} bytes of audio but "
            f"only {cut[1]} are there (an interrupted copy or download?)"
        )


def declared_duration(path: str | os.PathLike) -> float | None:
    """Seconds the file's header promises, or None when it cannot say (or cannot be read)."""
    try:
        info = sf.info(str(path))
    except DECODE_ERRORS:
        return None
    if not 0 < info.frames < 1 << 62 or info.samplerate <= 0:
        return None
    return info.frames / info.samplerate


# ---- the reader -------------------------------------------------------------------------------
class SourceReader:
    """An audio file, checked on construction and read in blocks by `blocks()`.

    `info` (a SourceInfo) describes the file as soon as it is constructed; its counts and
    warnings are final once `blocks()` is exhausted. The file itself is opened for each
    pass of `blocks()` and closed when the pass ends (also on errors and early exits).
    """

    def __init__(self, path: str | os.PathLike, block_frames: int | None = None) -> None:
        self.path = Path(path)
        self.block_frames = block_frames or BLOCK_FRAMES
        self.size = check_readable(self.path)
        refuse_truncated_riff(self.path, self.size)
        name = self.path.name
        try:
            snd = sf.SoundFile(str(self.path))
        except DECODE_ERRORS as e:
            raise decode_error(name, e, opened=False) from e
        with snd:
            sr, declared = int(snd.samplerate), int(snd.frames)
            self.info = SourceInfo(
                name,
                sr,
                int(snd.channels),
                declared if 0 < declared < 1 << 62 else 0,  # SF_COUNT_MAX: unknown
                str(snd.format),
            )
        if not MIN_RATE <= sr <= MAX_RATE:
            raise AudioError(
                f"{name} has an unsupported sample rate "
                f"({sr} Hz; {MIN_RATE}..{MAX_RATE} Hz are read)"
            )
        if self.info.channels < 1:
            raise AudioError(f"{name} has no audio channels")

    def blocks(
        self,
        rate: int | None = None,
        progress: Progress | None = None,
        cancel: CancelCheck | None = None,
    ) -> Iterator[np.ndarray]:
        """Yield float32 [C, n] blocks at `rate` (default: the file's own), in order.

        `progress(done, total)` counts source samples per channel; `cancel()` is checked
        before each block (Cancelled). NaN/Inf are replaced by 0; peaks are kept.
        """
        info = self.info
        info.num_samples = info.num_samples_out = info.nonfinite = info.over = 0
        info.peak, info.warnings = 0.0, []
        out_rate = rate or info.sample_rate
        rs = StreamResampler(info.sample_rate, out_rate, info.channels)
        total = info.declared_samples
        for block in self._source_blocks():
            check_cancelled(cancel, "reading")
            y = rs.push(block)
            if progress is not None:
                progress(info.num_samples, max(total, info.num_samples))
            if y.shape[0]:
                info.num_samples_out += y.shape[0]
                yield np.ascontiguousarray(y.T)
        y = rs.flush()
        if y.shape[0]:
            info.num_samples_out += y.shape[0]
            yield np.ascontiguousarray(y.T)
        if info.num_samples_out == 0:
            raise AudioError(f"{info.name} is too short to resample")
        self._finish()

    def _source_blocks(self) -> Iterator[np.ndarray]:
        """Blocks [n, C] float32 at the file's rate, repaired and counted."""
        info, opened = self.info, False
        try:
            with sf.SoundFile(str(self.path)) as snd:
                opened = True  # from here on, a failure is in the audio data, not the header
                while True:
                    block = snd.read(self.block_frames, dtype="float32", always_2d=True)
                    if len(block) == 0:
                        break
                    bad = ~np.isfinite(block)
                    if bad.any():
                        info.nonfinite += int(bad.sum())
                        block[bad] = 0.0
                    peak = float(np.max(np.abs(block)))
                    if peak > 1.0:
                        info.over += int((np.abs(block) > 1.0).sum())
                    info.peak = max(info.peak, peak)
                    info.num_samples += len(block)
                    yield block
        except (AudioError, Cancelled, KeyboardInterrupt, GeneratorExit):
            raise
        except DECODE_ERRORS as e:
            raise decode_error(info.name, e, opened) from e
        if info.num_samples == 0:
            raise AudioError(f"{info.name} contains no samples")

    def _finish(self) -> None:
        """Judge the length read against the header's, and describe the repairs."""
        info, name = self.info, self.info.name
        declared = info.declared_samples
        slack = max(TRUNCATION_SLACK, int(TRUNCATION_SLACK_FRACTION * declared))
        if declared and info.num_samples < declared - slack:
            if info.container != "MP3":
                raise AudioError(
                    f"{name} is truncated: its header promises {declared} samples per "
                    f"channel but only {info.num_samples} could be decoded"
                )
            # An MP3's length is an estimate unless it has a Xing/Info header (VBR files
            # without one are misjudged), so a shortfall is reported, not refused.
            info.warnings.append(
                f"{name} may be truncated: about {declared} samples per channel were "
                f"expected, {info.num_samples} were decoded"
            )
        try:
            cut_ogg = info.container == "OGG" and ogg_lacks_end(self.path, self.size)
        except OSError:  # vanished since it was read: the samples are in hand anyway
            cut_ogg = False
        if cut_ogg:
            info.warnings.append(
                f"{name} may be truncated: its Ogg stream stops without an end marker "
                f"({info.duration:.2f} s were decoded)"
            )
        if info.nonfinite:
            info.warnings.append(f"{info.nonfinite} NaN/Inf samples were replaced by silence")
        if info.over:
            info.warnings.append(
                f"{info.over} samples exceed full scale (peak {info.peak:.2f}, "
                f"{20 * np.log10(info.peak):+.1f} dBFS); they are coded as they are, not "
                f"clipped (a FLAC export clips them to ±1)"
            )


def _collect(blocks: Iterator[np.ndarray], channels: int, expected: int) -> np.ndarray:
    """Blocks [C, n] written into one array [C, T], sized from `expected` and grown when a
    header undercounts: the result is held once, never as blocks plus their concatenation."""
    out = np.zeros((channels, max(expected, 1)), np.float32)
    n = 0
    for y in blocks:
        if n + y.shape[1] > out.shape[1]:
            grown = np.zeros((channels, max(2 * out.shape[1], n + y.shape[1])), np.float32)
            grown[:, :n] = out[:, :n]
            out = grown
        out[:, n : n + y.shape[1]] = y
        n += y.shape[1]
    if n == out.shape[1]:
        return out
    if channels == 1:
        return out[:, :n]  # a contiguous view: no copy of a long mono signal
    return np.ascontiguousarray(out[:, :n])


def _expected(reader: SourceReader, rate: int) -> int:
    """Samples per channel to allocate for the whole file at `rate`.

    A damaged header can claim billions of frames: a claim beyond 32x the file's size (or
    64 MB) in float32 is not believed, and memory then follows what the file really holds.
    """
    info = reader.info
    declared = info.declared_samples
    if declared * info.channels * 4 > max(1 << 26, 32 * reader.size):
        declared = 0
    return math.ceil(declared * rate / info.sample_rate) + 64 if declared else BLOCK_FRAMES


def read_resampled(
    path: str | os.PathLike,
    rate: int,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
) -> tuple[np.ndarray, SourceInfo]:
    """File -> ([C, T] float32 at `rate`, what was read), block by block.

    Equal to `resample(load_audio(path).samples, sr, rate)`, but the source is never held
    whole: memory is the result plus one block. `progress(done, total)` is in source samples
    per channel; `cancel()` is checked between blocks (Cancelled).
    """
    return _read(SourceReader(path), rate, progress, cancel)


def load_audio(path: str | os.PathLike) -> Audio:
    """Read any file soundfile reads into float32 [C, T] at its own rate.

    Raises AudioError (one-line reason) and nothing else for files it cannot read.
    NaN and Inf samples are replaced by 0, and samples beyond ±1.0 are kept as they are;
    both are reported in `warnings`.
    """
    reader = SourceReader(path)
    x, info = _read(reader, reader.info.sample_rate)
    return Audio(x, info.sample_rate, info.warnings)


def _read(
    reader: SourceReader,
    rate: int,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
) -> tuple[np.ndarray, SourceInfo]:
    blocks = reader.blocks(rate, progress, cancel)
    return _collect(blocks, reader.info.channels, _expected(reader, rate)), reader.info
