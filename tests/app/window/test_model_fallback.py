"""A bad weights file picked in the app (issue 6): the precise error is shown and the model
already loaded stays in use (status bar, title, and coding all still use it)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from tests.helpers.signals import write_tone
from tests.helpers.window import open_and_code


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


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_weights_keep_the_loaded_model(qtbot, window, tmp_path, tiny, case):
    from codec import WeightsError, load_codec
    from codec.session.operations import encode_signal

    make, words = CASES[case]
    src = tmp_path / "before.wav"
    write_tone(src, seconds=0.5, sr=24_000, channels=1)
    open_and_code(qtbot, window, src)
    old_codec, old_info = window.worker.codec, window.models.info
    old_codes = window.compare.comparison.codes.copy()
    bad = tmp_path / f"{case}.safetensors"
    make(tiny, bad)
    with pytest.raises(WeightsError) as e:  # the library's own words for this file
        load_codec(bad, "cpu")
    assert words in str(e.value)

    from app.worker import jobs

    failed = []
    window.worker.result.connect(lambda r: isinstance(r, jobs.ModelFailed) and failed.append(r))
    window.models.load(str(bad), "cpu")
    qtbot.waitUntil(lambda: bool(failed) and not window.progress.isVisible(), timeout=60_000)
    # the precise error is shown, whole
    assert window.messages.isVisible() and str(e.value) in window.messages.text("model")
    assert words in window.messages.text("model")
    # the old model is still the one in use, and the window says so
    assert window.worker.codec is old_codec and window.models.info == old_info
    assert old_info.description in window.model_label.text()
    assert "loading" not in window.model_label.text()
    assert old_info.description in window.windowTitle()
    assert np.array_equal(
        window.compare.comparison.codes, old_codes
    )  # the open file was not dropped
    # and coding still works with it: another K, and a new file
    window.slider.setValue(3)
    qtbot.waitUntil(lambda: window.compare.views_ready() and window.compare.k == 3, timeout=60_000)
    src2 = tmp_path / "after.wav"
    x = write_tone(src2, seconds=0.4, sr=24_000, channels=1)
    open_and_code(qtbot, window, src2)
    assert np.array_equal(window.compare.comparison.codes, encode_signal(tiny, x).numpy())
    assert "after.wav" in window.windowTitle() and old_info.description in window.windowTitle()
    # the failed file was not remembered as the model to load next time
    assert window.settings.value("model") != str(bad)
