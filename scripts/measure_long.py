"""Peak memory of `main.py roundtrip` on a long generated file.

    python scripts/measure_long.py --minutes 20 --weights demo [--rate 44100] [--whole]

Writes a mono test file block by block (never the whole signal in memory), runs the CLI
roundtrip in a child process and prints one JSON line: the file's length, wall time, real-
time factor and the child's peak RSS (VmHWM from /proc/self/status, which counts only that
process image). `--whole` forces the whole-file path for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import sys
sys.path.insert(0, {root!r})
from codec.cli import run
rc = run(sys.argv[1:])
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print("PEAK_KB", line.split()[1])
sys.exit(rc)
"""


def write_test_file(path: Path, seconds: float, rate: int) -> None:
    """A gliding tone with a syllable-rate envelope and noise, written 10 s at a time."""
    rng = np.random.default_rng(0)
    total = round(seconds * rate)
    with sf.SoundFile(str(path), "w", rate, 1, subtype="PCM_16") as f:
        for start in range(0, total, 10 * rate):
            t = (start + np.arange(min(10 * rate, total - start))) / rate
            f0 = 140 + 40 * np.sin(2 * np.pi * 0.3 * t)
            x = np.sin(2 * np.pi * np.cumsum(f0) / rate) * (0.5 + 0.5 * np.sin(8 * t) ** 2)
            f.write((0.2 * x + 0.01 * rng.standard_normal(len(t))).astype(np.float32))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=20.0)
    p.add_argument("--rate", type=int, default=44_100, help="the test file's sample rate")
    p.add_argument("--weights", default="demo")
    p.add_argument("--dir", default=None, help="folder for the test files (default: temp)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        src, dst = Path(d) / "long.wav", Path(d) / "out.wav"
        write_test_file(src, 60 * args.minutes, args.rate)
        cmd = [sys.executable, "-c", CHILD.format(root=str(ROOT))]
        cmd += ["roundtrip", str(src), "-o", str(dst), "--weights", args.weights]
        cmd += ["--device", "cpu"]
        t = time.monotonic()
        r = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
        wall = time.monotonic() - t
        sys.stderr.write(r.stderr[-2000:])
        peak = [int(x.split()[1]) for x in r.stdout.splitlines() if x.startswith("PEAK_KB")]
        out = {
            "minutes": args.minutes,
            "rate": args.rate,
            "weights": args.weights,
            "rc": r.returncode,
            "wall_s": round(wall, 1),
            "x_real_time": round(60 * args.minutes / wall, 1),
            "peak_rss_mb": round(peak[0] / 1024, 1) if peak else None,
            "output_s": sf.info(str(dst)).duration if dst.exists() else None,
        }
    print(json.dumps(out))
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
