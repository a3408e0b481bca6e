"""Mimi Explorer entry point.

python main.py [FILE]                 open the app (optionally with a file)
python main.py roundtrip IN -o OUT    code a file and write the reconstruction
python main.py encode IN -o CODES     python main.py decode CODES -o OUT
python main.py bench [--json]         speed on this machine
python main.py live [--seconds S]     mic -> codec -> speaker, live, without a window
"""

from __future__ import annotations

import os
import sys

# numpy's OpenBLAS spins a thread per core; beside torch's threads on a 2-core machine
# its small eigen- and matrix problems ran 80x slower (1.5 s for one 256 x 256 eigh).
# Must be set before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "live":  # needs PortAudio, not Qt: kept out of codec/
        from app.cli.live import main as live

        return live(args[1:])
    from codec.cli import COMMANDS, run

    if args and (args[0] in COMMANDS or args[0] in ("-h", "--help")):
        return run(args)
    from app.launch import launch

    return launch(args)


if __name__ == "__main__":
    sys.exit(main())
