"""One comparison used from three threads at once, as the window, the codec worker and the
metrics thread use it: no error, no torn state, every value handed out stays as it was."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from codec.session.comparison import Comparison, Measurement

N_OPS = 4000
KS = list(range(1, 13))


def decode_of(k: int, n: int = 4800) -> np.ndarray:
    """A stand-in decode for K = k, [1, n], every sample equal to k: easy to check."""
    return np.full((1, n), float(k), np.float32)


@pytest.fixture()
def fast_switching():
    """Let the threads interleave after almost every bytecode, to provoke races."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def test_three_threads_share_one_comparison(fast_switching):
    x = np.zeros((1, 4800), np.float32)
    # room for three decodes: stores evict constantly while the others read
    c = Comparison("stress", x, 24_000, cache_bytes=3 * decode_of(1).nbytes)
    gen = c.set_codes(np.zeros((1, 32, 3), np.int64), "test")
    errors: list[BaseException] = []
    seen_bad: list[str] = []
    start = threading.Barrier(3)

    def run(fn) -> None:
        try:
            start.wait()
            rng = np.random.default_rng(threading.get_ident() % 2**32)
            for i in range(N_OPS):
                fn(rng, i)
        except BaseException as e:  # any failure is the finding
            errors.append(e)

    def worker(rng, i) -> None:  # decodes arrive, some without evicting (the sweep)
        k = int(rng.choice(KS))
        c.store(k, decode_of(k), evict=bool(i % 3), generation=gen)
        c.set_peak(k, float(k), gen)

    def metrics(rng, i) -> None:  # measurements arrive; the chart reads them all
        k = int(rng.choice(KS))
        c.set_measurement(Measurement.of(k, [{"si_sdr": float(k)}], 0.0), gen)
        for kk, m in c.measurements().items():
            if m.channels[0]["si_sdr"] != kk:
                seen_bad.append(f"measurement {kk} reads {m.channels[0]['si_sdr']}")
        c.cached_bytes()

    def gui(rng, i) -> None:  # the window reads decodes (which reorders the cache)
        k = int(rng.choice(KS))
        y = c.reconstruction(k)
        if y is not None and not (y == k).all():
            seen_bad.append(f"decode {k} holds other samples")
        for kk in c.cached_ks():
            c.reconstruction(kk)
        c.views(k)
        c.measurement(k)

    threads = [threading.Thread(target=run, args=(f,)) for f in (worker, metrics, gui)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert errors == [], errors[:3]
    assert seen_bad == [], seen_bad[:3]
    assert len(c.cached_ks()) <= 3 and c.cached_bytes() <= c.cache_bytes
    assert sorted(c.measurements()) == KS


def test_handed_out_values_cannot_be_changed():
    x = np.ones((2, 100), np.float32)
    c = Comparison("ro", x, 24_000)
    with pytest.raises(ValueError):
        c.x24[0, 0] = 5.0  # the signal is shared read-only
    c.set_codes(np.zeros((2, 4, 1), np.int64), "m")
    with pytest.raises(ValueError):
        c.codes[0, 0, 0] = 1
    y = np.zeros((2, 100), np.float32)
    c.store(4, y)
    with pytest.raises(ValueError):
        c.reconstruction(4)[0, 0] = 1.0
    m = Measurement.of(4, [{"stoi": 0.5}], 1.0)
    with pytest.raises(TypeError):
        m.channels[0]["stoi"] = 0.9  # a measurement is frozen too
    assert x[0, 0] == 1.0  # and the caller's own arrays were not made read-only


def test_results_for_older_codes_are_refused():
    c = Comparison("gen", np.zeros((1, 10), np.float32), 24_000)
    old = c.set_codes(np.zeros((1, 2, 1), np.int64), "a")
    new = c.set_codes(np.ones((1, 2, 1), np.int64), "b")
    assert new == old + 1
    assert not c.store(2, np.zeros((1, 10), np.float32), generation=old)
    assert not c.set_measurement(Measurement.of(2, [{}], 0.0), generation=old)
    c.set_peak(2, -3.0, generation=old)
    assert c.cached_ks() == [] and c.measurement(2) is None and c.peak(2) is None
    assert c.store(2, np.zeros((1, 10), np.float32), generation=new)
    assert c.cached_ks() == [2]
