"""Atomic file writes: a temporary file beside the target, fsync, then os.replace.

Readers (and a crash at any moment) see either the old file or the complete new one,
never a half-written file under the final name; a failed write leaves no temporary behind.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_SUFFIX = ".part"


def _fsync_path(path: Path, directory: bool = False) -> None:
    """Push a file's (or a folder's entries') data to the disk; best effort for folders."""
    try:
        fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    except OSError:
        if directory:
            return  # some file systems cannot open folders; the rename still happened
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def temp_path_beside(path: Path) -> Path:
    """Create (O_EXCL, mode 0666 minus umask) and return an empty hidden temp file.

    The folder must exist: a missing one raises FileNotFoundError rather than being made.
    """
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:  # astronomically rare: pick another name
            continue


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path`, on error it is removed.

    The temporary lives in the same folder, so os.replace is a rename on one file system.
    Any exception (KeyboardInterrupt included) removes it and propagates unchanged.
    """
    final = Path(path)
    tmp = temp_path_beside(final)
    try:
        yield tmp
        _fsync_path(tmp)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_path(final.parent, directory=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8) to `path` through atomic_write; returns the path."""
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
