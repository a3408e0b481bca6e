"""The content measures on constructed codes with known answers: the phoneme probe (a
token lookup against chance) and cross-voice agreement through the `tokens` alignment."""

from __future__ import annotations

import numpy as np
import pytest

from codec.training.content import (
    Utterance,
    chance_scores,
    fit_lookup,
    mean_agreement,
    pair_groups,
    probe_scores,
    summarise_agreement,
)


def test_lookup_maps_each_token_to_its_most_frequent_class():
    tokens = np.array([0, 0, 0, 1, 1, 2])
    labels = np.array([3, 3, 1, 2, 2, 1])
    table = fit_lookup(tokens, labels, size=5, n_classes=4)
    # tokens 3 and 4 never occur: they get the fit's most frequent class (classes 1, 2
    # and 3 occur twice each: the lowest, 1)
    np.testing.assert_array_equal(table, [3, 2, 1, 1, 1])


def test_probe_known_answers():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 4000)
    test_labels = rng.integers(0, 10, 4000)
    # a token that is the phoneme: perfect
    s = probe_scores((labels, labels), (test_labels, test_labels), 16, 10)
    assert s == {"all": 1.0, "speech": 1.0}
    # two tokens per phoneme (token = 2 * phoneme + anything): still perfect
    two = 2 * labels + rng.integers(0, 2, len(labels))
    two_test = 2 * test_labels + rng.integers(0, 2, len(test_labels))
    assert probe_scores((two, labels), (two_test, test_labels), 20, 10)["all"] == 1.0
    # a token that knows nothing: about the chance of guessing the top class (1 / 10)
    noise = probe_scores(
        (rng.integers(0, 16, 4000), labels), (rng.integers(0, 16, 4000), test_labels), 16, 10
    )
    assert 0.05 < noise["all"] < 0.16
    # a token that knows the phoneme half of the time: about 0.5 + 0.5 / 10
    half = np.where(rng.random(4000) < 0.5, test_labels, rng.integers(10, 16, 4000))
    s = probe_scores((labels, labels), (half, test_labels), 16, 10)
    assert abs(s["all"] - 0.55) < 0.04
    # speech frames leave out class 0 (silence)
    frames = np.array([0, 0, 1, 2])
    s = probe_scores((frames, frames), (np.array([0, 1, 1, 3]), frames), 4, 3)
    assert s["all"] == 0.5 and s["speech"] == 0.5


def test_chance_known_answers():
    fit = np.array([0, 0, 0, 2, 2, 1])  # the top class is 0; among speech classes, 2
    test = np.array([0, 2, 2, 1, 0, 0, 0, 0])
    assert chance_scores(fit, test) == {"all": 5 / 8, "speech": 2 / 3}


def _utt(lang: str, voice: str, sentence: int) -> Utterance:
    return Utterance(lang, voice, sentence, np.zeros(1), np.zeros(0, np.int64), ())


def test_pairs_are_same_sentence_two_voices_and_two_sentences_one_voice():
    clips = [_utt("en", v, k) for k in (0, 1) for v in ("a", "b", "c")] + [_utt("de", "a", 0)]
    groups = pair_groups(clips)
    assert set(groups) == {"en"}  # German has one clip: no pairs of either kind
    assert groups["en"]["same_sentence"] == [(0, 1), (0, 2), (1, 2), (3, 4), (3, 5), (4, 5)]
    assert groups["en"]["different_sentences"] == [(0, 3), (1, 4), (2, 5)]


def test_agreement_through_the_tokens_alignment_known_answers():
    """Clip B is clip A delayed by 3 frames: the `tokens` alignment finds the offset, and
    the agreement is 1 where B's codebook repeats A's, 0 where it is shifted by one
    entry, and the share of equal frames where half of them were changed."""
    from codec.analysis.tokens import ClipTokens, CodebookGeometry, compare_clips

    rng = np.random.default_rng(1)
    n_q, size, f, d = 9, 16, 60, 8
    tables = [rng.normal(size=(size, 4)).astype(np.float32) for _ in range(n_q)]
    geometry = CodebookGeometry(
        tuple(np.zeros((size, 3), np.uint8) for _ in range(n_q)),
        tuple(np.zeros((size, 2), np.float32) for _ in range(n_q)),
        tuple(1.0 for _ in range(n_q)),
        tuple(tables),
    )
    lat_a = rng.normal(size=(d, f)).astype(np.float32)
    lat_b = np.concatenate([rng.normal(size=(d, 3)), lat_a], axis=1).astype(np.float32)
    codes_a = rng.integers(0, size, (n_q, f))
    codes_b = np.concatenate([rng.integers(0, size, (n_q, 3)), codes_a], axis=1)
    codes_b[1, 3:] = (codes_a[1] + 1) % size  # codebook 1: never the same
    changed = np.arange(f) % 2 == 0
    codes_b[8, 3:][changed] = (codes_a[8][changed] + 5) % size  # codebook 8: half the same
    a = ClipTokens(codes_a, lat_a, None)  # the comparison does not use the contributions
    b = ClipTokens(codes_b, lat_b, None)
    al, rows = compare_clips(a, b, geometry)
    assert al.method == "offset" and al.offset_frames == 3 and len(al.pairs) == f
    per = mean_agreement([rows, rows])
    assert per[0] == 1.0 and per[1] == 0.0 and per[8] == pytest.approx(0.5)
    s = summarise_agreement(per)
    assert s["cb0"] == 1.0 and s["cb1"] == 0.0 and s["cb8"] == pytest.approx(0.5)
    assert s["acoustic_mean"] == pytest.approx((6 * 1.0 + 0.0 + 0.5) / 8)
