"""Views of a 2-hour file: levels of detail keep every zoom step prompt and bounded."""

from __future__ import annotations

import time

import numpy as np
import pytest

from codec.analysis.levels import MAX_COLUMNS, MAX_POINTS, RAW_MAX, PeakPyramid, code_columns
from codec.model.config import CodecConfig
from codec.model.info import describe

RATE = 24_000
HOURS = 2
FRAME_S = 0.08


def test_peak_pyramid_envelope_is_exact():
    rng = np.random.default_rng(1)
    y = rng.standard_normal(3_000_000).astype(np.float32)
    pyr = PeakPyramid(y)
    for i0, i1 in [(0, len(y)), (123_457, 1_987_001), (2_999_000, 3_000_000)]:
        x, v, block = pyr.view(i0, i1)
        if i1 - i0 <= RAW_MAX:
            assert block == 1 and np.array_equal(v, y[i0:i1])
            continue
        assert block > 1 and len(v) <= 2 * (MAX_POINTS + 2)
        for j in range(0, len(x), 2):  # each pair is one block's min then max, at its start
            s = int(x[j])
            assert s % block == 0
            assert v[j] == y[s : s + block].min() and v[j + 1] == y[s : s + block].max()
        assert x[0] <= i0 and x[-1] + block >= i1  # the blocks cover the range


def test_code_columns_are_exact_frames():
    codes = np.random.default_rng(2).integers(0, 2048, (32, 90_000))
    img, first, step = code_columns(codes, 0, 90_000)
    assert img.shape[1] <= MAX_COLUMNS and step > 1
    for j in (0, 1, img.shape[1] - 1):
        assert np.array_equal(img[:, j], codes[:, first + j * step])
    img, first, step = code_columns(codes, 45_000, 45_100)
    assert step == 1 and first <= 45_000 and first + img.shape[1] >= 45_100
    assert np.array_equal(img, codes[:, first : first + img.shape[1]])


def timed(qtbot, view, action) -> float:
    """Seconds for `action` plus the repaint it causes (grab paints the widget now)."""
    from PySide6.QtWidgets import QApplication

    t = time.monotonic()
    action()
    QApplication.processEvents()
    view.grab()
    return time.monotonic() - t


MIMI = describe(CodecConfig.mimi())  # the views take every size from here


def test_two_hours_zoom_stays_prompt(qtbot):
    from app.widgets.time_views import WaveformView
    from app.widgets.token_view import TokenHeatmap

    n = HOURS * 3600 * RATE  # 172.8 M samples: 691 MB of float32
    rng = np.random.default_rng(0)
    x = np.resize((0.1 * rng.standard_normal(1 << 20)).astype(np.float32), n)[None]
    click = 5_000_123  # one loud sample: peak downsampling must keep it at every zoom
    x[0, click] = 0.95
    frames = n // 1920
    codes = rng.integers(0, 2048, (32, frames))

    wave, heat = WaveformView(), TokenHeatmap()
    for v in (wave, heat):
        qtbot.addWidget(v)
        v.resize(1400, 300)
    y = 0.5 * x
    loads = {}
    for name, action in (
        ("waveform", lambda: wave.set_original(x, RATE)),
        ("reconstruction", lambda: wave.set_reconstruction(y)),
        ("heatmap", lambda: (heat.link_to(wave.plots[0]), heat.set_codes(codes, MIMI))),
    ):
        t = time.monotonic()
        action()
        loads[name] = round(time.monotonic() - t, 3)
    wave.show(), heat.show()
    qtbot.waitExposed(heat)
    print(f"\nset data for {n} samples, codes {codes.shape} (s): {loads}")
    # building the min/max pyramid is one pass over the signal (~0.7 s for 2 h here)
    assert loads["heatmap"] < 2.0 and max(loads.values()) < 10.0, loads

    master = wave.plots[0]
    total_s = n / RATE
    ranges = [
        (0, total_s),
        (3600, 3610),  # 10 s: raw samples, every frame
        (1000, 4000),
        (200, 208.5),
        (0, total_s),
        (3600.1, 3600.3),  # 0.2 s: raw samples
        (7000, 7199),
    ]
    times = []
    for a, b in ranges:
        dt = timed(qtbot, heat, lambda a=a, b=b: master.setXRange(a, b, padding=0))
        dt += timed(qtbot, wave, lambda: None)
        times.append(dt)
        f0, f1 = int(a / FRAME_S), int(b / FRAME_S)
        _, step, cols = heat.lod
        wave_pts = len(wave.curves[0]["original"].yData)
        print(
            f"  {a:7.1f}..{b:7.1f} s: {dt:.3f} s, heatmap step {step} x {cols} columns, "
            f"waveform block {wave.lod_block()} x {wave_pts} points"
        )
        assert cols <= MAX_COLUMNS and heat.ac_img.image.shape[1] == cols
        assert wave_pts <= 2 * (MAX_POINTS + 2)
        if b - a >= 3000:  # zoomed out: coarse columns, envelope; the click still shows
            assert step > 1 and wave.lod_block() > 1
            if a <= click / RATE <= b:
                assert wave.curves[0]["original"].yData.max() == pytest.approx(0.95)
        if b - a <= 10:  # zoomed in: every frame drawn exactly, the finest envelope
            assert step == 1 and wave.lod_block() <= 64
            for f in range(f0, f1 + 1, 7):
                for row in (0, 1, 17, 31):
                    assert heat.drawn_code(row, f) == codes[row, f], (row, f)
        if b - a <= 0.3:  # raw samples at their own times
            assert wave.lod_block() == 1
            i0 = int(np.ceil(a * RATE))
            xd, yd = wave.curves[0]["original"].getData()
            j = int(np.searchsorted(xd, a))
            assert xd[j] * RATE == pytest.approx(i0) and yd[j] == x[0, i0]
    print("update times (s):", [round(t, 3) for t in times])
    assert max(times) < 2.0, times
