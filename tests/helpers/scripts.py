"""Importing one of the project's scripts (scripts/*.py) as a module, to test its parts."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from .paths import ROOT


def load_script(name: str) -> ModuleType:
    """scripts/<name>.py as a module (loaded once per test session)."""
    key = f"mimi_scripts.{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[key] = mod
    spec.loader.exec_module(mod)
    return mod
