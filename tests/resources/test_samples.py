"""The bundled sample clips exist, load, and have the stated rates and channel counts."""

from __future__ import annotations

import numpy as np
import pytest

from codec.audio import load_audio
from tests.helpers.paths import SAMPLES


@pytest.mark.parametrize(
    ("name", "rate", "channels"),
    [
        ("english_speech.flac", 22_050, 1),
        ("japanese_speech.flac", 22_050, 1),
        ("stereo_music.flac", 44_100, 2),
    ],
)
def test_sample_clip(name, rate, channels):
    a = load_audio(SAMPLES / name)
    assert (a.sample_rate, a.channels) == (rate, channels)
    assert 5.0 <= a.duration <= 15.0
    assert 0.1 < np.abs(a.samples).max() <= 1.0
    if channels == 2:  # a real left/right difference, not a copied channel
        l, r = a.samples
        assert np.corrcoef(l, r)[0, 1] < 0.9
