"""The thread count of small repeated steps: chosen by timing, and always restored."""

from __future__ import annotations

import time

import pytest
import torch

from codec.model.threads import fastest_threads, torch_threads


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _step_taking(ms_by_threads: dict[int, float]):
    def make_step():
        def step():
            time.sleep(ms_by_threads[torch.get_num_threads()] / 1000)

        return step

    return make_step


def test_the_faster_count_wins_and_fewer_threads_win_near_ties(two_threads):
    # twice as fast on 2 threads: 2
    best, times = fastest_threads(_step_taking({1: 20.0, 2: 10.0}))
    assert best == 2 and times[1] > times[2]
    # 2 threads 10 % faster: not enough to pay for their fragility under load
    best, _ = fastest_threads(_step_taking({1: 11.0, 2: 10.0}))
    assert best == 1
    best, _ = fastest_threads(_step_taking({1: 5.0, 2: 10.0}))
    assert best == 1
    assert torch.get_num_threads() == 2  # restored after timing


def test_torch_threads_restores_the_count_after_an_error(two_threads):
    with pytest.raises(RuntimeError), torch_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 2
    with torch_threads(8):  # never more than the process has
        assert torch.get_num_threads() == 2
