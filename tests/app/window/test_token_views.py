"""The semantic-vs-acoustic views in the window: tokens coloured by meaning, what each
codebook adds, B as one part of the decode, two clips compared, the codebook map."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from codec.analysis import tokens as tk
from codec.session.policy import LongFilePolicy
from tests.helpers.gui_gaps import GapTimer
from tests.helpers.signals import speechlike, write_tone
from tests.helpers.window import open_and_code


def wait_tokens(qtbot, w, timeout_ms: int = 120_000) -> None:
    """Until the worker's token analysis of the open file has reached the views."""
    qtbot.waitUntil(
        lambda: w.compare.tokens is not None and w.heatmap.usage is not None, timeout=timeout_ms
    )


def test_tokens_are_coloured_by_meaning_and_hover_says_how_often(qtbot, window, tmp_path):
    src = tmp_path / "m.wav"
    write_tone(src, seconds=2.0, sr=24_000, channels=1)
    open_and_code(qtbot, window, src)
    wait_tokens(qtbot, window)
    heat, codes = window.heatmap, window.compare.comparison.codes[0]
    geometry = window.compare.geometry
    assert heat.mode == "meaning" and not heat.colorbar.isVisible()
    for row, frame in ((0, 3), (5, 10), (17, 20)):
        want = tuple(int(v) for v in geometry.colours[row][codes[row, frame]])
        assert heat.drawn_colour(row, frame) == want  # the entry's own colour
        assert heat.drawn_code(row, frame) == codes[row, frame]
    # equal entries get equal colours: every frame with the same token, the same colour
    t = codes[0, 0]
    same = np.flatnonzero(codes[0] == t)
    assert len({heat.drawn_colour(0, int(f)) for f in same}) == 1
    text = heat.describe(0.5, 3.2, 1)
    n = int((codes[3] == codes[3, 6]).sum())
    assert f"token {int(codes[3, 6])} · entry used {n}x here" in text
    window.compare_view.colour_box.setCurrentIndex(1)  # by id
    assert heat.mode == "id" and heat.colorbar.isVisible() and heat.drawn_colour(0, 3) is None


def test_what_each_codebook_adds_is_the_analysis(qtbot, window, tmp_path, tiny):
    src = tmp_path / "c.wav"
    x = write_tone(src, seconds=2.0, sr=24_000, channels=1)
    open_and_code(qtbot, window, src)
    wait_tokens(qtbot, window)
    view = window.compare_view.contributions
    c = window.compare.comparison
    with torch.inference_mode():
        z = tiny.encode_latent(torch.from_numpy(x)[:, None])
    (want,) = tk.contributions(tiny.model, z, torch.from_numpy(c.codes))
    shares = want.norms / want.latent_norm[None]
    np.testing.assert_allclose(view.values(), shares, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(view.averages(), shares.mean(axis=1), rtol=1e-3, atol=1e-5)
    window.compare_view.share_box.setCurrentIndex(1)  # what the first k levels leave
    np.testing.assert_allclose(
        view.values(), want.residual / want.latent_norm[None], rtol=1e-3, atol=1e-5
    )
    assert view.img.image.shape == (32, c.codes.shape[-1])


@pytest.mark.parametrize("part", ["semantic", "acoustic", "residual"])
def test_b_plays_a_part_of_the_decode(qtbot, window, tmp_path, tiny, part):
    src = tmp_path / "p.wav"
    write_tone(src, seconds=1.0, sr=24_000, channels=1)
    open_and_code(qtbot, window, src)
    box = window.bar.part_box
    box.setCurrentIndex(box.findData(part))
    qtbot.waitUntil(window.compare.views_ready, timeout=60_000)
    c, k = window.compare.comparison, window.compare.k
    codes = torch.from_numpy(c.codes[:, :k].copy())
    n = c.num_samples
    if part == "residual":
        want = c.x24 - tiny.decode(codes)[:, 0, :n].numpy()
    else:
        want = tiny.decode(codes, part=part)[:, 0, :n].numpy()
    if part == "semantic":  # the semantic group alone is the decode of codebook 0
        np.testing.assert_allclose(want, tiny.decode(codes[:, :1])[:, 0, :n].numpy(), atol=1e-6)
    np.testing.assert_allclose(window.player.source(1)[:, 0], want[0], atol=1e-5)
    np.testing.assert_allclose(window.waveform.pyramids[0]["reconstruction"].y, want[0], atol=1e-5)


def test_compare_tokens_with_another_clip(qtbot, window, tmp_path):
    x = speechlike(2.0, seed=61)[0, 0].numpy()
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    sf.write(str(a), x, 24_000, subtype="FLOAT")
    sf.write(str(b), np.concatenate([np.zeros(2 * 1920, np.float32), x]), 24_000, subtype="FLOAT")
    open_and_code(qtbot, window, a)
    window.compare_tokens_dialog(str(a))  # against itself
    qtbot.waitUntil(lambda: window.tokens.result is not None, timeout=60_000)
    view = window.tokens_tab.compare_view
    assert window.tokens.result.alignment.offset_frames == 0
    assert all(view.agreement_text(q) == "100.0 %" for q in range(32))
    window.compare_tokens_dialog(str(b))  # delayed by two frames of silence
    qtbot.waitUntil(lambda: window.tokens.result.name == "b.wav", timeout=60_000)
    al = window.tokens.result.alignment
    assert (al.method, al.offset_frames) == ("offset", 2)
    assert "offset of 2 frames" in view.summary.text()
    assert view.img.image.shape[0] == 3 * 32  # A and B rows per codebook, and a gap


def test_the_codebook_map_follows_the_clip(qtbot, window, tmp_path):
    src = tmp_path / "map.wav"
    write_tone(src, seconds=2.0, sr=24_000, channels=1)
    open_and_code(qtbot, window, src)
    wait_tokens(qtbot, window)
    m, codes = window.tokens_tab.map, window.compare.comparison.codes[0]
    qtbot.waitUntil(lambda: m.codes is not None, timeout=10_000)
    xs, _ = m.points.getData()
    assert len(xs) == window.models.info.codebook_size
    sizes = m.points.data["size"]
    used = np.bincount(codes[0], minlength=len(xs))
    assert sizes[np.argmax(used)] == sizes.max() and sizes[used == 0].max() < sizes.min() + 1e-6
    m.show_frame(7)  # the entry under the playhead is lit
    nx, ny = m.now.getData()
    assert (nx[0], ny[0]) == tuple(window.compare.geometry.maps[0][codes[0, 7]])
    m.box.setCurrentIndex(5)
    assert m.codebook == 5 and "Codebook 5" in m.title.text()


def test_the_demo_codec_says_what_its_codebook_0_is(qtbot, tmp_path):
    from tests.helpers.window import make_window

    w = make_window(qtbot, tmp_path, model_source="demo")
    try:
        src = tmp_path / "d.wav"
        write_tone(src, seconds=1.0, sr=24_000, channels=1)
        open_and_code(qtbot, w, src)
        note = w.compare_view.semantic_label.text()
        distilled = w.models.info.distilled
        if distilled:
            assert distilled in note and "WavLM" not in distilled.split("(")[0]
        else:
            assert "not distilled from a speech model" in note
        assert note == w.tokens_tab.note.text()
    finally:
        w.close()


@pytest.mark.window(model_source="random:mimi")
def test_token_views_render_with_the_full_size_codebooks(qtbot, window, tmp_path):
    src = tmp_path / "f.wav"
    write_tone(src, seconds=1.5, sr=24_000, channels=1)
    open_and_code(qtbot, window, src)
    wait_tokens(qtbot, window)
    assert len(window.compare.geometry.colours[0]) == 2048
    assert window.tokens_tab.map.points.getData()[0].shape == (2048,)
    for view in (window.heatmap, window.compare_view.contributions):
        pix = view.grab().toImage()
        colours = {
            pix.pixel(x, y) for x in range(0, pix.width(), 9) for y in range(0, pix.height(), 9)
        }
        assert len(colours) > 20, f"{type(view).__name__} looks blank"


@pytest.mark.slow
@pytest.mark.window(model_source="demo", policy=LongFilePolicy(long_s=30.0))
def test_token_views_of_a_long_file_keep_the_window_free(qtbot, window, tmp_path):
    """A 10-minute file (long under this policy): the token data comes from the worker, and
    drawing it keeps the GUI thread's gaps short."""
    t = np.arange(600 * 24_000) / 24_000
    x = (0.3 * np.sin(2 * np.pi * (200 + 60 * np.sin(0.5 * t)) * t)).astype(np.float32)
    src = tmp_path / "long.wav"
    sf.write(str(src), x, 24_000, subtype="FLOAT")
    timer = GapTimer()
    open_and_code(qtbot, window, src, timeout_ms=300_000)
    timer.start()
    wait_tokens(qtbot, window, timeout_ms=300_000)
    window.tabs.setCurrentWidget(window.tokens_tab)
    qtbot.wait(300)
    timer.stop()
    assert window.compare_view.contributions.img.image.shape[1] <= 4096  # 7500 frames drawn
    assert window.compare.tokens.contrib[0].norms.shape == (32, 7500)
    print(f"GUI gaps while the token views filled: max {1000 * max(timer.gaps):.0f} ms")
    assert max(timer.gaps) < 1.0
