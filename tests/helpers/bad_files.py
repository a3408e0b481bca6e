"""Damaged and odd audio files, made by the tests (never by the code under test)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .cli import TINY
from .signals import speechlike, write_tone

__all__ = ["BAD", "TINY", "make_truncated", "tone"]


def tone(seconds: float, sr: int, channels: int = 1) -> np.ndarray:
    """[T, C] float32 test signal, different per channel."""
    return speechlike(seconds, sr, batch=channels)[:, 0].numpy().T.copy()


def make_truncated(path: Path) -> None:
    write_tone(path, seconds=0.5, sr=24_000, channels=1)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # an interrupted download


BAD = {
    "empty": (lambda p: p.write_bytes(b""), "empty (0 bytes)"),
    "truncated": (make_truncated, "is truncated"),
    "text": (lambda p: p.write_text("this is text, not audio\n" * 20), "cannot read"),
    "directory": (lambda p: p.mkdir(), "is a directory"),
    "missing": (lambda p: None, "file not found"),
}
