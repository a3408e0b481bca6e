"""Audio files in and out: keep channels, resample with soxr, write WAV/FLAC atomically.

Arrays are float32 [C, T] (channels first) in this package. Files keep their own rate;
`to_codec_rate` / `from_codec_rate` convert to and from the codec's 24 kHz.

`load_audio` raises only `AudioError` (one-line reason) for anything it cannot read:
missing, unreadable, empty, truncated or foreign files, absurd headers. What it can read
but had to repair (NaN/Inf) or wants the user to know (peaks beyond full scale) goes in
`Audio.warnings`.
"""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .atomic import atomic_write
from .errors import AudioError

WRITE_FORMATS = {".wav": ("WAV", "FLOAT"), ".flac": ("FLAC", "PCM_24")}
MIN_RATE, MAX_RATE = 1_000, 768_000  # Hz; outside this a header is damaged, not exotic
READ_BLOCK_SAMPLES = 1 << 22  # samples (all channels) per read: 16 MB of float32
# A decoder that returns fewer frames than the header promised, beyond this slack, means
# the file is cut short (MP3 frame counts are estimates within an encoder delay or so).
TRUNCATION_SLACK = 4_096
TRUNCATION_SLACK_FRACTION = 0.01


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


def _check_readable(p: Path) -> int:
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


def _read_all(snd: sf.SoundFile, file_bytes: int) -> np.ndarray:
    """All frames as float32 [T, C], without trusting the header's frame count blindly.

    A plausible count (its float32 size at most 32x the file's, or 64 MB) is read in one
    allocation. A damaged header can claim billions of frames, so anything else is read
    block by block: memory then follows what the file really holds.
    """
    declared, ch = int(snd.frames), max(snd.channels, 1)
    if 0 < declared < 1 << 62 and declared * ch * 4 <= max(1 << 26, 32 * file_bytes):
        head = snd.read(declared, dtype="float32", always_2d=True)
        tail = _read_blocks(snd)  # a header that undercounts: keep what follows
        return head if len(tail) == 0 else np.concatenate([head, tail])
    return _read_blocks(snd)


def _read_blocks(snd: sf.SoundFile) -> np.ndarray:
    """The remaining frames as float32 [T, C], read in bounded blocks."""
    per = max(1, READ_BLOCK_SAMPLES // max(snd.channels, 1))
    parts = []
    while True:
        block = snd.read(per, dtype="float32", always_2d=True)
        if len(block) == 0:
            break
        parts.append(block)
    if not parts:
        return np.zeros((0, snd.channels), np.float32)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


# What libsndfile and soundfile raise for files they cannot make sense of.
_DECODE_ERRORS = (
    sf.LibsndfileError,
    sf.SoundFileError,
    RuntimeError,
    ValueError,
    TypeError,
    OverflowError,
    OSError,
    MemoryError,
)


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


def load_audio(path: str | os.PathLike) -> Audio:
    """Read any file soundfile reads into float32 [C, T] at its own rate.

    Raises AudioError (one-line reason) and nothing else for files it cannot read.
    NaN and Inf samples are replaced by 0, and samples beyond ±1.0 are kept as they are;
    both are reported in `warnings`.
    """
    p = Path(path)
    size = _check_readable(p)
    refuse_truncated_riff(p, size)
    opened = False
    try:
        with sf.SoundFile(str(p)) as snd:
            opened = True  # from here on, a failure is in the audio data, not the header
            sr, declared, container = int(snd.samplerate), int(snd.frames), snd.format
            if not MIN_RATE <= sr <= MAX_RATE:
                raise AudioError(
                    f"{p.name} has an unsupported sample rate ({sr} Hz; "
                    f"{MIN_RATE}..{MAX_RATE} Hz are read)"
                )
            data = _read_all(snd, size)
    except AudioError:
        raise
    except _DECODE_ERRORS as e:
        raise decode_error(p.name, e, opened) from e
    if data.shape[0] == 0:
        raise AudioError(f"{p.name} contains no samples")
    warnings = []
    slack = max(TRUNCATION_SLACK, int(TRUNCATION_SLACK_FRACTION * declared))
    # libsndfile uses SF_COUNT_MAX for "unknown length"
    if 0 < declared < 1 << 62 and data.shape[0] < declared - slack:
        if container != "MP3":
            raise AudioError(
                f"{p.name} is truncated: its header promises {declared} samples per "
                f"channel but only {data.shape[0]} could be decoded"
            )
        # An MP3's length is an estimate unless it has a Xing/Info header (VBR files
        # without one are misjudged), so a shortfall is reported, not refused.
        warnings.append(
            f"{p.name} may be truncated: about {declared} samples per channel were "
            f"expected, {data.shape[0]} were decoded"
        )
    try:
        cut_ogg = container == "OGG" and ogg_lacks_end(p, size)
    except OSError:  # vanished since it was read: the samples are in hand anyway
        cut_ogg = False
    if cut_ogg:
        warnings.append(
            f"{p.name} may be truncated: its Ogg stream stops without an end marker "
            f"({data.shape[0] / sr:.2f} s were decoded)"
        )
    samples = np.ascontiguousarray(data.T)
    return Audio(samples, sr, warnings + _repair(samples))


def _repair(samples: np.ndarray) -> list[str]:
    """Zero NaN/Inf in place; describe that and any peak beyond full scale."""
    warnings = []
    bad = ~np.isfinite(samples)
    if bad.any():
        warnings.append(f"{int(bad.sum())} NaN/Inf samples were replaced by silence")
        samples[bad] = 0.0
    over = np.abs(samples) > 1.0
    if over.any():
        peak = float(np.abs(samples).max())
        warnings.append(
            f"{int(over.sum())} samples exceed full scale (peak {peak:.2f}, "
            f"{20 * np.log10(peak):+.1f} dBFS); they are coded as they are, not clipped "
            f"(a FLAC export clips them to ±1)"
        )
    return warnings


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """[C, T] float32 from sr_in to sr_out (soxr, high quality); returns a new array."""
    if sr_in == sr_out:
        return np.array(x, dtype=np.float32, copy=True)
    y = soxr.resample(np.ascontiguousarray(x.T), sr_in, sr_out, quality="HQ")
    if y.ndim == 1:
        y = y[:, None]
    return np.ascontiguousarray(y.T, dtype=np.float32)


def write_format(path: Path) -> tuple[str, str]:
    """(libsndfile format, subtype) for writing `path` by its suffix (WRITE_FORMATS);
    AudioError for any other suffix."""
    fmt = WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise AudioError(
            f"cannot write {path.suffix or 'files without an extension'}: use .wav or .flac"
        )
    return fmt


def write_audio(path: str | os.PathLike, samples: np.ndarray, sample_rate: int) -> Path:
    """Write [C, T] float32 to WAV (float) or FLAC (24-bit), atomically.

    The data goes to a hidden temporary file in the same folder, is fsynced, then renamed
    onto `path`: a crash or an error midway leaves no partial file under the final name and
    no temporary behind (see codec.atomic).
    """
    p = Path(path)
    fmt = write_format(p)
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[None]
    if fmt[0] == "FLAC":
        x = np.clip(x, -1.0, 1.0)  # FLAC is integer PCM: clip rather than wrap
    try:
        with atomic_write(p) as tmp:
            sf.write(str(tmp), x.T, sample_rate, format=fmt[0], subtype=fmt[1])
    except (sf.LibsndfileError, OSError) as e:
        raise AudioError(f"cannot write {p}: {e}") from e
    return p
