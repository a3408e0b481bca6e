"""The command line (`main.py COMMAND`)."""

from .main import COMMANDS, PROG, build_parser, run

__all__ = ["COMMANDS", "PROG", "build_parser", "run"]
