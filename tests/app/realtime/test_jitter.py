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
    cut = jb.push(ramp(1920, 1920), 1920)  # this frame came one block late
    assert cut.target == step
    got, tag = jb.pop_into(out)
    # the lead silence, in the place of the block whose time passed in the dry spell
    assert got == BLOCK and np.all(out == 0) and tag == 1920 + BLOCK - step
    got, tag = jb.pop_into(out)
    assert tag == 1920 + BLOCK and out[0] == tag  # that block was skipped, not played late
    assert jb.late_samples == BLOCK
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


def test_a_frame_pushed_in_hops_adapts_once_and_is_not_cut():
    """The live loop queues each decoded hop of a frame as soon as it is decoded: the second
    hop arrives with the first still queued, which is not lateness; with adapt=False it is
    appended as it is, and the tags run on."""
    jb = JitterBuffer(RATE, BLOCK)
    out = np.empty(BLOCK, np.float32)
    for f in range(4):
        jb.push(ramp(960, 1920 * f), 1920 * f)
        jb.push(ramp(960, 1920 * f + 960), 1920 * f + 960, adapt=False)
        played = []
        for _ in range(16):
            got, tag = jb.pop_into(out)
            assert got == BLOCK and tag == int(out[0])
            played.append(out.copy())
        assert np.array_equal(np.concatenate(played), ramp(1920, 1920 * f))
    assert jb.skipped == 0 and jb.underruns == 0 and jb.size == 0
    # the same second hops pushed as frames would look like a burst to cut
    jb2 = JitterBuffer(RATE, BLOCK)
    jb2.push(ramp(960), 0)
    jb2.push(ramp(960, 960), 960)
    jb2.push(ramp(960, 1920), 1920)
    assert jb2.skipped >= 1


def _targets_after_an_underrun(late_at: int | None) -> list[int]:
    """Frames of 1920 samples, the speaker taking 16 blocks between pushes; frame 1 comes
    one block late (an underrun: the target grows to one step), and so does frame
    `late_at` (a late frame's successor comes on time: one block less after it). The
    target after each push from frame 1 on."""
    jb = JitterBuffer(RATE, BLOCK, relax_s=0.5)
    out = np.empty(BLOCK, np.float32)
    jb.push(ramp(1920), 0)
    for _ in range(17):
        jb.pop_into(out)
    targets = []
    for i in range(24):
        jb.push(ramp(1920), 1920 * (i + 1))
        targets.append(jb.target)
        pops = 16 - (i == 0) + (i + 1 == late_at) - (i == late_at)
        for _ in range(pops):
            jb.pop_into(out)
    assert jb.underruns == 1
    return targets


def test_target_shrinks_only_where_a_step_less_would_not_have_run_dry():
    step = JitterBuffer(RATE, BLOCK).step
    steady = _targets_after_an_underrun(None)
    assert steady[0] == step and 0 in steady
    shrink_at = steady.index(0)
    # one frame a block late in that window: its slack fell to 0, so the target stays
    late = _targets_after_an_underrun(late_at=3)
    assert late[: shrink_at + 1] == [step] * (shrink_at + 1)
    assert 0 in late  # and shrinks after the next window without one


def test_a_shrink_followed_by_an_underrun_doubles_the_wait():
    jb = JitterBuffer(RATE, BLOCK, relax_s=0.5)
    out = np.empty(BLOCK, np.float32)
    jb.push(ramp(1920), 0)
    for _ in range(17):  # an underrun: the target grows one step
        jb.pop_into(out)
    tag, shrunk_at = 1920, None
    for i in range(12):
        jb.push(ramp(1920), tag)
        tag += 1920
        if jb.target == 0 and shrunk_at is None:
            shrunk_at = i
        for _ in range(16 - (i == 0)):  # the late frame's successor is on time
            jb.pop_into(out)
    assert shrunk_at is not None and jb.relax_now == jb.relax
    for _ in range(2):  # a slow frame right after the shrink: it was too soon
        jb.pop_into(out)
    jb.push(ramp(1920), tag)
    assert jb.underruns == 2 and jb.relax_now == 2 * jb.relax


def test_the_floor_leads_the_first_push_and_is_never_shrunk_below():
    """minimum (the live loop keeps a 10 ms floor): the first push leads with that much
    silence, and frames on time for many relax windows (the slack always at the floor,
    a step or more) never bring the target below it, nor cut anything."""
    step = 240
    jb = JitterBuffer(RATE, BLOCK, minimum=step, relax_s=0.5)
    out = np.empty(BLOCK, np.float32)
    assert jb.target == step
    jb.push(ramp(1920, 1), 0)
    assert jb.padded == step and jb.size == 1920 + step
    for i in range(30):  # 2.4 s of frames on time: nearly five relax windows
        for j in range(16):
            _, tag = jb.pop_into(out)
            if i == j == 0:
                assert np.all(out == 0) and tag == -step  # the lead silence first
        jb.push(ramp(1920, 1920 * (i + 1)), 1920 * (i + 1))
    assert jb.underruns == 0 and jb.skipped == 0 and jb.target == step
    assert jb.size == 1920 + step


def test_each_dry_spell_adds_one_step_of_latency_not_the_whole_target():
    """Frames of 1920 samples pushed on time (the clock: 120-sample blocks popped), then two
    frames each 3 blocks late, 40 frames apart: each costs one gap and one step of latency.
    (Leading the resumed audio with the whole target, as before, made the second cost two
    steps.) Latency: when an input sample plays minus its index, in samples."""
    jb = JitterBuffer(RATE, BLOCK)
    step, out = jb.step, np.empty(BLOCK, np.float32)
    clock, lat = 0, []

    def play(blocks: int) -> None:
        nonlocal clock
        for _ in range(blocks):
            got, _ = jb.pop_into(out)
            if got == BLOCK and out[0] > 0:
                lat.append(clock - int(out[0]))
            clock += BLOCK

    late = {20: 3, 60: 3}
    for i in range(100):
        play(late.get(i, 0))  # this frame is late: the speaker plays on meanwhile
        jb.push(ramp(1920, 1920 * i + 1), 1920 * i + 1)
        play(16 - late.get(i, 0))
    assert jb.underruns == 2 and jb.target == 2 * step
    before, between, after = lat[100], lat[16 * 40], lat[-1]
    assert between - before == step and after - between == step
    assert np.all(np.diff(lat[16 * 40 : 16 * 55]) == 0)  # steady between the spells


def test_every_sample_is_accounted_for_through_dry_spells_bursts_and_shrinks():
    """What goes in (decoded audio and lead silence) is played, queued, cut from a burst,
    or dropped after a dry spell, at every step: the soak benchmark's drift relies on it."""
    rng = np.random.default_rng(4)
    jb = JitterBuffer(RATE, BLOCK, relax_s=0.2)
    out = np.empty(BLOCK, np.float32)
    pushed, tag = 0, 0
    for _ in range(3000):
        if rng.random() < 0.1:  # the frame loop: a frame in two hops, or all at once
            for piece, adapt in (
                ((960, True), (960, False)) if rng.random() < 0.5 else ((1920, True),)
            ):
                jb.push(ramp(piece, tag), tag, adapt=adapt)
                pushed, tag = pushed + piece, tag + piece
        for _ in range(int(rng.integers(0, 3))):  # the speaker: late, on time, or catching up
            jb.pop_into(out)
        assert pushed + jb.padded == jb.popped + jb.size + jb.samples_skipped + jb.late_samples
        assert jb.unaccounted(pushed) == 0  # the same, as the soak benchmark reads it
    assert jb.underruns and jb.skipped and jb.late_samples  # every path was taken
