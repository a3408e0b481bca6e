"""Session operations: a measurement decode that steps aside goes on where it stopped."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codec.errors import Cancelled
from codec.session import operations as ops
from codec.session.comparison import Comparison
from codec.session.kept import KeptRun
from tests.helpers.signals import speechlike


def _cancel_after(n: int):
    """A cancel check that says stop from its (n + 1)-th call on."""
    asked = iter(range(10**6))
    return lambda: next(asked) >= n


def _count_decoded_frames(codec, monkeypatch) -> list[int]:
    """The frames of each model.decode call from now on, in a list that grows."""
    frames: list[int] = []
    inner = codec.model.decode
    monkeypatch.setattr(
        codec.model,
        "decode",
        lambda codes, state=None, part="all": (
            frames.append(codes.shape[-1]) or inner(codes, state, part)
        ),
    )
    return frames


def test_a_measurement_decode_that_steps_aside_goes_on_where_it_stopped(tiny, monkeypatch):
    """The worker's background measurement decodes the whole signal in small chunks and
    steps aside (Cancelled) when the user's request waits. With a `kept` slot, the next
    call goes on from the frames already decoded: each frame is decoded once, and the
    result equals a decode without a stop. Another K starts its own run."""
    x = speechlike(2.0, seed=17, batch=2)[:, 0].numpy()  # [2, T]: 25 frames
    c = Comparison("two", x, 24_000, cache_bytes=0)  # no cached decode to hide the work
    c.set_codes(np.stack([tiny.encode(x[i][None, None]).numpy()[0] for i in range(2)]), "tiny")
    _, want, scope = ops.measurement_inputs(tiny, c, 8)
    assert scope == "" and np.abs(want).max() > 1e-3

    frames = _count_decoded_frames(tiny, monkeypatch)
    kept = KeptRun()
    for chunks in (2, 3):  # 4-frame chunks: stopped after 2, then after 3 more
        with pytest.raises(Cancelled):
            ops.measurement_inputs(tiny, c, 8, cancel=_cancel_after(chunks), pacer=4, kept=kept)
        assert sum(frames) == 4 * (2 if chunks == 2 else 5)
    assert kept.held is not None
    ref, got, _ = ops.measurement_inputs(tiny, c, 8, pacer=4, kept=kept)
    assert sum(frames) == 25 and kept.held is None  # each frame once; the run is done
    np.testing.assert_allclose(got, want, atol=5e-5)
    assert ref is c.x24
    frames.clear()
    with pytest.raises(Cancelled):  # a stopped K = 8 run is not another K's
        ops.measurement_inputs(tiny, c, 8, cancel=_cancel_after(1), pacer=4, kept=kept)
    ops.measurement_inputs(tiny, c, 4, pacer=4, kept=kept)
    assert sum(frames) == 4 + 25


def test_a_long_signals_excerpts_that_step_aside_go_on_where_they_stopped(tiny, monkeypatch):
    """Past the policy's `long_s` the metrics decode excerpts (each after a warm-up). Stopped
    inside the first excerpt and again inside the second, the kept run goes on from the
    frame it reached: each frame of every excerpt's span is decoded once, and the result
    equals the excerpts decoded without a stop. Other codes (a new generation) start over."""
    from codec.session.policy import LongFilePolicy

    policy = LongFilePolicy(long_s=1.0, excerpt_count=3, excerpt_s=0.4, warmup_s=0.4)
    x = speechlike(6.0, seed=23)[:, 0].numpy()  # [1, T]: 75 frames
    c = Comparison("long", x, 24_000, cache_bytes=0)
    c.set_codes(tiny.encode(x[None]).numpy(), "tiny")
    ref, want, scope = ops.measurement_inputs(tiny, c, 8, policy)
    assert scope.startswith("on 3 excerpts") and np.abs(want).max() > 1e-3
    assert ref.shape == want.shape == (1, 3 * 5 * tiny.frame_size)
    spans = 5 + 2 * (5 + 5)  # excerpts at frames 0, 35, 70; the first has no warm-up

    frames = _count_decoded_frames(tiny, monkeypatch)
    kept = KeptRun()
    # 2-frame chunks, a cancel check before each excerpt and each chunk: stopped after 2
    # frames of the first excerpt, then after the rest of it and 2 frames of the second
    for asks, done in ((2, 2), (5, 7)):
        with pytest.raises(Cancelled):
            ops.measurement_inputs(tiny, c, 8, policy, _cancel_after(asks), pacer=2, kept=kept)
        assert sum(frames) == done
    assert kept.held is not None
    _, got, _ = ops.measurement_inputs(tiny, c, 8, policy, pacer=2, kept=kept)
    assert sum(frames) == spans and kept.held is None  # each frame once; the run is done
    np.testing.assert_allclose(got, want, atol=5e-5)
    frames.clear()
    with pytest.raises(Cancelled):
        ops.measurement_inputs(tiny, c, 8, policy, _cancel_after(2), pacer=2, kept=kept)
    c.set_codes(c.codes.copy(), "tiny")  # new codes: the kept run is not theirs
    ops.measurement_inputs(tiny, c, 8, policy, pacer=2, kept=kept)
    assert sum(frames) == 2 + spans


def test_the_stream_check_on_all_codes_and_on_a_share_of_a_long_one(tiny):
    """The streaming path against the batch path at K: the tiny codec streams exactly
    (codes equal, audio within float rounding of the batch decode, checked here against
    decodes made without the operation); a share of the frames is checked where a long
    file's policy asks for one, and the scope says so; the streaming codes are kept for
    the next K."""
    x = speechlike(2.0, seed=23, batch=2)[:, 0].numpy()  # [2, T]: 25 frames
    c = Comparison("two", x, 24_000, cache_bytes=0)
    codes = np.stack([tiny.encode(x[i][None, None]).numpy()[0] for i in range(2)])
    c.set_codes(codes, "tiny")
    stages: list[str] = []
    check = ops.stream_check(tiny, c, 4, 25, lambda stage: stages.append(stage) or None)
    assert check.scope == "" and check.k == 4 and check.frames == 25
    assert check.code_match == 1.0 and check.max_diff < 1e-4
    assert stages == ["streaming encode", "streaming decode K=4"]
    assert c.stream_codes is not None and np.array_equal(c.stream_codes[..., :24], codes[..., :24])
    # the batch side is the codec's own batch decode, made here without the operation
    y = tiny.decode(torch.from_numpy(codes[:, :4])).numpy()[:, 0, : x.shape[1]]
    assert np.abs(y).max() > 1e-3 and check.difference.shape == y.shape
    stages.clear()
    again = ops.stream_check(tiny, c, 2, 25, lambda stage: stages.append(stage) or None)
    assert stages == ["streaming decode K=2"] and again.code_match == 1.0  # codes kept

    c.set_codes(codes, "tiny")  # new codes: the kept streaming codes went with the old
    stages.clear()
    part = ops.stream_check(tiny, c, 8, 10, lambda stage: stages.append(stage) or None)
    assert stages == ["streaming encode", "streaming decode K=8"]
    assert part.scope == "on the first 0.8 s" and part.frames == 10
    assert part.code_match == 1.0 and part.difference.shape == (2, 10 * tiny.frame_size)
