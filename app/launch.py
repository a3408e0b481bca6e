"""Start the Qt application (filled in by the app issue)."""

from __future__ import annotations


def launch(args: list[str]) -> int:
    import sys

    print("mimi-explorer: the GUI is not built yet; use a command, see --help", file=sys.stderr)
    return 2
