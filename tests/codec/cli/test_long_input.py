"""A 10-minute input codes in bounded memory (no T x T attention, chunked convs)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow  # ten minutes of full-size Mimi

SCRIPT = textwrap.dedent("""
    import json, time, torch
    from codec import load_codec

    def hwm_gb():
        # VmHWM (peak RSS) of this process image; ru_maxrss would include the parent's
        # peak, which Linux carries across exec
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20

    torch.set_num_threads(2)
    codec = load_codec("random:mimi", "cpu")
    base = hwm_gb()
    n = 600 * 24_000
    g = torch.Generator().manual_seed(0)
    x = (0.1 * torch.randn(n, generator=g)).view(1, 1, n)
    t = time.time()
    codes = codec.encode(x)
    t_enc = time.time() - t
    t = time.time()
    y = codec.decode(codes)
    t_dec = time.time() - t
    print(json.dumps({"frames": codes.shape[-1], "samples": y.shape[-1],
                      "finite": bool(torch.isfinite(y).all()), "enc_s": t_enc, "dec_s": t_dec,
                      "peak_gb": hwm_gb(), "model_gb": base}))
""")


def test_ten_minutes_full_mimi_under_3gb():
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    print(out)
    assert out["frames"] == 7500 and out["samples"] == 7500 * 1920 and out["finite"]
    assert out["peak_gb"] < 3.0
