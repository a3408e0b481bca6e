"""A bad weights file picked in the app (issue 6): the precise error is shown and the model
already loaded stays in use (status bar, title, and coding all still use it)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from .app_window import make_window, open_and_code
from .helpers import write_tone

pytest.importorskip("pytestqt")


def not_safetensors(tiny, path):
    path.write_text("these are not weights\n" * 10)


def wrong_names(tiny, path):
    sd = {k.replace("layers", "layerz"): v.contiguous() for k, v in tiny.model.state_dict().items()}
    save_file(sd, str(path), metadata={"codec_config": json.dumps(tiny.config.to_dict())})


def wrong_shape(tiny, path):
    sd = {k: v.contiguous() for k, v in tiny.model.state_dict().items()}
    name = next(k for k in sd if k.endswith("embedding_sum"))
    sd[name] = torch.zeros(3, 5)
    save_file(sd, str(path), metadata={"codec_config": json.dumps(tiny.config.to_dict())})


def truncated(tiny, path):
    from codec import save_codec

    full = save_codec(tiny, path).read_bytes()
    path.write_bytes(full[: len(full) // 2])


# what each damage must be called, in words a user can act on
CASES = {
    "not-safetensors": (not_safetensors, "not a safetensors"),
    "wrong-names": (wrong_names, "missing: "),
    "wrong-shape": (wrong_shape, "misshapen: "),
    "truncated": (truncated, "truncated"),
}


@pytest.fixture()
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    w = make_window(qtbot, tmp_path)
    yield w
    w.close()


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_weights_keep_the_loaded_model(qtbot, win, tmp_path, tiny, case):
    from codec import WeightsError, load_codec
    from codec.pipeline import encode_signal

    make, words = CASES[case]
    src = tmp_path / "before.wav"
    write_tone(src, seconds=0.5, sr=24_000, channels=1)
    open_and_code(qtbot, win, src)
    old_codec, old_info = win.worker.codec, dict(win.model_info)
    old_codes = win.session.codes.copy()
    bad = tmp_path / f"{case}.safetensors"
    make(tiny, bad)
    with pytest.raises(WeightsError) as e:  # the library's own words for this file
        load_codec(bad, "cpu")
    assert words in str(e.value)

    failed = []
    win.worker.modelFailed.connect(failed.append)
    win.load_model(str(bad), "cpu")
    qtbot.waitUntil(lambda: bool(failed) and not win.progress.isVisible(), timeout=60_000)
    # the precise error is shown, whole
    assert win.banner.isVisible() and str(e.value) in win.banner.text()
    assert words in win.banner.text()
    # the old model is still the one in use, and the window says so
    assert win.worker.codec is old_codec and win.model_info == old_info
    assert old_info["description"] in win.model_label.text()
    assert "loading" not in win.model_label.text()
    assert old_info["description"] in win.windowTitle()
    assert np.array_equal(win.session.codes, old_codes)  # the open file was not dropped
    # and coding still works with it: another K, and a new file
    win.slider.setValue(3)
    qtbot.waitUntil(lambda: win.views_ready() and win.k == 3, timeout=60_000)
    src2 = tmp_path / "after.wav"
    x = write_tone(src2, seconds=0.4, sr=24_000, channels=1)
    open_and_code(qtbot, win, src2)
    assert np.array_equal(win.session.codes, encode_signal(tiny, x).numpy())
    assert "after.wav" in win.windowTitle() and old_info["description"] in win.windowTitle()
    # the failed file was not remembered as the model to load next time
    assert win.settings.value("model") != str(bad)
