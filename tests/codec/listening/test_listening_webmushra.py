"""webMUSHRA: the exported folder is what webMUSHRA serves; its results CSV reads back to
the same statistics as ours."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import welch

from codec.listening import conditions as cn
from codec.listening import stimuli, webmushra
from codec.listening.results import MUSHRA_COLUMNS, csv_text, read_results
from codec.listening.stats import mushra_stats
from codec.session import operations as ops
from codec.session.comparison import Comparison
from tests.helpers.cli import run_cli
from tests.helpers.requirements import need_module
from tests.helpers.signals import speechlike

SR = 24_000
NAMES = cn.mushra_conditions([1, 4, 32])


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny):
    items = []
    for i, (seconds, channels) in enumerate(((2.0, 1), (1.5, 2))):
        x = speechlike(seconds, SR, seed=i, batch=channels)[:, 0].numpy()
        c = Comparison(f"clip{i}.wav", x, SR)
        ops.encode(tiny, c)
        items.append(stimuli.build(tiny, c, f"clip{i}_0-{seconds}s", 0, seconds, NAMES))
    out = tmp_path_factory.mktemp("web")
    path = webmushra.export(items, out, "mimi test")
    return out, path, items


def test_export_is_a_webmushra_config(exported):
    yaml = need_module("yaml")
    out, path, items = exported
    assert path == out / "configs" / "mimi_test.yaml"
    cfg = yaml.safe_load(path.read_text())
    for key in ("testname", "testId", "bufferSize", "stopOnErrors", "remoteService", "pages"):
        assert key in cfg
    assert cfg["testId"] == "mimi_test" and cfg["bufferSize"] in (256, 512, 1024, 2048, 4096)
    assert cfg["showButtonPreviousPage"] is False
    first, group, finish = cfg["pages"]
    assert first["type"] == "generic"
    assert group[0] == "random" and len(group) == 3  # the items in random order
    assert finish["type"] == "finish" and finish["writeResults"] is True
    assert finish["questionnaire"][0]["name"] == "assessor"
    for page, st in zip(group[1:], items, strict=True):
        assert page["type"] == "mushra" and page["id"] == webmushra.safe_name(st.item)
        assert page["enableLooping"] is True and page["showConditionNames"] is False
        assert page["createAnchor35"] is False and page["createAnchor70"] is False
        assert set(page["stimuli"]) == set(NAMES) - {"reference"}  # webMUSHRA adds it
        assert len(page["stimuli"]) <= 12
        files = [page["reference"], *page["stimuli"].values()]
        infos = [sf.info(str(out / f)) for f in files]  # paths relative to webMUSHRA's root
        assert {(i.samplerate, i.frames, i.channels) for i in infos} == {
            (webmushra.RATE, round(st.num_samples * webmushra.RATE / SR), st.channels)
        }
        assert {i.subtype for i in infos} == {"PCM_24"}
    assert (out / "mimi_test-README.txt").read_text().count("?config=mimi_test.yaml") == 1


def test_exported_anchors_keep_their_stop_band(exported):
    out, _, items = exported
    base = out / "configs" / "resources" / "audio" / "mimi_test"
    item = webmushra.safe_name(items[0].item)
    ref, rate = sf.read(str(base / f"{item}_reference.wav"))
    for name, cutoff in (("anchor35", 3500), ("anchor70", 7000)):
        y, _ = sf.read(str(base / f"{item}_{name}.wav"))
        f, pr = welch(ref, rate, nperseg=4096)
        _, pa = welch(y, rate, nperseg=4096)
        band = (f >= cutoff) & (f < 11_500)  # above the cut-off, within the codec's band
        assert 10 * math.log10(pa[band].sum() / pr[band].sum()) <= -40


def _webmushra_csv(path: Path, cfg: dict, scores) -> None:
    """What webMUSHRA's service/write.php writes: one row per rating."""
    pages = cfg["pages"][1][1:]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "session_test_id",
                "assessor",
                "session_uuid",
                "trial_id",
                "rating_stimulus",
                "rating_score",
                "rating_time",
                "rating_comment",
            ]
        )
        for who in ("ann", "bob", "cy"):
            for page in pages:
                for cond in ["reference", *page["stimuli"]]:
                    w.writerow(
                        [
                            cfg["testId"],
                            who,
                            f"uuid-{who}",
                            page["id"],
                            cond,
                            scores(who, page["id"], cond),
                            12345,
                            "",
                        ]
                    )


def _score(who: str, item: str, cond: str) -> int:
    base = {"reference": 100, "anchor70": 40, "anchor35": 15, "K1": 30, "K4": 55, "K32": 85}
    bump = {"ann": 0, "bob": -5, "cy": 3}[who] + len(item) % 3
    s = base[cond] + bump if cond != "reference" else (80 if who == "cy" else 100)
    return int(np.clip(s, 0, 100))


def test_results_round_trip(exported, tmp_path):
    yaml = need_module("yaml")
    _, path, items = exported
    cfg = yaml.safe_load(path.read_text())
    web = tmp_path / "mushra.csv"
    _webmushra_csv(web, cfg, _score)
    ratings, answers = read_results([web])
    assert answers == [] and len(ratings) == 3 * 2 * len(NAMES)
    assert {r.assessor for r in ratings} == {"ann", "bob", "cy"}
    assert {r.item for r in ratings} == {webmushra.safe_name(st.item) for st in items}
    # the same ratings in our own CSV give the same statistics
    ours = tmp_path / "ours.csv"
    rows = [
        {
            "assessor": r.assessor,
            "session": r.session,
            "item": r.item,
            "condition": r.condition,
            "score": r.score,
        }
        for r in ratings
    ]
    ours.write_text(csv_text(rows, MUSHRA_COLUMNS))
    web_stats = mushra_stats(ratings)
    assert web_stats == mushra_stats(read_results([ours])[0])
    assert [e["assessor"] for e in web_stats["excluded"]] == ["cy"]  # reference at 80
    # and listening-stats reads webMUSHRA's file as it is
    r = run_cli("listening-stats", str(web), "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)["mushra"]
    assert got["conditions"]["K32"]["mean"] == pytest.approx(web_stats["conditions"]["K32"]["mean"])
    assert got["excluded"][0]["assessor"] == "cy"


def test_results_without_names_split_sessions(tmp_path):
    web = tmp_path / "old.csv"
    with open(web, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "session_test_id",
                "trial_id",
                "rating_stimulus",
                "rating_score",
                "rating_time",
                "rating_comment",
            ]
        )
        for _ in range(2):  # two listeners, one after the other, no uuid, no name
            for cond, s in (("reference", 100), ("C1", 50)):
                w.writerow(["t", "trial1", cond, s, 1, ""])
    ratings, _ = read_results([web])
    assert len({r.assessor for r in ratings}) == 2


def test_yaml_writer_round_trips():
    yaml = need_module("yaml")
    data = {
        "a": "text: with colon, 'quotes' and \"double\"",
        "on": True,
        "n": 3,
        "x": 0.5,
        "empty": [],
        "list": ["random", {"k": "v", "nested": [1, {"deep": "é"}]}, ["x", "y"]],
        "map": {"acoustic@K8": "p/q.wav", "C1": "r.wav"},
    }
    assert yaml.safe_load(webmushra.to_yaml(data)) == data


def test_export_refuses_a_missing_folder(exported, tmp_path):
    _, _, items = exported
    with pytest.raises(ValueError, match="not an existing folder"):
        webmushra.export(items, tmp_path / "nope", "t")
