"""Reports: the `report` command's files and the figure it shares with the window."""

from .figure import render_figure
from .make import make_report

__all__ = ["make_report", "render_figure"]
