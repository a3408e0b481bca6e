"""Tests that need something the machine may lack: skipped with the reason on a developer's
machine, failed with the reason in CI (where `CI` is set), so nothing skips silently there."""

from __future__ import annotations

import importlib
import os
import shutil

import pytest


def need(ok: bool, why: str) -> None:
    """Skip (or, in CI, fail) the calling test unless `ok`."""
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"cannot run in CI: {why}", pytrace=False)
    pytest.skip(why)


def need_program(name: str, why: str = "") -> None:
    need(shutil.which(name) is not None, f"{name} is not installed{f' ({why})' if why else ''}")


def need_module(name: str, minversion: str | None = None):
    """The module, imported; or skip/fail as `need` does."""
    try:
        mod = importlib.import_module(name)
    except ImportError as e:
        need(False, f"{name} cannot be imported: {e}")
        raise  # unreachable: need() skipped or failed
    if minversion is not None:
        have = getattr(mod, "__version__", "0")
        need(_version(have) >= _version(minversion), f"{name} {have} < {minversion}")
    return mod


def _version(v: str) -> tuple[int, ...]:
    """'5.24.0.dev0' -> (5, 24, 0): the numeric release parts."""
    parts = []
    for p in v.split("."):
        digits = "".join(ch for ch in p if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)
