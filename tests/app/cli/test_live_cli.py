"""`main.py live`: the Live tab's engine without a window, on the fake backend and on the
PipeWire loopback (a real, clocked device)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.cli.live import build_parser, run_live, status_line
from app.realtime.live import LiveStats
from tests.helpers.fake_audio import FakeBackend
from tests.helpers.live import pump_frames, reference
from tests.helpers.requirements import need
from tests.helpers.signals import speechlike

ROOT = Path(__file__).resolve().parents[3]
LIVE_ARGS = ("--weights", "demo", "--json")


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data"


def test_headless_session_is_frame_exact_and_reports_the_true_latency(tiny, data_home):
    x = speechlike(1.2, seed=21)[0, 0].numpy()
    backend = FakeBackend(source=x, duplex=True, in_latency=0.007, out_latency=0.011)
    args = build_parser().parse_args(["--weights", "tiny", "--codebooks", "4", "--json"])
    out, err = io.StringIO(), io.StringIO()

    def drive(engine):
        def pump():
            pump_frames(backend.last("duplex"), engine, 12)
            engine.stop()

        threading.Thread(target=pump, daemon=True).start()

    assert run_live(args, backend, out, err, on_engine=drive) == 0
    report = json.loads(out.getvalue())
    assert report["frames"] == 12 and report["codebooks"] == 4 and report["duplex"]
    assert report["dropped"] == report["late"] == report["skipped"] == 0
    # the fake's physical path: one frame + 7 ms in + 11 ms out, exactly
    assert report["latency"]["source"] == "timestamps"
    # one frame, the jitter buffer's floor (10 ms), the devices' latencies
    assert abs(report["latency_ms"] - (80 + 10 + 7 + 11)) < 0.01
    a, b = (Path(p) for p in report["files"])
    assert a.parent == data_home / "mimi-explorer" / "recordings"
    x_in, rate = sf.read(str(a), dtype="float32")
    y_out, _ = sf.read(str(b), dtype="float32")
    assert rate == 24_000
    assert np.array_equal(x_in, x[: 12 * 1920])
    # the streaming decode at K=4
    assert np.array_equal(y_out, reference(tiny, x, [4] * 12, report["threads"]))


def test_no_devices_and_wrong_names_say_so(data_home):
    args = build_parser().parse_args(["--weights", "tiny"])
    from app.cli.live import LiveError

    with pytest.raises(LiveError, match="no audio input device"):
        run_live(args, FakeBackend(inputs=0, outputs=0))
    args = build_parser().parse_args(["--weights", "tiny", "--input", "no such mic"])
    with pytest.raises(LiveError, match="no input device named like 'no such mic'"):
        run_live(args, FakeBackend())
    r = subprocess.run(
        [sys.executable, "main.py", "live", "--seconds", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MIMI_LOOPBACK": "0"},
    )
    assert r.returncode == 2 and "error:" in r.stderr and "Traceback" not in r.stderr


def loopback_env(tmp_path: Path) -> dict:
    need(
        os.environ.get("MIMI_LOOPBACK") == "1",
        "no PipeWire loopback (scripts/loopback.sh start failed or was not run)",
    )
    return {**os.environ, "XDG_DATA_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}


@pytest.mark.loopback
def test_ctrl_c_ends_a_loopback_session_cleanly_and_saves_it(tmp_path):
    env = loopback_env(tmp_path)
    p = subprocess.Popen(
        [sys.executable, "main.py", "live", *LIVE_ARGS],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = wait_running(p, 2)
        p.send_signal(signal.SIGINT)
        stdout, rest = p.communicate(timeout=60)
    finally:
        p.kill()
    stderr = "".join(lines) + rest
    assert p.returncode == 0, stderr
    report = json.loads(stdout)
    assert report["frames"] >= 12 and report["latency"]["source"] == "timestamps", stderr
    assert report["xruns_in"] >= 0 and report["xruns_out"] >= 0
    steal = report["steal_pct"]  # the host's share of the CPU, read on Linux
    assert isinstance(steal, float) and 0 <= steal <= 100, report
    a, b = (Path(f) for f in report["files"])
    assert sf.info(str(a)).frames == sf.info(str(b)).frames == report["frames"] * 1920


def test_status_line_names_xruns_by_side_and_the_hosts_share_when_it_counts():
    st = LiveStats()
    line = status_line(st, 1.0)
    assert "xruns" not in line and "host" not in line  # none, and the steal unknown
    st.xruns, st.xruns_in, st.xruns_out, st.steal_pct = 3, 1, 2, 1.0
    line = status_line(st, 2.0)
    assert "xruns 3 (in 1, out 2)" in line and "host" not in line  # under 2 %: not named
    st.steal_pct = 12.4
    assert "host took 12 % of the CPU" in status_line(st, 3.0)


def wait_running(p: subprocess.Popen, status_lines: int) -> list[str]:
    """Read the session's stderr until it has printed `status_lines` status lines."""
    deadline, lines = time.monotonic() + 120, []
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        lines.append(line)
        if sum(" s  K=" in x for x in lines) >= status_lines or not line:
            break
    return lines


def _chirp(rate: int) -> np.ndarray:
    t = np.arange(int(0.05 * rate)) / rate
    return (0.5 * np.hanning(len(t)) * np.sin(2 * np.pi * (500 * t + 45_000 * t * t))).astype(
        np.float32
    )


@pytest.mark.loopback
def test_readout_agrees_with_the_lag_measured_on_the_loopback(tmp_path):
    """The test plays a chirp into the loopback and records it: it arrives once directly
    and once more after the live loop played it back (monitoring the input, so the codec
    does not smear it). The gap between the two, found here by cross-correlation, is the
    true mic-to-speaker latency; the session's readout must be within 25 ms of it."""
    import sounddevice as sd

    env = loopback_env(tmp_path)
    p = subprocess.Popen(
        [sys.executable, "main.py", "live", *LIVE_ARGS, "--monitor", "input", "--seconds", "8"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    rate = 48_000
    try:
        wait_running(p, 3)  # the streams are open and the buffer has settled
        probe = _chirp(rate)
        silence = np.zeros(int(0.6 * rate), np.float32)
        rec = sd.playrec(np.concatenate([probe, silence])[:, None], rate, channels=1)
        sd.wait()
        stdout, stderr = p.communicate(timeout=90)
    finally:
        p.kill()
    assert p.returncode == 0, stderr
    report = json.loads(stdout)
    assert report["seconds"] >= 7.9, "the session ended before the chirp was played"
    y = rec[:, 0].astype(np.float64)
    c = np.abs(np.correlate(y, probe.astype(np.float64), mode="valid"))

    def arrival(start: int) -> int:  # the first peak above half the largest, refined
        a = start + int(np.flatnonzero(c[start:] >= 0.5 * c[start:].max())[0])
        return a + int(np.argmax(c[a : a + 48]))

    i1 = arrival(0)
    i2 = arrival(i1 + int(0.06 * rate))
    lag_ms = 1000 * (i2 - i1) / rate
    readout = report["latency"]["median"]
    print(f"loopback: measured {lag_ms:.1f} ms, readout median {readout:.1f} ms, {report}")
    assert c[i2] > 0.3 * c[i1], "the live loop's echo was not found"
    assert 80 <= lag_ms <= 400, "not the live loop's echo (it is at least one frame late)"
    assert abs(readout - lag_ms) <= 25.0
