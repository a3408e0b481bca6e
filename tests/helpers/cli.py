"""Running `main.py` as a user would, and judging its one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TINY = ["--weights", "random:tiny", "--device", "cpu"]


def run_cli(*args: str, timeout: int = 300, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`python main.py ARGS` in `cwd` (default: the checkout), offline."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
    )


def assert_one_line_error(r: subprocess.CompletedProcess, pattern: str) -> None:
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) >= 1 and pattern in lines[-1], r.stderr
    assert lines[-1].startswith("mimi-explorer: error:")
