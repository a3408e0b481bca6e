"""Listening tests in the app: what a trial window shows (to check it names no condition),
and driving a run."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget

# Anything that would name a condition (or hint at one) on screen during a trial.
FORBIDDEN = re.compile(
    r"\bK ?=? ?\d+\b|reference|original|anchor|semantic|acoustic|kbps|codebook|kHz|hidden|"
    r"codec|low-?pass|3\.5|\b7 ?k",
    re.IGNORECASE,
)


def shown_texts(top: QWidget) -> list[tuple[str, str]]:
    """(where, text) for every text a user can see or hover on in `top`: window title,
    labels and button texts, tooltips, status tips, what's-this, accessible names and
    object names of it and every widget inside."""
    out = [("window title", top.windowTitle())]
    for w in [top, *top.findChildren(QWidget)]:
        name = type(w).__name__
        if isinstance(w, QLabel | QAbstractButton):
            out.append((f"{name} text", w.text()))
        for what in (
            "toolTip",
            "statusTip",
            "whatsThis",
            "accessibleName",
            "accessibleDescription",
            "objectName",
            "windowTitle",
        ):
            text = getattr(w, what)()
            if text:
                out.append((f"{name} {what}", text))
    return out


def naming_conditions(top: QWidget, allowed: set[str] = frozenset()) -> list[tuple[str, str]]:
    """The texts in `top` that name a condition (those in `allowed` excepted)."""
    return [(w, t) for w, t in shown_texts(top) if t not in allowed and FORBIDDEN.search(t)]
