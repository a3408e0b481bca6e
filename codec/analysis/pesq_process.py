"""The ITU PESQ code in a process of its own.

The `pesq` package's C code holds Python's interpreter lock for the whole of a call (about
0.3 s for 14 s of speech on a 2-core VM), and the audio callbacks need that lock every few
milliseconds: scored in the app's own process, each PESQ value held the player up for
longer than its device buffer (35 ms), an audible gap every few seconds while the metrics
of a new file were measured. A child process shares no lock with the app, and a crash in
the C code (it writes past fixed-size tables on some inputs) ends the child, not the app.

One child (pesq_server.py, run as a script in isolated mode: it imports numpy and pesq
only), started on first use and again after it died, fed over a pipe one call at a time
(the ITU code keeps state in C globals). Where no child can be started at all, the code
runs here, as before.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

SERVER = [sys.executable, "-I", str(Path(__file__).with_name("pesq_server.py"))]


class PesqCrashed(RuntimeError):
    """The ITU code ended its process on this pair."""


class PesqChild:
    """The child process running `command` (SERVER by default); `score` is thread-safe."""

    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or SERVER
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self.in_process = False  # set once no child could be started

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before the first call or after a death)."""
        p = self._proc
        return p.pid if p is not None and p.poll() is None else None

    def score(self, rate: int, ref: np.ndarray, deg: np.ndarray, mode: str) -> float:
        """pesq.pesq(rate, ref, deg, mode) for ref, deg [T] at `rate` Hz; raises what the
        package raises (NoUtterancesError, BufferTooShortError, ...), PesqCrashed when the
        child died on this pair."""
        ref = np.ascontiguousarray(ref, np.float32)
        deg = np.ascontiguousarray(deg, np.float32)
        if len(ref) != len(deg):
            raise ValueError(f"reference and degraded differ in length: {len(ref)}, {len(deg)}")
        with self._lock:
            proc = self._running()
            if proc is None:
                import pesq

                return float(pesq.pesq(rate, ref, deg, mode))
            head = json.dumps({"rate": int(rate), "mode": mode, "n": len(ref)}) + "\n"
            try:
                proc.stdin.write(head.encode() + ref.tobytes() + deg.tobytes())
                proc.stdin.flush()
                line = proc.stdout.readline()
            except OSError:  # the pipe broke: the child is gone
                line = b""
            if not line:
                self._stop()
                raise PesqCrashed("the ITU PESQ code crashed on this pair")
        return _answer(json.loads(line))

    def _running(self) -> subprocess.Popen | None:
        """The live child, started (again) if need be; None where none can be."""
        if self.in_process:
            return None
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._stop()
        try:
            self._proc = subprocess.Popen(
                self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
            )
        except OSError:
            self.in_process = True  # no child here: the old way, lock and all
            return None
        return self._proc

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
        p.stdout.close()  # after the child ended: it may still flush its stdout

    def close(self) -> None:
        """Stop the child; a later call starts a new one."""
        with self._lock:
            self._stop()


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
