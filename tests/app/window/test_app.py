"""The desktop app with pytest-qt (offscreen) and a fake audio device."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

from tests.helpers.fake_audio import FakeBackend
from tests.helpers.signals import write_tone
from tests.helpers.window import live_frames, open_and_code, wait_live_streams

pytestmark = pytest.mark.window(model_source="random:mimi", size=(1280, 860))


def test_open_file_encodes_and_shows_views(qtbot, window, tmp_path):
    src = tmp_path / "two.wav"
    x = write_tone(src, seconds=2.0, sr=44_100, channels=2)
    open_and_code(qtbot, window, src)
    s = window.compare.comparison
    frames = -(-round(x.shape[1] * 24_000 / 44_100) // 1920)
    assert s.codes.shape == (2, 32, frames)
    assert window.heatmap.codes.shape == (32, frames)  # 32 x F cells for the shown channel
    # coloured by meaning (RGB per cell) once the codebook geometry is there
    qtbot.waitUntil(lambda: window.heatmap.sem_img.image.ndim == 3, timeout=30_000)
    assert window.heatmap.sem_img.image.shape[:2] == (1, frames)
    assert window.heatmap.ac_img.image.shape[:2] == (31, frames)
    assert window.waveform.lane_count() == 2
    assert "two.wav" in window.windowTitle() and "random mimi" in window.windowTitle()
    text = window.heatmap.describe(0.5, 3.2, 1)
    assert text.startswith("codebook 3 (acoustic) · t = 0.48 s (frame 6)")
    assert f"token {int(s.codes[0, 3, 6])}" in text


def test_slider_bitrate_prefix_decode_and_cache(qtbot, window, tmp_path):
    src = tmp_path / "one.wav"
    write_tone(src, seconds=1.5, sr=24_000, channels=1)
    open_and_code(qtbot, window, src)
    assert "1.10 kbps" in window.k_label.text() and "Moshi" in window.k_label.text()
    window.slider.setValue(32)
    assert "4.40 kbps" in window.k_label.text()
    qtbot.waitUntil(
        lambda: window.compare.comparison.reconstruction(32) is not None, timeout=60_000
    )
    import torch

    codec = window.worker.codec  # the worker's model, used here only to compute the expectation
    expect = codec.decode(torch.from_numpy(window.compare.comparison.codes[:, :32]))[:, 0].numpy()
    got = window.compare.comparison.reconstruction(32)
    # the worker may have decoded it in other chunk sizes (the quick path's pieces): float
    # rounding only
    assert np.allclose(got, expect[:, : got.shape[1]], atol=1e-4, rtol=0)
    # back to 8: served from the cache, no new decode request reaches the worker
    calls = []
    real_submit = window.worker.submit
    window.worker.submit = lambda req: (calls.append(req), real_submit(req))
    window.slider.setValue(8)
    assert [r for r in calls if type(r).__name__ == "Decode"] == []
    assert np.array_equal(
        window.player.source(1)[:, 0], window.compare.comparison.reconstruction(8)[0]
    )


def test_ab_switch_keeps_position(qtbot, window, tmp_path):
    src = tmp_path / "ab.wav"
    write_tone(src, seconds=1.0, sr=24_000, channels=1)
    open_and_code(qtbot, window, src)
    window.toggle_play()
    out = window.backend_fake.last("output")
    out.pump(4800)
    assert window.player.position == 4800
    qtbot.keyClick(window, Qt.Key.Key_Tab)  # A -> B
    assert window.player.selected == "B"
    block = out.pump(1000)
    assert window.player.position == 5800
    recon = window.compare.comparison.reconstruction(window.compare.k)[0]
    assert np.allclose(block[:, 0], recon[4800:5800])
    window.transport.select("A")
    block = out.pump(1000)
    assert np.allclose(block[:, 0], window.compare.comparison.x24[0, 5800:6800])


def test_screenshot_is_not_blank(qtbot, window, tmp_path):
    src = tmp_path / "shot.wav"
    write_tone(src, seconds=3.0, sr=44_100, channels=2)
    open_and_code(qtbot, window, src)
    qtbot.wait(200)

    from tests.helpers.paths import ROOT

    art = ROOT / "artifacts"
    art.mkdir(exist_ok=True)
    img = window.grab()
    assert img.save(str(art / "main_window.png"))
    # each view must have real content: many distinct colours in its area
    for view in (window.waveform, window.spectro, window.heatmap):
        pix = view.grab().toImage()
        colours = {
            pix.pixel(x, y) for x in range(0, pix.width(), 7) for y in range(0, pix.height(), 7)
        }
        assert len(colours) > 20, f"{type(view).__name__} looks blank"


def test_bad_file_shows_message_and_app_keeps_working(qtbot, window, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    window.open_path(str(bad))
    qtbot.waitUntil(lambda: "file" in window.messages, timeout=20_000)
    assert "cannot read bad.wav" in window.messages.text("file")
    good = tmp_path / "good.wav"
    write_tone(good, seconds=0.5, sr=24_000, channels=1)
    open_and_code(qtbot, window, good)


def test_export_audio_codes_png(qtbot, window, tmp_path):
    src = tmp_path / "e.wav"
    write_tone(src, seconds=1.0, sr=32_000, channels=1)
    open_and_code(qtbot, window, src)
    import soundfile as sf

    with qtbot.waitSignal(window.exports.exported, timeout=10_000):
        window.exports.export_audio(str(tmp_path / "r.flac"))  # written by the worker
    info = sf.info(str(tmp_path / "r.flac"))
    assert (info.samplerate, info.frames) == (32_000, 32_000)
    window.exports.export_codes(str(tmp_path / "c.safetensors"))
    from codec.audio.codes_file import load_codes

    assert np.array_equal(
        load_codes(tmp_path / "c.safetensors").codes.numpy(), window.compare.comparison.codes
    )
    window.exports.export_png(window.compare_view.views.grab, str(tmp_path / "v.png"))
    assert (tmp_path / "v.png").stat().st_size > 1000


def test_recording_is_on_disk_before_processing(qtbot, window, tmp_path):
    from app.widgets.record_dialog import RecordDialog

    tone = write_tone(tmp_path / "mic.wav", seconds=1.0, sr=48_000, channels=2)
    window.backend_fake.source = tone.T.copy()
    dlg = RecordDialog(window.backend_fake, window, folder=tmp_path / "rec")
    (tmp_path / "rec").mkdir()
    opened = []
    dlg.recorded.connect(opened.append)
    dlg.start()
    mic = window.backend_fake.last("input")
    for _ in range(10):
        mic.pump(4800)
    qtbot.waitUntil(lambda: dlg.recorder.frames == 48_000, timeout=5000)
    import soundfile as sf

    path = dlg.recorder.path
    data, sr = sf.read(str(path), always_2d=True)  # readable while still recording
    assert sr == 48_000 and len(data) == 48_000 and opened == []
    dlg.stop()
    assert opened == [str(path)]
    data, _ = sf.read(str(path), always_2d=True)
    assert np.allclose(data.T, tone, atol=1e-6)


def test_no_audio_devices_disables_playback(qtbot, tmp_path):
    from app.launch import make_app

    make_app()
    from app.window.main_window import MainWindow

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    w = MainWindow(
        backend=FakeBackend(inputs=0, outputs=0), model_source="random:tiny", settings=settings
    )
    qtbot.addWidget(w)
    assert not w.play_btn.isEnabled() and "no audio output" in w.play_btn.toolTip()
    assert not w.record_action.isEnabled()
    w.close()


def test_live_tab_becomes_a_comparison(qtbot, window, tmp_path):
    from tests.helpers.signals import speechlike

    x = speechlike(1.0, seed=21)[0, 0].numpy()
    fake = window.backend_fake
    fake.source = x[:, None]
    window.tabs.setCurrentWidget(window.live)
    assert window.live.start()
    mic, spk = wait_live_streams(qtbot, fake)
    for i in range(6):
        mic.pump(1920)
        qtbot.waitUntil(lambda i=i: live_frames(window) >= i + 1, timeout=20_000)
        spk.pump(1920)
    qtbot.waitUntil(lambda: window.live.readouts["frames"].text() == "6", timeout=5_000)
    assert window.live.readouts["compute"].text().endswith(")")
    window.live.stop()
    qtbot.waitUntil(
        lambda: (
            window.compare.comparison is not None
            and window.compare.comparison.name.startswith("live")
        ),
        timeout=20_000,
    )
    s = window.compare.comparison
    assert s.codes.shape == (1, 32, 6)
    assert np.array_equal(s.x24[0], x[: 6 * 1920])
    qtbot.waitUntil(lambda: window.player.has_b(), timeout=20_000)
    assert window.tabs.currentIndex() == 0
    assert (tmp_path / "data" / "mimi-explorer" / "recordings").is_dir()
    saved = list((tmp_path / "data" / "mimi-explorer" / "recordings").glob("live-*-output.wav"))
    assert len(saved) == 1


def test_model_falls_back_when_the_hub_is_unreachable(qtbot, tmp_path):
    import time

    from app.launch import make_app

    make_app()
    from app.window.main_window import MainWindow

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    t0 = time.monotonic()
    w = MainWindow(backend=FakeBackend(), model_source=None, settings=settings)  # hub default
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.models.info is not None, timeout=60_000)
    assert "Hugging Face hub" in w.messages.text("model") and "instead" in w.messages.text("model")
    assert w.models.info.description in w.windowTitle()
    assert w.models.info.description in w.model_label.text()
    # the hub attempt itself gave up at once (HF_HUB_OFFLINE=1); the rest is model building
    assert time.monotonic() - t0 < 30
    w.close()


@pytest.mark.slow
def test_cancel_encode_then_encode_again(qtbot, window, tmp_path):
    src = tmp_path / "long.wav"
    write_tone(src, seconds=45.0, sr=24_000, channels=1)  # long enough to cancel midway
    cancelled = []
    window.worker.result.connect(lambda r: type(r).__name__ == "Cancelled" and cancelled.append(r))
    window.open_path(str(src))
    qtbot.waitUntil(
        lambda: window.progress.isVisible() and "encoding" in window.progress.format(),
        timeout=20_000,
    )
    qtbot.waitUntil(lambda: window.progress.maximum() > 1, timeout=20_000)  # chunks running
    window.cancel()
    qtbot.waitUntil(lambda: len(cancelled) == 1, timeout=20_000)
    assert window.compare.comparison.codes is None and not window.cancel_btn.isVisible()
    window.compare.encode_current()  # File ▸ Encode the current file
    qtbot.waitUntil(lambda: window.compare.comparison.codes is not None, timeout=120_000)
    qtbot.waitUntil(
        lambda: window.compare.comparison.reconstruction(window.compare.k) is not None,
        timeout=60_000,
    )
    window.slider.setValue(4)  # decoding still works for this file after the cancel
    qtbot.waitUntil(lambda: window.compare.comparison.reconstruction(4) is not None, timeout=60_000)


def test_a_fallback_is_not_remembered(qtbot, tmp_path):
    from app.launch import make_app

    make_app()
    from app.window.main_window import MainWindow

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    w = MainWindow(backend=FakeBackend(), model_source=None, settings=settings)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.models.info is not None, timeout=60_000)
    assert w.models.info.source != "kyutai/mimi"  # fell back (offline)
    assert settings.value("model") is None  # so the next start tries the hub again
    w.close()
