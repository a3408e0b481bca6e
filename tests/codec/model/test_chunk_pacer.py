"""Chunks of stoppable work sized to a time slice (codec.model.runner.ChunkPacer): they
cover the work without gaps, follow the machine's speed within their bounds, and the
decode in paced chunks is the one-pass decode up to float rounding."""

from __future__ import annotations

import numpy as np
import torch

from codec.model.runner import ChunkPacer, frame_spans


class FakeClock:
    """Time moves only when the 'work' on a chunk is done: `cost_s` per frame."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run(pacer: ChunkPacer, clock: FakeClock, frames: int, cost_s) -> list[tuple[int, int]]:
    spans = []
    for a, b in pacer.spans(0, frames):
        spans.append((a, b))
        clock.now += (b - a) * cost_s(a)
    return spans


def test_chunks_cover_the_work_and_follow_the_speed():
    clock = FakeClock()
    pacer = ChunkPacer(lambda: 0.05, most=8, first=2, clock=clock)
    # 10 ms a frame for the first 40 frames, then 60 ms (the machine got busy)
    spans = _run(pacer, clock, 100, lambda a: 0.01 if a < 40 else 0.06)
    assert spans[0] == (0, 2)
    assert [a for a, _ in spans[1:]] == [b for _, b in spans[:-1]]  # no gap, no overlap
    assert spans[-1][1] == 100
    sizes = [b - a for a, b in spans]
    assert max(sizes) <= 8 and min(sizes) >= 1
    # grows by at most 2x a chunk: 2, 4, then the 5 frames that fit 50 ms at 10 ms
    assert sizes[:3] == [2, 4, 5]
    # once a frame takes 60 ms, one frame a chunk (never none)
    assert all(n == 1 for (a, _), n in zip(spans, sizes, strict=True) if a >= 45)


def test_the_slice_and_thread_count_are_read_before_every_chunk():
    clock, target, asked = FakeClock(), [0.05], []
    before = torch.get_num_threads()

    def threads() -> int:
        asked.append(torch.get_num_threads())
        return 1

    pacer = ChunkPacer(lambda: target[0], most=64, first=1, threads=threads, clock=clock)
    spans = []
    try:
        for a, b in pacer.spans(0, 60):
            spans.append(b - a)
            assert torch.get_num_threads() == 1  # each chunk on the count asked for
            clock.now += (b - a) * 0.01
            if a >= 10:
                target[0] = 0.2  # e.g. playback stopped: longer slices
    finally:
        torch.set_num_threads(before)  # the pacer's user restores it (the worker does)
    assert len(asked) == len(spans)
    assert spans[:3] == [1, 2, 4] and max(spans) <= 20 and 20 in spans


def test_the_first_chunk_can_run_on_its_own_thread_count():
    """first_threads: the first chunk on that many threads, the rest on `threads()`'s."""
    clock, seen = FakeClock(), []
    before = torch.get_num_threads()
    if before < 2:
        torch.set_num_threads(2)
    pacer = ChunkPacer(
        lambda: 0.05, most=8, first=1, threads=lambda: 2, clock=clock, first_threads=1
    )
    try:
        for a, b in pacer.spans(0, 12):
            seen.append(torch.get_num_threads())
            clock.now += (b - a) * 0.01
    finally:
        torch.set_num_threads(before)
    assert seen[0] == 1 and len(seen) > 2 and set(seen[1:]) == {2}


def test_fixed_chunks_are_plain_ranges():
    assert list(frame_spans(0, 10, 4)) == [(0, 4), (4, 8), (8, 10)]
    assert list(frame_spans(3, 3, 4)) == []
    assert list(frame_spans(2, 5, None)) == [(2, 5)]  # all at once
    assert list(frame_spans(0, 70, "batch")) == [(0, 64), (64, 70)]  # BATCH_CHUNK_FRAMES


def test_a_paced_decode_is_the_one_pass_decode(tiny):
    from codec.session.operations import decode_signal

    codes = torch.from_numpy(np.random.default_rng(3).integers(0, 32, (1, 8, 50)))
    want = tiny.decode(codes)[:, 0].numpy()
    clock = FakeClock()
    pacer = ChunkPacer(lambda: 0.03, most=8, first=1, clock=clock)
    sizes = []

    def progress(done: int, total: int) -> None:  # called after each chunk: its cost
        sizes.append(done)
        clock.now += 0.01 * (done - (sizes[-2] if len(sizes) > 1 else 0))

    got = decode_signal(tiny, codes, progress=progress, chunk_frames=pacer)
    assert len(set(np.diff([0, *sizes]))) > 1  # chunks of several sizes were used
    np.testing.assert_allclose(got, want, atol=5e-5)
    assert np.abs(want).max() > 1e-3  # a real signal, not silence
