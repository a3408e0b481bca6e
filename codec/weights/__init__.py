"""Codec weights: one loader for every source (hub, folder, file, demo, random), the hub
cache with content checks, conversion between Kyutai's and Hugging Face's tensor names,
seeded random weights, and saving."""

from .hub import HUB_REPO, HUB_REVISION
from .load import DEMO_DIR, is_fallback, load_codec, load_model
from .save import save_codec

__all__ = [
    "DEMO_DIR",
    "HUB_REPO",
    "HUB_REVISION",
    "is_fallback",
    "load_codec",
    "load_model",
    "save_codec",
]
