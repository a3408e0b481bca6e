"""PESQ runs in a child process (its C code holds the interpreter lock for the whole call,
which starved the player's callback): the same scores as the package called here, the same
named failures, a new child after one died, NaN with a reason when it dies on a pair, and
the old in-process way where no child can be started."""

from __future__ import annotations

import math
import os
import sys
import threading
import time

import numpy as np
import pytest
import soxr

from codec.analysis import pesq_process
from codec.analysis.metrics import pesq_wb
from codec.analysis.pesq_process import PesqChild, PesqCrashed
from tests.helpers.paths import SAMPLES
from tests.helpers.requirements import need_module

READY = "import sys; print('{\"ready\": true}', flush=True); "
# says it is ready, reads the first request's header and dies: a crash in mid-call
DIES = [sys.executable, "-c", READY + "sys.stdin.buffer.readline(); sys.exit(3)"]
# answers every request with another request's id: out of step
ASKEW = [
    sys.executable,
    "-c",
    READY + "import json; h = json.loads(sys.stdin.buffer.readline()); "
    "sys.stdin.buffer.read(8 * h['n']); print(json.dumps({'id': h['id'] + 1, 'value': 1.0}), "
    "flush=True); sys.stdin.buffer.readline()",
]
# cannot import what it needs: dies before saying it is ready
BROKEN = [sys.executable, "-c", "raise SystemExit(1)"]


@pytest.fixture(scope="module")
def pair():
    """(ref, deg) [T] float32 at 16 kHz: 3 s of the sample speech and a noisy copy."""
    need_module("pesq")
    import soundfile as sf

    x, sr = sf.read(str(SAMPLES / "english_speech.flac"), dtype="float64")
    x16 = soxr.resample(x[: 3 * sr], sr, 16_000).astype(np.float32)
    noise = np.random.default_rng(0).normal(size=len(x16)).astype(np.float32)
    return x16, x16 + 0.05 * np.std(x16) * noise


def test_scored_in_another_process_as_the_package_scores_here(pair):
    import pesq

    ref, deg = pair
    child = PesqChild()
    try:
        got = child.score(16_000, ref, deg, "wb")
        assert child.pid is not None and child.pid != os.getpid()
        assert not child.in_process
        assert got == pytest.approx(pesq.pesq(16_000, ref, deg, "wb"), abs=1e-9)
        assert child.score(16_000, deg, ref, "wb") == pytest.approx(
            pesq.pesq(16_000, deg, ref, "wb"), abs=1e-9
        )  # a second call on the same child
    finally:
        child.close()
    assert child.pid is None


def test_failures_come_back_as_the_package_names_them(pair):
    import pesq

    ref, deg = pair
    child = PesqChild()
    try:
        with pytest.raises(pesq.NoUtterancesError):
            child.score(16_000, np.zeros(32_000, np.float32), np.zeros(32_000, np.float32), "wb")
        with pytest.raises(pesq.BufferTooShortError):
            child.score(16_000, ref[:100], ref[:100], "wb")
        with pytest.raises(ValueError, match="mode"):
            child.score(16_000, ref, ref, "xx")  # the package prints its usage first
        # the child survived all three, and what it printed was not taken for an answer
        assert child.score(16_000, ref, deg, "wb") == pytest.approx(
            pesq.pesq(16_000, ref, deg, "wb"), abs=1e-9
        )
    finally:
        child.close()


def test_a_dead_child_is_replaced(pair):
    ref, deg = pair
    child = PesqChild()
    try:
        first = child.score(16_000, ref, deg, "wb")
        old = child.pid
        child._proc.kill()
        child._proc.wait()
        assert child.score(16_000, ref, deg, "wb") == first
        assert child.pid not in (None, old)
    finally:
        child.close()


def test_a_child_dying_on_a_pair_gives_nan_with_a_reason(monkeypatch, pair):
    ref, deg = pair
    dying = PesqChild(DIES)
    with pytest.raises(PesqCrashed):
        dying.score(16_000, ref, deg, "wb")
    assert dying.pid is None and not dying.in_process  # the next call starts a new one
    monkeypatch.setattr(pesq_process, "CHILD", dying)
    score = pesq_wb(ref, deg, 16_000)
    assert math.isnan(score.value) and "crashed" in score.reason


def test_an_answer_out_of_step_is_not_taken(pair):
    ref, deg = pair
    askew = PesqChild(ASKEW)
    with pytest.raises(PesqCrashed, match="out of step"):
        askew.score(16_000, ref, deg, "wb")
    assert askew.pid is None  # stopped: no later answer of it could be trusted


@pytest.mark.parametrize(
    "command", [[os.path.join(os.sep, "no", "such", "python")], BROKEN], ids=["none", "broken"]
)
def test_without_a_working_child_it_runs_here(pair, command):
    import pesq

    ref, deg = pair
    child = PesqChild(command)
    assert child.score(16_000, ref, deg, "wb") == pytest.approx(
        pesq.pesq(16_000, ref, deg, "wb"), abs=1e-9
    )
    assert child.in_process and child.pid is None


def test_other_threads_run_while_a_pair_is_scored(pair):
    """The point of the child: in this process the ITU code holds the interpreter lock for
    the whole call, and no other Python thread (the player's callback) runs meanwhile."""
    ref, deg = pair
    ref, deg = np.tile(ref, 5), np.tile(deg, 5)  # 15 s: about 0.3 s of scoring
    child = PesqChild()
    ticks, stop = [0], threading.Event()

    def tick() -> None:
        while not stop.is_set():
            ticks[0] += 1
            time.sleep(0.001)

    try:
        child.score(16_000, ref[:16_000], deg[:16_000], "wb")  # started
        t = threading.Thread(target=tick)
        t.start()
        before = ticks[0]
        child.score(16_000, ref, deg, "wb")
        during = ticks[0] - before
        stop.set()
        t.join()
    finally:
        child.close()
    assert during >= 10, f"another thread ran {during} times during the call"
