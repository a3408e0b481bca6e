"""Frame-level phoneme labels from espeak-ng's own phoneme events: the same phonemes, in
the same order, as espeak-ng's transcription; the same audio as the command line; labels
on the frames and in the training batches."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from codec.training.phonemes import SILENCE, Inventory, frame_labels, sample_labels
from tests.helpers.requirements import need_program

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."
GERMAN = "Im Herbst fallen die bunten Blätter von den Bäumen."


@pytest.fixture(autouse=True)
def _espeak():
    need_program("espeak-ng", "the labels come from it")


def transcription(text: str, voice: str, ipa: bool) -> list[str]:
    """espeak-ng's own transcription (`-q -x`, or `-q --ipa`), one phoneme per `_`-separated
    item, stress marks left out."""
    flag = "--ipa" if ipa else "-x"
    out = subprocess.run(
        ["espeak-ng", "-q", flag, "--sep=_", "-v", voice, text],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    strip = str.maketrans("", "", "ˈˌ',")
    return [p.translate(strip) for word in out.split() for p in word.split("_") if p]


@pytest.mark.parametrize("voice, text", [("en-us", SENTENCE), ("de", GERMAN)])
def test_phoneme_events_are_espeaks_ipa_transcription_in_order(voice, text):
    from codec.training.phonemes import synthesise

    names = synthesise(text, voice, 160, 50).names()
    assert names == transcription(text, voice, ipa=True)
    assert len(names) > 30
    if voice == "en-us":
        assert names[:5] == ["ð", "ə", "k", "w", "ɪ"]  # ðə kwˈɪk ...


def test_mnemonic_events_are_espeaks_x_transcription_in_order():
    from codec.training.phonemes import synthesise

    spoken = synthesise(SENTENCE, "en-us", 160, 50, ipa=False)
    names = spoken.names()
    assert names == transcription(SENTENCE, "en-us", ipa=False)
    assert names[:4] == ["D", "@2", "k", "w"]  # -x: D@2 kw'Ik br'aUn ...


def _synthesise_fresh(text: str, voice: str, rate: int, pitch: int):
    """synthesise() in a fresh interpreter. In the full suite, after other tests had used
    libespeak-ng in this process, its audio differed from the command line's (not seen in
    a fresh process, nor with these tests alone; cause not found yet)."""
    import pickle
    import sys

    code = (
        "import pickle, sys; from codec.training.phonemes import synthesise; "
        "sys.stdout.buffer.write(pickle.dumps(synthesise(*sys.argv[1:3], "
        "int(sys.argv[3]), int(sys.argv[4]))))"
    )
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(
        [sys.executable, "-c", code, text, voice, str(rate), str(pitch)],
        capture_output=True,
        check=True,
        timeout=120,
        cwd=root,
    ).stdout
    return pickle.loads(out)


def test_audio_is_the_command_lines_and_phonemes_start_where_sound_does():
    """Sample-identical to `espeak-ng --stdout` (so the corpus is what it always was), and
    the events' sample positions are the audio's: silence before the first phoneme and
    after the final pause, sound right after the first phoneme starts."""
    from codec.training.phonemes import synthesise

    for voice, rate, pitch in (("en-us+m3", 140, 60), ("de+klatt3", 200, 30), ("fr+f2", 110, 80)):
        spoken = _synthesise_fresh(SENTENCE, voice, rate, pitch)
        wav = subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "--stdout", SENTENCE],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
        ref, sr = sf.read(io.BytesIO(wav), dtype="int16")
        assert sr == spoken.rate == 22_050
        np.testing.assert_array_equal(spoken.audio, ref)
        # the French voice reads English words: its language switches are not phonemes
        assert not [n for n in spoken.names() if n.startswith("(")]
    spoken = synthesise(SENTENCE, "en-us+m3", 140, 60)
    starts = [s for s, _ in spoken.phones]
    assert starts == sorted(starts) and 0 < starts[0] < starts[-1] <= len(spoken.audio)
    first, last_pause = spoken.phones[0][0], spoken.phones[-2][0]
    assert spoken.phones[-2][1] == spoken.phones[-1][1] == SILENCE  # "_:" then "_" (the end)
    a = spoken.audio.astype(np.float64)
    assert np.abs(a[:first]).max() == 0 and np.abs(a[last_pause:]).max() == 0
    assert np.sqrt(np.mean(a[first : first + 441] ** 2)) > 100  # within 20 ms of the start


def test_labels_at_24k_follow_the_events():
    from codec.training.data import speak

    x, starts, names = speak(SENTENCE, "en-us", 160, 50)
    inv = Inventory.of(names)
    lab = sample_labels(len(x), starts, inv.ids(names))
    assert lab.shape == x.shape and lab[: starts[0]].max() == 0
    frames = frame_labels(lab)
    assert len(frames) == -(-len(x) // 1920)
    # every frame's label is one of the phonemes spoken in it, in order of the sentence
    heard = [inv.names[i] for i in frames if i != 0]
    spoken = [n for k, n in enumerate(heard) if k == 0 or heard[k - 1] != n]  # runs: one
    order = [n for n in names if n != SILENCE]
    it = iter(order)
    assert all(any(n == m for m in it) for n in spoken)  # a subsequence of the phonemes
    assert len(set(spoken)) >= len(set(order)) // 2


def test_frame_labels_known_answers():
    lab = np.zeros(1920 * 3 + 100, np.uint8)
    lab[:1000] = 2  # frame 0: 1000 of class 2 against 920 of class 0
    lab[1920 + 500 : 1920 + 1460] = 3  # frame 1: 960 each of 0 and 3: the tie goes to 0
    lab[2 * 1920 :] = 5  # frame 2 and the short last frame: class 5
    np.testing.assert_array_equal(frame_labels(lab), [2, 0, 5, 5])
    batch = np.stack([lab, np.full_like(lab, 4)])
    np.testing.assert_array_equal(frame_labels(batch), [[2, 0, 5, 5], [4, 4, 4, 4]])


def test_inventory_has_silence_first_and_other_last():
    inv = Inventory.of(["t", "a", SILENCE, "a"])
    assert inv.names == (SILENCE, "a", "t", "?")
    np.testing.assert_array_equal(inv.ids(["a", SILENCE, "x", "t"]), [1, 0, 3, 2])


def test_labelled_corpus_and_batches(tmp_path):
    """The corpus's labels cover its audio (pauses silent), reload from the cache as they
    were, and a batch's labels come with the same audio as the unlabelled batch; music
    crops are MUSIC."""
    from codec.training.data import MUSIC, Batches, build_labelled_corpus

    c = build_labelled_corpus(tmp_path, n=3, seed=5)
    assert c.labels.shape == c.audio.shape and len(c.utterances) == 3
    for u, v in zip(c.utterances, c.utterances[1:], strict=False):
        gap = c.labels[u["start"] + u["length"] : v["start"]]
        assert (gap == 0).all()
    assert {c.inventory.names[i] for i in np.unique(c.labels)} - {SILENCE}
    again = build_labelled_corpus(tmp_path, n=3, seed=5)
    np.testing.assert_array_equal(again.labels, c.labels)
    np.testing.assert_array_equal(again.audio, c.audio)
    assert again.inventory == c.inventory
    b = Batches(c.audio, 1920 * 5, 8, seed=3, labels=c.labels, music_share=0.5)
    x, y = b.make_labelled(11)
    np.testing.assert_array_equal(x, b.make(11))
    assert y.shape == (8, 5) and y.dtype == np.int64
    music = (y == MUSIC).all(1)
    assert music.any() and (~music).any() and (y[~music] >= 0).all()
