"""`main.py live`: the Live tab's round trip without a window.

microphone -> the codec's streaming encoder -> the first K codebooks -> its streaming
decoder -> speaker, one 80 ms frame at a time, on the system's default devices unless told
otherwise. A status line goes to stderr every second; `--json` prints a summary on stdout
at the end. The session is saved as the tab saves it: two WAVs (input and output, at the
codec's rate) in the recordings folder, written as they grow. `--seconds` counts from when
the streams are open; Ctrl-C (SIGINT) or SIGTERM ends the session cleanly, saving it.
No Qt is imported.
"""

from __future__ import annotations

import argparse
import copy
import json
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from codec.cli.main import add_model_args

PROG = "mimi-explorer live"
STEAL_SHOWN_PCT = 2.0  # the status line names the host's share of the CPU from this much
SETTLE_S = 1.5  # the probe waits this long after the streams open (the buffer settles)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Talk into the microphone and hear yourself through the codec, live.",
    )
    p.add_argument("--seconds", type=float, help="stop after S seconds (default: Ctrl-C)")
    p.add_argument("--codebooks", type=int, default=8, metavar="K", help="K decoded (default 8)")
    add_model_args(p)  # --weights and --device, as every other command has them
    p.add_argument("--input", metavar="DEV", help="input device: index or part of its name")
    p.add_argument("--output", metavar="DEV", help="output device: index or part of its name")
    p.add_argument(
        "--monitor",
        choices=("output", "input"),
        default="output",
        help="what the speaker plays: the codec's output (default) or the input, through "
        "the same frame pipeline (same latency)",
    )
    p.add_argument("--block-ms", type=float, default=5.0, help="device block (default 5 ms)")
    p.add_argument(
        "--device-latency-ms",
        type=float,
        default=0.0,
        help="latency asked of the audio devices, each direction, ms (default 0: the host "
        "API's 'low')",
    )
    p.add_argument(
        "--min-buffer-ms",
        type=float,
        default=10.0,
        help="the jitter buffer's floor: slack it keeps whatever the compute's jitter, ms "
        "(default 10; 0: it may come down to no slack at all)",
    )
    p.add_argument(
        "--two-streams",
        action="store_true",
        help="an input and an output stream instead of one duplex stream",
    )
    p.add_argument(
        "--measure-latency",
        action="store_true",
        help="after the start, play a short chirp and find it in what comes back (the "
        "output must reach the input: a loopback device, or speaker and mic in one room)",
    )
    p.add_argument("--no-save", action="store_true", help="keep the session in memory only")
    p.add_argument("--json", action="store_true", help="a JSON summary on stdout at the end")
    p.add_argument("--list-devices", action="store_true", help="list the audio devices and exit")
    return p


class LiveError(Exception):
    """A user-facing reason the live session cannot run."""


def pick_device(backend, spec: str | None, kind: str) -> int | None:
    """The device index for `spec` (an index, or part of a name), or the default one."""
    devices = [
        d
        for d in backend.devices()
        if (d.max_input_channels if kind == "input" else d.max_output_channels)
    ]
    if not devices:
        raise LiveError(
            f"no audio {kind} device" + (f" ({backend.reason})" if backend.reason else "")
        )
    if spec is None:
        default = backend.default_device(kind)
        return default if any(d.index == default for d in devices) else devices[0].index
    if spec.strip().isdigit():
        i = int(spec)
        if any(d.index == i for d in devices):
            return i
        raise LiveError(f"no {kind} device with index {i} (see --list-devices)")
    hits = [d for d in devices if spec.lower() in d.name.lower()]
    if not hits:
        raise LiveError(f"no {kind} device named like {spec!r} (see --list-devices)")
    return hits[0].index


def status_line(st, elapsed: float) -> str:
    src = "" if st.latency_source in ("", "timestamps") else f" ({st.latency_source})"
    line = (
        f"{elapsed:6.1f} s  K={st.k}  compute {st.compute_ms:5.1f} ms "
        f"({st.first_out_ms:4.1f} after the frame)  RTF {st.rtf:.2f}  "
        f"latency {st.latency_ms:4.0f} ms{src}  buffer {st.buffer_ms:.0f} ms  "
        f"dropped {st.dropped}  late {st.late}  skipped {st.skipped}"
    )
    if st.xruns:
        line += f"  xruns {st.xruns} (in {st.xruns_in}, out {st.xruns_out})"
    if st.steal_pct is not None and st.steal_pct >= STEAL_SHOWN_PCT:
        line += f"  host took {st.steal_pct:.0f} % of the CPU"
    return line


def summary(engine, st, result, elapsed: float, names: tuple[str, str], model: str) -> dict:
    """The session's figures as one JSON-ready dict."""
    lat = engine.latency_summary()
    probes = [
        {"latency_ms": round(p.latency_ms, 1), "readout_ms": round(p.readout_ms, 1)}
        for p in result.probes
    ]
    return {
        "latency_ms": round(st.latency_ms, 1),
        "latency": {
            "source": st.latency_source,
            **{k: round(v, 1) for k, v in lat.items()},
        },
        "measured_latency_ms": round(st.measured_latency_ms, 1) if result.probes else None,
        "probe_note": st.probe_note,
        "probes": probes,
        "seconds": round(elapsed, 2),
        "frames": st.frames,
        "codebooks": st.k,
        "compute_ms_avg": round(st.compute_ms_avg, 2),
        "first_out_ms_avg": round(st.first_out_ms_avg, 2),
        "rtf": round(st.compute_ms_avg / 80.0, 3),
        "buffer_ms": round(st.buffer_ms, 1),
        "dropped": st.dropped,
        "late": st.late,
        "late_ms": round(st.late_ms, 1),
        "skipped": st.skipped,
        "skipped_ms": round(st.skipped_ms, 1),
        "xruns": st.xruns,
        "xruns_in": st.xruns_in,
        "xruns_out": st.xruns_out,
        "steal_pct": None if st.steal_pct_session is None else round(st.steal_pct_session, 1),
        "device_rate": engine.device_rate,
        "block": engine.block,
        "duplex": st.duplex,
        "threads": st.threads,
        "hops": st.hops,
        "input_device": names[0],
        "output_device": names[1],
        "model": model,
        "files": [str(p) for p in result.files] if result.files else [],
        "error": engine.error,
    }


def list_devices(backend, out) -> None:
    if not backend.devices():
        print(f"no audio devices {backend.reason}".rstrip(), file=out)
    for d in backend.devices():
        io = f"in {d.max_input_channels} out {d.max_output_channels}"
        print(f"{d.index:3d}  {d.name}  ({io}, {d.default_samplerate:.0f} Hz)", file=out)


def check_args(args: argparse.Namespace) -> None:
    if args.seconds is not None and args.seconds <= 0:
        raise LiveError("--seconds must be more than 0")
    if not 1.0 <= args.block_ms <= 80.0:
        raise LiveError("--block-ms must be between 1 and 80")
    if not 0.0 <= args.device_latency_ms <= 500.0:
        raise LiveError("--device-latency-ms must be between 0 and 500")
    if not 0.0 <= args.min_buffer_ms <= 100.0:
        raise LiveError("--min-buffer-ms must be between 0 and 100")


def open_engine(codec, backend, in_dev: int | None, out_dev: int | None, args, spool):
    """A LiveEngine with its streams open: at the codec's rate, else the input device's
    own rate (resampled). Raises LiveError with PortAudio's reason."""
    from app.realtime.live import LiveEngine

    rates = [codec.sample_rate] + [
        int(d.default_samplerate)
        for d in backend.devices()
        if d.index == in_dev and int(d.default_samplerate) != codec.sample_rate
    ]
    errors = []
    for rate in rates:
        engine = LiveEngine(
            codec,
            backend,
            in_dev,
            out_dev,
            device_rate=rate,
            k=args.codebooks,
            spool=spool,
            block_s=args.block_ms / 1000.0,
            duplex=not args.two_streams,
            device_latency=args.device_latency_ms / 1000.0 if args.device_latency_ms else "low",
            min_buffer_s=args.min_buffer_ms / 1000.0,
        )
        try:
            engine.open()
        except RuntimeError as e:
            errors.append(str(e))
            continue
        engine.control.set_monitor(args.monitor)
        return engine
    raise LiveError(errors[-1] if errors else "cannot open the audio devices")


def drive(engine, args, err, on_engine=None) -> tuple[object, float]:
    """Run the frame loop in a thread until --seconds, Ctrl-C/SIGTERM or the engine's own
    end; a status line a second. Returns (the LiveResult, seconds since the streams opened)."""
    t_open = time.monotonic()
    latest = {"st": copy.copy(engine.stats)}  # a copy per frame: never read while written
    engine.on_frame = lambda codes, st: latest.__setitem__("st", copy.copy(st))
    box: dict = {}

    def work() -> None:
        try:
            box["result"] = engine.run()
        except BaseException as e:  # reported below; the session so far is kept
            box["error"] = e

    stop = threading.Event()
    main_thread = threading.current_thread() is threading.main_thread()
    sigs = (signal.SIGINT, signal.SIGTERM) if main_thread else ()  # only there in Python
    old = {s: signal.signal(s, lambda *_: stop.set()) for s in sigs}
    thread = threading.Thread(target=work, name="live-frames", daemon=True)
    thread.start()
    if on_engine is not None:
        on_engine(engine)
    probed, next_line = False, 1.0
    try:
        while thread.is_alive():
            elapsed = time.monotonic() - t_open
            if stop.is_set() or (args.seconds is not None and elapsed >= args.seconds):
                break
            if args.measure_latency and not probed and elapsed >= SETTLE_S:
                engine.control.request_probe()
                probed = True
            if elapsed >= next_line:
                print(status_line(latest["st"], elapsed), file=err, flush=True)
                next_line += 1.0
            stop.wait(0.05)
    finally:
        elapsed = time.monotonic() - t_open
        engine.stop()
        thread.join(30)
        for s, h in old.items():
            signal.signal(s, h)
    if "error" in box:
        raise LiveError(f"live mode failed: {box['error']}")
    return box.get("result") or engine.result(), elapsed


def run_live(args: argparse.Namespace, backend=None, out=None, err=None, on_engine=None) -> int:
    """Run one session; `backend` defaults to PortAudio (tests pass a fake, and an
    `on_engine(engine)` called once the streams are open)."""
    from app.realtime.devices import SoundDeviceBackend
    from app.realtime.recorder import free_stamp, recordings_dir
    from codec.weights.load import load_codec

    out, err = out or sys.stdout, err or sys.stderr
    backend = backend or SoundDeviceBackend()
    if not backend.available:
        raise LiveError(backend.reason or "no audio library")
    if args.list_devices:
        list_devices(backend, out)
        return 0
    check_args(args)
    in_dev = pick_device(backend, args.input, "input")
    out_dev = pick_device(backend, args.output, "output")
    names = {d.index: d.name for d in backend.devices()}
    print(f"loading the model ({args.weights})…", file=err)
    codec = load_codec(args.weights, args.device)
    if getattr(codec.info, "fallback_reason", ""):
        print(f"note: {codec.info.fallback_reason}", file=err)
    if not 1 <= args.codebooks <= codec.num_codebooks:
        raise LiveError(f"--codebooks must be 1..{codec.num_codebooks} for this model")
    spool = None
    if not args.no_save:
        folder = recordings_dir()
        spool = folder / f"live-{free_stamp(folder)}"
    engine = open_engine(codec, backend, in_dev, out_dev, args, spool)
    kind = "one duplex stream" if engine.stats.duplex else "two streams"
    print(
        f"live: {names.get(in_dev, in_dev)} -> {codec.description} (K={args.codebooks}) -> "
        f"{names.get(out_dev, out_dev)}, {engine.device_rate} Hz, {kind}, blocks of "
        f"{engine.block} samples, {engine.stats.threads} torch thread(s), "
        f"{'40 ms hops' if engine.stats.hops else 'whole frames'}; Ctrl-C stops",
        file=err,
    )
    result, elapsed = drive(engine, args, err, on_engine)
    st = engine.stats
    for note in (f"note: {engine.error}" if engine.error else "", st.probe_note):
        if note:
            print(note, file=err)
    if result.files:
        a, b = (Path(f) for f in result.files)
        print(f"saved {a.name} and {b.name} in {a.parent}", file=err)
    devices = (names.get(in_dev, ""), names.get(out_dev, ""))
    report = summary(engine, st, result, elapsed, devices, codec.description)
    if args.json:
        print(json.dumps(report, indent=2), file=out)
    else:
        lat = {k: report["latency"].get(k, 0.0) for k in ("median", "min", "max")}
        print(
            f"{st.frames} frames in {elapsed:.1f} s; latency {report['latency_ms']:.0f} ms "
            f"(median {lat['median']:.0f}, {lat['min']:.0f}-{lat['max']:.0f}); "
            f"dropped {st.dropped}, late {st.late}, skipped {st.skipped}",
            file=err,
        )
    return 0


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    from codec.errors import CodecError

    try:
        return run_live(args)
    except (LiveError, CodecError, ValueError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
