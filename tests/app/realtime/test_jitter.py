"""The live loop's adaptive jitter buffer: tags, underruns, growth, shrinking, cuts."""

from __future__ import annotations

import numpy as np

from app.realtime.jitter import JitterBuffer

RATE, BLOCK = 24_000, 120


def ramp(n: int, start: int = 0) -> np.ndarray:
    """Samples whose values are their own input index: what played is readable."""
    return np.arange(start, start + n, dtype=np.float32)


def test_tags_follow_the_samples_across_chunks_and_blocks():
    jb = JitterBuffer(RATE, BLOCK)
    out = np.empty(BLOCK, np.float32)
    jb.push(ramp(200, 1000), 1000)
    got, tag = jb.pop_into(out)
    seen = [out.copy()]
    assert (got, tag) == (BLOCK, 1000)
    jb.push(ramp(200, 1200), 1200)  # slack 80 < one step: nothing is cut
    assert jb.skipped == 0
    for _ in range(2):
        got, tag = jb.pop_into(out)
        assert got == BLOCK and tag == int(out[0])  # the tag names the first sample played
        seen.append(out.copy())
    assert np.array_equal(np.concatenate(seen), ramp(360, 1000))
    assert jb.size == 40 and jb.underruns == 0


def test_underrun_is_counted_once_per_dry_spell_and_pads_silence():
    jb = JitterBuffer(RATE, BLOCK)
    out = np.empty(BLOCK, np.float32)
    assert jb.pop_into(out) == (0, -1) and jb.underruns == 0  # not started: no underrun
    jb.push(ramp(BLOCK + 20, 1), 0)
    jb.pop_into(out)
    got, _ = jb.pop_into(out)
    assert got == 20 and np.all(out[20:] == 0) and jb.underruns == 1
    for _ in range(5):
        jb.pop_into(out)
    assert jb.underruns == 1  # still the same dry spell


def test_target_grows_on_underrun_leads_with_silence_and_relaxes():
    jb = JitterBuffer(RATE, BLOCK, relax_s=0.5)
    step = jb.step
    assert step == 120 and jb.target == 0
    out = np.empty(BLOCK, np.float32)
    jb.push(ramp(1920, 1), 0)
    for _ in range(17):  # one block more than there is: a dry spell
        jb.pop_into(out)
    assert jb.underruns == 1
    cut = jb.push(ramp(1920, 1), 1920)
    assert cut.target == step
    got, tag = jb.pop_into(out)
    assert got == BLOCK and np.all(out == 0) and tag == 1920 - step  # the lead silence
    # 0.5 s of pushed audio without an underrun: the target comes back down one step
    for i in range(8):
        jb.pop_into(out)
        jb.push(ramp(1920, 1), 3840 + 1920 * i)
    assert jb.target == 0


def test_excess_slack_is_cut_with_a_crossfade_and_counted():
    jb = JitterBuffer(RATE, BLOCK)
    # a stall: three frames arrive at once, the speaker has not taken any
    for i in range(3):
        jb.push(ramp(1920, 1920 * i), 1920 * i)
    # the slack before the third push was two frames; all of it beyond the target is cut
    assert jb.skipped >= 1 and jb.samples_skipped >= 1920
    out = np.empty(len(ramp(1)) * 0 + jb.size, np.float32)
    got, tag = jb.pop_into(out)
    assert got == len(out)
    f = jb.fade
    assert out[0] == 0.0  # the head's first sample is kept, then faded into the later signal
    after = out[f:]
    assert np.array_equal(after, ramp(len(after), int(after[0])))  # contiguous after the fade
    assert tag == int(out[f]) - f  # the faded samples carry the later signal's tags
    assert jb.size == 0
