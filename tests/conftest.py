"""Shared test set-up: offline hub, offscreen Qt, 2 torch threads, seeded random models."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def mimi_random():
    """The released Mimi architecture with seeded random weights (non-degenerate codebooks)."""
    from codec import load_codec

    return load_codec("random:mimi", "cpu")


@pytest.fixture(scope="session")
def tiny():
    from codec import load_codec

    return load_codec("tiny", "cpu")
