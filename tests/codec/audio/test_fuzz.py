"""Fuzz the audio loader: random bytes and damaged headers never escape as anything but
AudioError, and whatever loads is finite float32 [C, T] at a plausible rate."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from codec.audio import load_audio
from codec.audio.reader import MAX_RATE, MIN_RATE
from codec.errors import AudioError
from tests.helpers.requirements import need_module

hypothesis = need_module("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,  # the same 200 cases every run: a failure is reproducible
)
SUFFIXES = [".wav", ".flac", ".mp3", ".ogg", ".aiff", ".bin", ""]


def _valid(fmt: str, subtype: str) -> bytes:
    rng = np.random.default_rng(1)
    x = (0.3 * rng.standard_normal((600, 2))).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, x, 16_000, format=fmt, subtype=subtype)
    return buf.getvalue()


SEEDS = {
    ".wav": _valid("WAV", "PCM_16"),
    ".flac": _valid("FLAC", "PCM_16"),
    ".mp3": _valid("MP3", "MPEG_LAYER_III"),
}


def check(data: bytes, suffix: str) -> None:
    """load_audio on `data` either works sensibly or raises AudioError, nothing else."""
    fd, name = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:
            a = load_audio(Path(name))
        except AudioError as e:
            msg = str(e)
            assert msg and "\n" not in msg  # one line for the CLI and the banner
            return
        assert a.samples.dtype == np.float32 and a.samples.ndim == 2
        assert a.channels >= 1 and a.num_samples >= 1
        assert np.isfinite(a.samples).all()
        assert MIN_RATE <= a.sample_rate <= MAX_RATE
    finally:
        os.unlink(name)


@FUZZ
@given(data=st.binary(min_size=0, max_size=4096), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes(data, suffix):
    check(data, suffix)


@st.composite
def mutated(draw, kind: str):
    """A valid file with some bytes overwritten (mostly in the header) and maybe cut."""
    data = bytearray(SEEDS[kind])
    for _ in range(draw(st.integers(1, 8))):
        in_header = draw(st.booleans())
        hi = min(len(data), 128) if in_header else len(data)
        pos = draw(st.integers(0, hi - 1))
        width = draw(st.sampled_from([1, 2, 4]))
        value = draw(
            st.one_of(
                st.binary(min_size=width, max_size=width),
                st.sampled_from(
                    [b"\x00" * width, b"\xff" * width, b"\x7f" + b"\xff" * (width - 1)]
                ),
            )
        )
        data[pos : pos + width] = value[: len(data) - pos]
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@FUZZ
@given(data=mutated(".wav"))
def test_mutated_wav(data):
    check(data, ".wav")


@FUZZ
@given(data=mutated(".flac"))
def test_mutated_flac(data):
    check(data, ".flac")


@settings(FUZZ, max_examples=100)
@given(data=mutated(".mp3"))
def test_mutated_mp3(data):
    check(data, ".mp3")


def test_seeds_are_valid():
    """The unmutated seeds load (else the mutation tests would only test garbage)."""
    for suffix, data in SEEDS.items():
        fd, name = tempfile.mkstemp(suffix=suffix)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:
            a = load_audio(name)
            assert a.channels == 2 and a.sample_rate == 16_000
        finally:
            os.unlink(name)
