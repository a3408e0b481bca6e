"""Soak benchmark: a long live round trip against a fake audio device clocked at real time.

    python scripts/soak.py [--minutes 10] [--weights demo] [--k 8] [--json]

No sound card is needed: `ClockedBackend` streams have no thread of their own; `soak()`
calls their callbacks every `block` samples on a monotonic real-time schedule, input then
output, exactly as PortAudio would call them. The engine (`app.realtime.live.LiveEngine`) runs in
its own thread as in the app, spooling the session to disk as the app should.

Reported:
  * memory: resident set size (RSS) after the warm-up and at the end, and its growth; the
    target is < 50 MB over 10 minutes;
  * drift: input frames delivered minus frames coded (target 0), and decoded samples not
    played, queued, cut from a burst or dropped after a dry spell (target 0; the clocks
    are the same here, so any difference is a lost or duplicated sample in the engine);
  * late (underrun) output callbacks, dropped input frames, compute time per frame.
No Qt; this script only drives app.realtime.live. The clocked device is a benchmark's
fake and lives here, not in the app.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.realtime.devices import DeviceInfo
from app.realtime.live import LiveEngine


class ClockedStream:
    """A stream whose callback `soak()` calls on its clock; output blocks are not kept."""

    def __init__(self, kind: str, samplerate: float, channels: int, callback) -> None:
        self.kind, self.samplerate, self.channels = kind, samplerate, channels
        self.callback = callback
        self.latency = 0.02
        self.active = False

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        self.active = False

    def close(self) -> None:
        self.active = False


class ClockedBackend:
    """One fake microphone and one fake speaker (the `AudioBackend` interface)."""

    available = True
    reason = ""

    def __init__(self) -> None:
        self.streams: dict[str, ClockedStream] = {}

    def devices(self) -> list[DeviceInfo]:
        return [
            DeviceInfo(0, "clocked mic", 1, 0, 24_000.0),
            DeviceInfo(1, "clocked out", 0, 1, 24_000.0),
        ]

    def default_device(self, kind: str) -> int | None:
        return 0 if kind == "input" else 1

    def input_stream(self, samplerate, channels, callback, device=None, blocksize=0, **kw):
        self.streams["input"] = ClockedStream("input", samplerate, channels, callback)
        return self.streams["input"]

    def output_stream(self, samplerate, channels, callback, device=None, blocksize=0, **kw):
        self.streams["output"] = ClockedStream("output", samplerate, channels, callback)
        return self.streams["output"]


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def clock_signal(block: int, rate: int, index: int) -> np.ndarray:
    """[block, 1] float32: a speech-like tone, continuous across blocks, plus light noise."""
    t = (np.arange(block) + index * block) / rate
    # f0 = 140 + 30 sin(pi t) Hz; the phase is its exact integral, so blocks join smoothly
    phase = 2 * np.pi * (140 * t - (30 / np.pi) * np.cos(np.pi * t))
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2
    x = 0.2 * env * sum(np.sin(h * phase) / h for h in range(1, 6))
    x += 0.01 * np.random.default_rng(index).standard_normal(block)
    return x.astype(np.float32)[:, None]


@dataclass
class SoakReport:
    minutes: float
    model: str
    k: int
    frames_delivered: int  # whole codec frames of input the clock delivered
    frames_coded: int
    frame_drift: int  # frames_delivered - frames_coded (target 0)
    sample_drift: int  # decoded samples unaccounted for by the jitter buffer (target 0)
    late_callbacks: int
    dropped_frames: int
    skipped_frames: int  # decoded frames skipped to bring the latency back after a stall
    compute_ms_avg: float
    compute_ms_max: float
    clock_overruns: int  # ticks the clock itself ran late by > one block (a loaded machine)
    rss_warm_mb: float
    rss_end_mb: float
    rss_max_mb: float
    growth_mb: float  # rss_end - rss_warm (target < 50 over 10 minutes)
    growth_mb_per_min: float  # least-squares slope of RSS after the warm-up
    backlog_max_samples: int  # decoded audio waiting for the speaker, worst moment
    backlog_end_samples: int  # ... at the end: what a stall added to the latency for good
    error: str = ""
    rss_trace: list[tuple[float, float]] = field(default_factory=list)  # (s, MB) each 5 s


def soak(
    codec,
    minutes: float,
    k: int = 8,
    block: int = 480,
    warmup_s: float = 30.0,
    spool_dir: Path | None = None,
    log=None,
    in_memory: bool = False,
) -> SoakReport:
    """Run the live engine for `minutes` of real time; see the module docstring."""
    rate = codec.sample_rate
    fs = codec.frame_size
    backend = ClockedBackend()
    with tempfile.TemporaryDirectory(prefix="mimi-soak-") as tmp:
        folder = spool_dir or Path(tmp)
        # in_memory: the session kept in RAM as live_panel does today (2 x 5.8 MB a minute)
        engine = LiveEngine(codec, backend, k=k, spool=None if in_memory else folder / "soak")
        engine.open()
        mic, spk = backend.streams["input"], backend.streams["output"]
        box: dict = {}
        worker = threading.Thread(target=lambda: box.setdefault("r", engine.run()), daemon=True)
        worker.start()
        out = np.zeros((block, 1), np.float32)
        block_s = block / rate
        total = round(minutes * 60 / block_s)
        warm_ticks = min(int(warmup_s / block_s), total // 2)
        trace: list[tuple[float, float]] = []
        rss_warm = rss_max = 0.0
        ms_max = 0.0
        backlog_max = overruns = 0
        t0 = time.monotonic()
        for i in range(total):
            due = t0 + (i + 1) * block_s
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            elif now - due > block_s:
                overruns += 1
            mic.callback(clock_signal(block, rate, i), block, None, None)
            spk.callback(out, block, None, None)
            ms_max = max(ms_max, engine.stats.compute_ms)
            backlog_max = max(backlog_max, engine.buffer.size)
            if i == warm_ticks:
                rss_warm = rss_mb()
            if i % int(5 / block_s) == 0:
                trace.append((round(i * block_s, 1), round(rss_mb(), 1)))
                rss_max = max(rss_max, trace[-1][1])
                if log and i % int(30 / block_s) == 0:
                    st = engine.stats
                    log(
                        f"{i * block_s:6.0f} s  rss {trace[-1][1]:7.1f} MB  frames {st.frames}"
                        f"  late {st.late}  dropped {st.dropped}  {st.compute_ms_avg:.1f} ms/frame"
                    )
        rss_end = rss_mb()  # before stopping: result() then reads the spooled session back
        backlog_end = engine.buffer.size
        delivered = total * block
        deadline = time.monotonic() + 10  # let the last whole frame through the codec
        while engine.stats.frames < delivered // fs and time.monotonic() < deadline:
            time.sleep(0.005)
        engine.stop()
        worker.join(30)
        st = engine.stats
        decoded = st.frames * fs
        after = [(t, m) for t, m in trace if t >= warm_ticks * block_s]
        slope = 0.0
        if len(after) >= 2:
            ts, ms = np.array(after).T
            slope = float(np.polyfit(ts / 60, ms, 1)[0])
        return SoakReport(
            minutes=minutes,
            model=codec.description,
            k=k,
            frames_delivered=delivered // fs,
            frames_coded=st.frames,
            frame_drift=delivered // fs - st.frames,
            # decoded audio (+ the buffer's lead silence) is played, queued, cut from a
            # burst, or dropped after a dry spell because its time had passed
            sample_drift=engine.buffer.unaccounted(decoded),
            late_callbacks=st.late,
            dropped_frames=st.dropped,
            skipped_frames=st.skipped,
            compute_ms_avg=round(st.compute_ms_avg, 2),
            compute_ms_max=round(ms_max, 2),
            clock_overruns=overruns,
            rss_warm_mb=round(rss_warm, 1),
            rss_end_mb=round(rss_end, 1),
            rss_max_mb=round(max(rss_max, rss_end), 1),
            growth_mb=round(rss_end - rss_warm, 1),
            growth_mb_per_min=round(slope, 2),
            backlog_max_samples=int(backlog_max),
            backlog_end_samples=int(backlog_end),
            error=engine.error,
            rss_trace=trace,
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="real-time length (default 10)")
    p.add_argument("--weights", default="demo", help="model (default: the bundled demo)")
    p.add_argument("--k", type=int, default=8, help="codebooks decoded (default 8)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--warmup", type=float, default=30.0, help="warm-up seconds (default 30)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--in-memory",
        action="store_true",
        help="keep the session in memory instead of spooling it to disk (today's app)",
    )
    args = p.parse_args(argv)
    import torch

    from codec.errors import CodecError
    from codec.weights.load import load_codec

    torch.set_num_threads(args.threads)
    try:
        codec = load_codec(args.weights, "cpu")
    except CodecError as e:
        print(f"soak: error: {e}", file=sys.stderr)
        return 2
    log = (lambda s: print(s, file=sys.stderr)) if not args.json else None
    r = soak(codec, args.minutes, k=args.k, warmup_s=args.warmup, log=log, in_memory=args.in_memory)
    if args.json:
        print(json.dumps(asdict(r), indent=1))
    else:
        for key, value in asdict(r).items():
            if key != "rss_trace":
                print(f"{key:22s} {value}")
    projected = r.growth_mb_per_min * 10
    print(f"projected growth over 10 min from the slope: {projected:.1f} MB", file=sys.stderr)
    # a run shorter than the 10-minute target is judged on its slope as well
    growth = r.growth_mb if r.minutes >= 10 else max(r.growth_mb, projected)
    ok = r.frame_drift == 0 and r.sample_drift == 0 and growth < 50
    print(
        f"verdict: {'PASS' if ok else 'FAIL'} (targets: drift 0, growth < 50 MB in 10 min)",
        file=sys.stderr,
    )
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
