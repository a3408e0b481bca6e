"""How much of the CPU the host took away during a live session (Linux virtual machines).

A virtual machine's CPUs are shared with other guests: the time the hypervisor ran someone
else while this guest had work is "steal" in /proc/stat. Audio that must be served every
few milliseconds suffers first: on a 2-core VM that lost a third of its CPU time this way,
the audio callbacks went unserved for 10-70 ms several times a second, whatever the app
did. The live summary reports the share, so that a dropout can be told from the app's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")


@dataclass(frozen=True)
class CpuTimes:
    """The machine's CPU time so far, in the kernel's ticks, all CPUs together."""

    total: int
    steal: int

    @staticmethod
    def read(path: Path = PROC_STAT) -> CpuTimes | None:
        """Now, from /proc/stat's first line; None where there is no such file (not Linux)
        or it does not read as expected."""
        try:
            with open(path) as f:
                fields = f.readline().split()
        except OSError:
            return None
        if len(fields) < 9 or fields[0] != "cpu":
            return None
        try:
            ticks = [int(v) for v in fields[1:]]
        except ValueError:
            return None
        # user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is
        # already counted in user and nice
        return CpuTimes(total=sum(ticks[:8]), steal=ticks[7])


def steal_share(start: CpuTimes | None, end: CpuTimes | None) -> float | None:
    """The share (0-1) of the CPU time between two readings that the host took; None where
    either reading is missing or no time passed."""
    if start is None or end is None or end.total <= start.total:
        return None
    return max(end.steal - start.steal, 0) / (end.total - start.total)


class StealMeter:
    """Steal over the last interval and since the first reading; `update()` takes a new
    reading (cheap: one line of /proc/stat). Shares are None where they cannot be read."""

    def __init__(self, path: Path = PROC_STAT) -> None:
        self.path = path
        self.first = self.last = CpuTimes.read(path)
        self.recent: float | None = None

    def update(self) -> None:
        now = CpuTimes.read(self.path)
        self.recent = steal_share(self.last, now)
        if now is not None:
            self.last = now
            if self.first is None:  # the first reading failed: the session starts here
                self.first = now

    @property
    def session(self) -> float | None:
        return steal_share(self.first, self.last)
