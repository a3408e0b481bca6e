"""The project's colours, one palette for the window and the report figures alike."""

from __future__ import annotations

BACKGROUND = "#1e1e1e"
FOREGROUND = "#d4d4d4"
ORIGINAL = "#8ecae6"  # light blue, as in codec write-ups
RECONSTRUCTION = "#fb8500"  # orange
DIFFERENCE = "#b0b0b0"
STREAM_DIFFERENCE = "#e056fd"  # violet: streaming minus offline decode
PLAYHEAD = "#ffd166"
CHANNEL_COLOURS = ("#fb8500", "#8ecae6", "#90be6d", "#f28482", "#cdb4db", "#ffd166")

# matplotlib rc settings for the report figure (applied with rc_context for one call)
STYLE = {
    "figure.facecolor": BACKGROUND,
    "axes.facecolor": BACKGROUND,
    "savefig.facecolor": BACKGROUND,
    "axes.edgecolor": "#5a5a5a",
    "axes.labelcolor": FOREGROUND,
    "axes.titlecolor": FOREGROUND,
    "text.color": FOREGROUND,
    "xtick.color": FOREGROUND,
    "ytick.color": FOREGROUND,
    "grid.color": "#3a3a3a",
    "legend.facecolor": "#2a2a2a",
    "legend.edgecolor": "#5a5a5a",
    "font.size": 9,
    "axes.titlesize": 10,
}
