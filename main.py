"""Mimi Explorer entry point.

python main.py [FILE]                 open the app (optionally with a file)
python main.py roundtrip IN -o OUT    code a file and write the reconstruction
python main.py encode IN -o CODES     python main.py decode CODES -o OUT
python main.py bench [--json]         speed on this machine
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    from codec.cli import COMMANDS, run

    if args and (args[0] in COMMANDS or args[0] in ("-h", "--help")):
        return run(args)
    from app.launch import launch

    return launch(args)


if __name__ == "__main__":
    sys.exit(main())
