"""The host's share of the CPU (steal), read from /proc/stat as Linux writes it."""

from __future__ import annotations

import pytest

from app.realtime.host_load import CpuTimes, StealMeter, steal_share


def _stat(tmp_path, line: str):
    p = tmp_path / "stat"
    p.write_text(line + "\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 12345\n")
    return p


def test_steal_share_between_two_readings(tmp_path):
    # user nice system idle iowait irq softirq steal guest guest_nice; guest time is part
    # of user time already, so it must not count twice
    a = CpuTimes.read(_stat(tmp_path, "cpu  1000 0 200 700 0 0 0 100 400 0"))
    b = CpuTimes.read(_stat(tmp_path, "cpu  1300 0 260 900 0 0 0 140 500 0"))
    assert (a.total, a.steal) == (2000, 100)
    assert (b.total, b.steal) == (2600, 140)
    assert steal_share(a, b) == pytest.approx(40 / 600)


@pytest.mark.parametrize(
    "content", ["", "intr 1 2 3", "cpu  1 2 3", "cpu  a b c d e f g h", "cpu0 1 2 3 4 5 6 7 8"]
)
def test_unreadable_stat_gives_none_not_an_error(tmp_path, content):
    p = tmp_path / "stat"
    p.write_text(content)
    assert CpuTimes.read(p) is None


def test_missing_stat_gives_none_and_the_meter_starts_at_its_first_good_reading(tmp_path):
    p = tmp_path / "stat"
    assert CpuTimes.read(p) is None  # absent
    assert steal_share(None, CpuTimes(10, 1)) is None
    meter = StealMeter(p)
    assert meter.first is None and meter.session is None
    _stat(tmp_path, "cpu  100 0 0 100 0 0 0 0 0 0")
    meter.update()  # the first good reading: the session's figures start here
    assert meter.recent is None and meter.session is None
    _stat(tmp_path, "cpu  150 0 0 130 0 0 0 20 0 0")
    meter.update()
    assert meter.recent == pytest.approx(20 / 100) and meter.session == pytest.approx(0.2)
    _stat(tmp_path, "cpu  250 0 0 230 0 0 0 20 0 0")
    meter.update()
    assert meter.recent == 0 and meter.session == pytest.approx(20 / 300)


def test_no_time_passed_gives_none():
    t = CpuTimes(total=500, steal=7)
    assert steal_share(t, t) is None


def test_this_machine_reads():  # the project runs on Linux (Debian)
    t = CpuTimes.read()
    assert t is not None and 0 <= t.steal <= t.total and t.total > 0
