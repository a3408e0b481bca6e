"""A new K is heard soon after the key press (target: 300 ms), on any file: the worker decodes where
the listener is first (codec.session.quick), the player takes it at the same position, and
the exact decode of the whole file takes over later without a click."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
import soundfile as sf
import torch

from codec.session import quick
from tests.helpers.window import open_and_code

BLOCK = 480  # 20 ms at 24 kHz: the fake speaker asks for this much each callback


def _file(path, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 24_000)) / 24_000
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.3 * t)
    x = np.sin(2 * np.pi * np.cumsum(f0) / 24_000) * (0.5 + 0.5 * np.sin(8 * t) ** 2)
    x = (0.3 * x).astype(np.float32)
    sf.write(str(path), x, 24_000, subtype="FLOAT")
    return x


def _own_decode(codec, codes: np.ndarray, k: int, n: int) -> np.ndarray:
    return codec.decode(torch.from_numpy(np.array(codes[:, :k])))[0, 0, :n].numpy()


def _play_through_switch(qtbot, w, new_k: int) -> list[tuple[int, np.ndarray]]:
    """Press the key for new_k while playing B; pump the fake speaker at real time for 2 s;
    return each block with the position it was played from."""
    out = w.backend_fake.last("output")
    for _ in range(10):  # playing B at the old K
        out.pump(BLOCK)
    w.compare.set_k(new_k)  # the key press
    played, t0 = [], time.perf_counter()
    for i in range(100):  # 2 s of audio
        pos = w.player.position
        played.append((pos, out.pump(BLOCK)[:, 0].copy()))
        # pace the pumps at real time: the worker decodes meanwhile
        due = t0 + (i + 1) * BLOCK / 24_000
        qtbot.wait(max(1, int(1000 * (due - time.perf_counter()))))
    return played


def _heard_ms(played, want: np.ndarray, old: np.ndarray) -> float | None:
    """Milliseconds of audio until a block matches the new K's decode at its position."""
    for i, (pos, block) in enumerate(played):
        ref, prev = want[pos : pos + BLOCK], old[pos : pos + BLOCK]
        close = np.linalg.norm(block - ref) < 0.35 * np.linalg.norm(ref)
        if close and np.linalg.norm(block - prev) > np.linalg.norm(block - ref):
            return (i + 1) * BLOCK / 24
    return None


@pytest.mark.parametrize(
    ("source", "seconds"),
    [
        ("demo", 14.0),
        pytest.param("random:mimi", 14.0),
        # a 10-minute file: the quick part is the same code, the exact decode takes longer
        pytest.param("demo", 600.0, marks=pytest.mark.slow),
        # full-size weights on a 10-minute file: minutes of encoding and decoding on 2
        # cores, measured by hand for the note instead
    ],
)
def test_a_new_k_is_heard_within_300_ms(qtbot, tmp_path, source, seconds):
    from tests.helpers.window import make_window

    w = make_window(qtbot, tmp_path, model_source=source)
    try:
        src = tmp_path / "k.wav"
        _file(src, seconds)
        open_and_code(qtbot, w, src, timeout_ms=600_000)
        c = w.compare.comparison
        codec = w.worker.codec  # used here only for the expectations
        n, new_k = c.num_samples, 3
        old = c.reconstruction(w.compare.k)[0]
        start = int(0.6 * n)  # well into the file: the warm-up does not reach frame 0
        w.player.seek(start)
        w.transport.select("B")
        w.toggle_play()
        played = _play_through_switch(qtbot, w, new_k)
        # later, the exact decode of the whole file takes over, at the same position
        qtbot.waitUntil(w.compare.views_ready, timeout=600_000)
        if seconds <= 60:
            exact = _own_decode(codec, c.codes, new_k, n)
        else:  # a 10-minute full-size decode costs minutes here: the batch decode the
            # worker stored (its equality to an independent decode is tested elsewhere)
            exact = c.reconstruction(new_k)[0]
        heard = _heard_ms(played, exact, old)
        assert heard is not None, "the new K was never heard"
        # The 300 ms target is a speed figure: printed here (run with -s), not asserted, as
        # a shared 2-core machine's load moves it; what must hold is that the new K's decode
        # reaches the speaker at the right position within the 2 s pumped, ahead of the
        # exact decode of the whole file.
        print(f"{source}, {seconds:.0f} s: the new K was heard after {heard:.0f} ms of audio")
        # the worker's exact decode runs in chunks sized to the machine's speed (stoppable
        # promptly when the slider moves on): the same computation as the test's one-pass
        # decode up to float rounding (matmuls of other shapes: 3.7e-5 measured, full size)
        np.testing.assert_allclose(w.player.source(1)[:, 0], exact, atol=1e-4)
        assert w.player.playing
    finally:
        w.close()


def test_the_quick_part_is_close_to_the_exact_decode(tiny):
    """What the listener hears first against the exact decode there (measured figure)."""
    from codec.session.comparison import Comparison

    x = np.random.default_rng(8).standard_normal((1, 24_000 * 12)).astype(np.float32) * 0.1
    c = Comparison("q", x, 24_000)
    c.set_codes(tiny.encode(torch.from_numpy(x)[:, None]).numpy(), "tiny")
    exact = _own_decode(tiny, c.codes, 8, x.shape[1])
    frame = 100  # 8 s in: past the warm-up, nowhere near frame 0
    pieces = list(quick.quick_decode(tiny, c, 8, frame))
    start, first, is_exact = pieces[0]
    assert start == frame * 1920 and not is_exact
    assert first.shape[1] == round(quick.AHEAD_S * 12.5) * 1920
    got = np.concatenate([p for _, p, _ in pieces], axis=1)[0]
    want = exact[start:]
    assert got.shape == want.shape  # the pieces run on to the end, without gaps
    err = np.linalg.norm(got - want) / np.linalg.norm(want)
    print(f"quick vs exact decode from frame {frame}: rel. difference {err:.2e}")
    assert err < 0.1
    # from the first frame the quick decode is the exact one
    pieces = list(quick.quick_decode(tiny, c, 8, 3))
    assert all(e for _, _, e in pieces) and pieces[0][0] == 0
    # the same computation in other chunk sizes: float rounding only (matmuls of other shapes)
    got = np.concatenate([p for _, p, _ in pieces], 1)[0]
    np.testing.assert_allclose(got, exact, atol=5e-5)


def test_the_attention_memory_brings_the_quick_part_to_the_exact_decode():
    """The demo codec's decoder leans on its attention's 10 s of memory: 20 s into speech,
    the quick part from the convolutions' warm-up alone is far from the exact decode; given
    the window's frames through the transformer alone it is the exact decode but for
    rounding and the deeper layer's longer reach."""
    from codec import load_codec
    from codec.session.comparison import Comparison

    demo = load_codec("demo", "cpu")
    from codec.audio.resample import resample

    y, rate = sf.read("resources/samples/english_speech.flac", dtype="float32", always_2d=True)
    speech = resample(y.T[:1], rate, 24_000)[0]
    x = np.tile(speech, 30 * 24_000 // speech.size + 1)[None, : 24_000 * 30].astype(np.float32)
    c = Comparison("q", x, 24_000)
    c.set_codes(demo.encode(torch.from_numpy(x)[:, None]).numpy(), "demo")
    frame, k = 250, 3  # 20 s in: the exact decode has a full window behind it
    exact = _own_decode(demo, c.codes, k, x.shape[1])[frame * 1920 : (frame + 10) * 1920]

    def difference(memory: int) -> float:
        first = list(
            itertools.islice(quick.quick_decode(demo, c, k, frame, memory_frames=memory), 4)
        )
        got = np.concatenate([p for _, p, _ in first], axis=1)[0, : exact.size]
        return float(np.linalg.norm(got - exact) / np.linalg.norm(exact))

    without, within = difference(0), difference(quick.window_frames(demo))
    print(f"quick vs exact, 0.8 s from 20 s in: {without:.3f} without memory, {within:.4f} with")
    assert within < 0.03
    assert without > 5 * within


def test_the_memory_fits_the_budget(tiny):
    """The plan gives the attention as many frames as the budget allows here, at most the
    window, and its cost is the first piece's, measured."""
    plan = quick.plan_first_piece(tiny)
    assert 0 <= plan.memory_frames <= quick.window_frames(tiny)
    assert plan.cost_s > 0
    assert quick.window_frames(tiny) == int(np.ceil(tiny.model.cfg.context / 2))


def test_until_a_piece_arrives_b_goes_on_with_the_old_decode():
    """The quick pieces lie over what B played before (never silence where none is yet),
    mono pieces fill every channel, and a later piece lies over an earlier one."""
    from app.realtime.player import Segments

    old = np.arange(40, dtype=np.float32).reshape(20, 2)
    seg = Segments(20, base=old).with_part(5, np.full((4, 1), -1.0, np.float32))
    seg = seg.with_part(7, np.full((2, 2), -2.0, np.float32))
    out = np.zeros((20, 2), np.float32)
    seg.read_into(out, 0)
    want = old.copy()
    want[5:7], want[7:9] = -1.0, -2.0
    np.testing.assert_array_equal(out, want)
    blank = Segments(20, base=np.zeros((19, 2), np.float32))  # not the same length: no base
    blank.read_into(out, 0)
    assert not out.any()


def test_the_quick_decode_starts_where_a_playing_cursor_will_be():
    """The lead covers the wait, the first piece's decode and a margin, and the piece
    starts in the frame the cursor will be in (not the next one); the pieces after the
    first grow by at most PIECE_GROWTH, so each is decoded before it is reached."""
    rate, m = 12.5, quick.LEAD_MARGIN_S
    assert quick.start_frame(1.0, 0.0, 0.0, rate) == 12  # 1.03 s: inside frame 12
    assert quick.start_frame(0.0, 0.2, 0.25, rate) == int(np.floor((0.2 + 0.25 + m) * rate))
    assert quick.start_frame(0.079, 0.0, 0.0, rate) == 1  # 0.109 s is in frame 1
    assert quick.start_frame(0.5, -1.0, -1.0, rate) == 6  # clock skew is not negative time
    assert quick.first_piece_frames(rate) == 6 + 2


def test_quick_pieces_grow_gradually(tiny):
    from codec.session.comparison import Comparison

    x = np.random.default_rng(3).standard_normal((1, 24_000 * 8)).astype(np.float32) * 0.1
    c = Comparison("q", x, 24_000)
    c.set_codes(tiny.encode(torch.from_numpy(x)[:, None]).numpy(), "tiny")
    costs = []
    pieces = list(quick.quick_decode(tiny, c, 4, 30, on_cost=costs.append))
    frames = [p.shape[1] // 1920 for _, p, _ in pieces]
    assert frames[0] == 2 and len(costs) == 1 and costs[0] > 0
    assert all(b <= np.ceil(a * quick.PIECE_GROWTH) for a, b in itertools.pairwise(frames[:-1]))
    assert max(frames) <= quick.PIECE_FRAMES
