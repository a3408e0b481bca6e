"""The ITU PESQ code in a process of its own.

The `pesq` package's C code holds Python's interpreter lock for the whole of a call (about
0.3 s for 14 s of speech on a 2-core VM), and the audio callbacks need that lock every few
milliseconds: scored in the app's own process, each PESQ value held the player up for
longer than its device buffer (35 ms), an audible gap every few seconds while the metrics
of a new file were measured. A child process shares no lock with the app, and a crash in
the C code (it writes past fixed-size tables on some inputs) ends the child, not the app.

One child (pesq_server.py, run as a script in isolated mode: it imports numpy and pesq
only), started on first use and again after it died, fed over a pipe one call at a time
(the ITU code keeps state in C globals), each answer checked against its request. Where
no child can run here at all (no interpreter to start, or one that cannot import what
it needs), the code runs in this process, as before.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import select
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

SERVER = [sys.executable, "-I", str(Path(__file__).with_name("pesq_server.py"))]
START_TIMEOUT_S = 30.0  # the child imports numpy and pesq, then says "ready"
CALL_TIMEOUT_S = 60.0  # one piece (at most 15 s of audio) takes well under a second


class PesqCrashed(RuntimeError):
    """The child died on this pair, did not answer in time, or answered out of step."""


class PesqChild:
    """The child process running `command` (SERVER by default); `score` is thread-safe."""

    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or SERVER
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._ids = itertools.count(1)
        self.in_process = False  # set once no child can be started here at all

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before the first call or after a death)."""
        p = self._proc
        return p.pid if p is not None and p.poll() is None else None

    def score(self, rate: int, ref: np.ndarray, deg: np.ndarray, mode: str) -> float:
        """pesq.pesq(rate, ref, deg, mode) for ref, deg [T] at `rate` Hz; raises what the
        package raises (NoUtterancesError, BufferTooShortError, ValueError, ...), and
        PesqCrashed when the child died on this pair or did not answer properly."""
        ref = np.ascontiguousarray(ref, np.float32)
        deg = np.ascontiguousarray(deg, np.float32)
        if len(ref) != len(deg):
            raise ValueError(f"reference and degraded differ in length: {len(ref)}, {len(deg)}")
        with self._lock:
            proc = self._running()
            if proc is None:
                import pesq

                return float(pesq.pesq(rate, ref, deg, mode))
            rid = next(self._ids)
            head = json.dumps({"id": rid, "rate": int(rate), "mode": mode, "n": len(ref)})
            try:
                proc.stdin.write(head.encode() + b"\n")
                proc.stdin.write(ref.tobytes())
                proc.stdin.write(deg.tobytes())
                proc.stdin.flush()
                line = _read_line(proc, CALL_TIMEOUT_S)
            except OSError:  # the pipe broke: the child is gone
                line = b""
            if line is None:
                self._stop()
                raise PesqCrashed(f"the ITU PESQ code gave no answer in {CALL_TIMEOUT_S:.0f} s")
            if not line:
                self._stop()
                raise PesqCrashed("the ITU PESQ code crashed on this pair")
            try:
                reply = json.loads(line)
            except ValueError:
                reply = {}
            if not isinstance(reply, dict) or reply.get("id") != rid:
                self._stop()  # out of step: no later answer could be trusted
                raise PesqCrashed("the PESQ process answered out of step")
        return _answer(reply)

    def _running(self) -> subprocess.Popen | None:
        """The live child, started (again) if need be; None where none can be."""
        if self.in_process:
            return None
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._stop()
        try:
            proc = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,  # Ctrl-C in a terminal is for the app, not for it
            )
        except (FileNotFoundError, PermissionError):
            self.in_process = True  # no child here, ever: the old way, lock and all
            return None
        except OSError:
            return None  # out of processes or memory just now: this call here, retry later
        self._proc = proc
        line = _read_line(proc, START_TIMEOUT_S)
        if not line or not line.startswith(b'{"ready"'):
            # it cannot import what it needs (or hangs doing so): it would fail every time
            self._stop()
            self.in_process = True
            return None
        return proc

    def _stop(self) -> None:
        p, self._proc = self._proc, None
        if p is None:
            return
        with contextlib.suppress(OSError):
            p.stdin.close()
        try:
            p.wait(timeout=2)  # stdin closed: a healthy child ends by itself
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        p.stdout.close()

    def close(self) -> None:
        """Stop the child; a later call starts a new one. Does not wait for a call that
        hangs: it kills the child under it."""
        if self._lock.acquire(timeout=1.0):
            try:
                self._stop()
            finally:
                self._lock.release()
            return
        p = self._proc
        if p is not None:
            p.kill()


def _read_line(proc: subprocess.Popen, timeout: float) -> bytes | None:
    """One line from the child's stdout; b"" when it ended, None after `timeout` s."""
    try:
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
    except (OSError, ValueError):
        return b""
    if not ready:
        proc.kill()
        return None
    return proc.stdout.readline()


def _answer(reply: dict) -> float:
    if "value" in reply:
        return float(reply["value"])
    import pesq

    kinds = {
        "NoUtterancesError": pesq.NoUtterancesError,
        "BufferTooShortError": pesq.BufferTooShortError,
        "ValueError": ValueError,
    }
    raise kinds.get(reply.get("error"), RuntimeError)(reply.get("message", ""))


CHILD = PesqChild()
atexit.register(CHILD.close)


def itu_pesq(rate: int, ref: np.ndarray, deg: np.ndarray, mode: str) -> float:
    """`pesq.pesq(rate, ref, deg, mode)` in the shared child process (CHILD.score)."""
    return CHILD.score(rate, ref, deg, mode)
