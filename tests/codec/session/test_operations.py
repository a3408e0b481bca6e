"""Session operations: a measurement decode that steps aside goes on where it stopped."""

from __future__ import annotations

import numpy as np
import pytest

from codec.errors import Cancelled
from codec.session import operations as ops
from codec.session.comparison import Comparison
from tests.helpers.signals import speechlike


def _cancel_after(n: int):
    """A cancel check that says stop from its (n + 1)-th call on."""
    asked = iter(range(10**6))
    return lambda: next(asked) >= n


def test_a_measurement_decode_that_steps_aside_goes_on_where_it_stopped(tiny, monkeypatch):
    """The worker's background measurement decodes the whole signal in small chunks and
    steps aside (Cancelled) when the user's request waits. With a `kept` holder, the next
    call goes on from the frames already decoded: each frame is decoded once, and the
    result equals a decode without a stop. Another K starts its own run."""
    x = speechlike(2.0, seed=17, batch=2)[:, 0].numpy()  # [2, T]: 25 frames
    c = Comparison("two", x, 24_000, cache_bytes=0)  # no cached decode to hide the work
    c.set_codes(np.stack([tiny.encode(x[i][None, None]).numpy()[0] for i in range(2)]), "tiny")
    _, want, scope = ops.measurement_inputs(tiny, c, 8)
    assert scope == "" and np.abs(want).max() > 1e-3

    frames = []
    inner = tiny.model.decode
    monkeypatch.setattr(
        tiny.model,
        "decode",
        lambda codes, state=None, part="all": (
            frames.append(codes.shape[-1]) or inner(codes, state, part)
        ),
    )
    kept: dict = {}
    for chunks in (2, 3):  # 4-frame chunks: stopped after 2, then after 3 more
        with pytest.raises(Cancelled):
            ops.measurement_inputs(tiny, c, 8, cancel=_cancel_after(chunks), pacer=4, kept=kept)
        assert sum(frames) == 4 * (2 if chunks == 2 else 5)
    assert "run" in kept
    ref, got, _ = ops.measurement_inputs(tiny, c, 8, pacer=4, kept=kept)
    assert sum(frames) == 25 and "run" not in kept  # each frame once; the run is done
    np.testing.assert_allclose(got, want, atol=5e-5)
    assert ref is c.x24
    frames.clear()
    with pytest.raises(Cancelled):  # a stopped K = 8 run is not another K's
        ops.measurement_inputs(tiny, c, 8, cancel=_cancel_after(1), pacer=4, kept=kept)
    ops.measurement_inputs(tiny, c, 4, pacer=4, kept=kept)
    assert sum(frames) == 4 + 25
