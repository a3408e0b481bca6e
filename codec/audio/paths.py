"""Output paths that never destroy the user's input, and folders that are not invented.

Every command checks its output against its inputs before it reads anything: two spellings
of one file (`./x.wav`, `/abs/x.wav`, a symbolic link, a hard link) are the same file, and a
command refuses to write over it. A folder that does not exist is an error, as it is for
sox or ffmpeg, rather than a tree quietly created.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import CodecError


class OutputError(CodecError):
    """An output path that would destroy an input, or that cannot be created."""


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when a and b name one file: the same resolved path, or the same inode."""
    pa, pb = Path(a).expanduser(), Path(b).expanduser()
    try:
        if pa.resolve() == pb.resolve():
            return True
    except (OSError, RuntimeError):  # a symlink loop: compare what can be compared
        pass
    try:
        return os.path.samefile(pa, pb)
    except OSError:  # one of them does not exist (yet): they cannot be one file
        return False


def check_output(
    output: str | os.PathLike, *inputs: str | os.PathLike, folder: bool = False
) -> Path:
    """The output path, checked: not one of `inputs`, inside a folder that exists.

    With folder=True the output is itself a folder (created later by the caller): then it
    must not be an input, and its parent must exist; an input file inside it is fine only
    if the command never writes that name (the caller's concern).
    """
    out = Path(output).expanduser()
    for src in inputs:
        if same_file(out, src):
            raise OutputError(f"refusing to write {output}: it is the input file {src}")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"cannot write {output}: the folder {parent} does not exist")
    if folder and out.exists() and not out.is_dir():
        raise OutputError(f"cannot write into {output}: it is a file, not a folder")
    if not folder and out.is_dir():
        raise OutputError(f"cannot write {output}: it is a folder")
    return out
