"""The bench's moshi reference: absent, faked (the protocol and the arithmetic), and real
when an environment with moshi is at hand (MIMI_BENCH_MOSHI_PYTHON)."""

from __future__ import annotations

import json
import stat
import sys
import textwrap

import pytest

from codec.cli import bench

FAKE_WORKER = """\
#!{python}
import json, sys
print(json.dumps({{"ready": True, "moshi": "fake", "torch": "-"}}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    n, prof = req["n"], req["profile"]
    ms = [] if prof else [100.0] * n
    parts = [[10.0] * 8 for _ in range(n)] if prof else []
    codes = [[0] * req["k"] for _ in range(n)]
    print(json.dumps({{"enc_ms": ms, "dec_ms": ms, "parts": parts, "codes": codes}}), flush=True)
"""


def test_without_moshi_the_bench_says_why(tiny):
    r = bench.run_bench("tiny", "cpu", 0.5, 1, 2, 1, with_hf=False)
    assert r["moshi"] is None and "--moshi-python" in r["moshi_skipped"]
    r = bench.run_bench("tiny", "cpu", 0.5, 1, 2, 1, with_hf=False, moshi_python="/no/python")
    assert r["moshi"] is None and "/no/python" in r["moshi_skipped"]
    assert "skipped" in bench.format_moshi(None, r["moshi_skipped"])
    assert r["machine"]["load_before"] and r["machine"]["cpu"]


def test_moshi_reference_needs_the_released_config(tiny):
    with pytest.raises(ValueError, match="released Mimi"):
        bench.measure_vs_moshi(tiny, sys.executable, frames=2)


def test_interleaved_against_a_fake_moshi(mimi_random, tmp_path):
    fake = tmp_path / "fake-python"
    fake.write_text(textwrap.dedent(FAKE_WORKER.format(python=sys.executable)))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    r = bench.measure_vs_moshi(mimi_random, str(fake), frames=4, warmup=2, block=3)
    assert r["moshi"] == "fake" and r["frames"] == 4
    assert r["moshi_side"]["total_ms_median"] == 200.0
    assert r["ratio"] == pytest.approx(r["ours"]["total_ms_median"] / 200.0)
    assert set(r["profile_moshi"]) == set(bench.PARTS) == set(r["profile_ours"])
    assert all(v > 0 for v in r["profile_ours"].values())
    assert 0.0 <= r["codes_equal"] <= 1.0
    text = bench.format_moshi(r)
    assert "ratio ours / moshi" in text and "seanet_encoder" in text
    json.dumps(r)


def test_a_failing_worker_is_reported(mimi_random, tmp_path):
    bad = tmp_path / "bad-python"
    bad.write_text(f"#!{sys.executable}\nimport sys\nsys.exit('no moshi here')\n")
    bad.chmod(bad.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(RuntimeError, match="no moshi here"):
        bench.measure_vs_moshi(mimi_random, str(bad), frames=2, warmup=0, block=2)


# Against the real moshi (an optional benchmark reference, never installed by the project):
# `main.py bench --moshi-python PATH` prints the share of codes equal to moshi's.
