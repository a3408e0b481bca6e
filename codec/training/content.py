"""What the codebooks say about the words: a phoneme probe and cross-voice agreement.

Both run on espeak-ng speech with its own phoneme labels (phonemes.py), at 160 words per
minute and pitch 50, as the held-out quality table does:

* the **phoneme probe**: for one codebook, a lookup from token id to the phoneme most often
  seen with it, fit on training sentences in training voices and scored on held-out
  sentences in held-out voices: the share of held-out frames whose phoneme the token alone
  predicts, over all frames and over speech frames (silence left out); chance is the
  training set's most frequent class scored the same way;
* **cross-voice agreement**: the same held-out sentence in two held-out voices, aligned as
  the `tokens` command aligns two clips (`codec.analysis.tokens.compare_clips`: DTW or a
  whole-frame offset on the unquantized latents), and the share of aligned frames where
  each codebook has the same token; against the same for two different held-out
  sentences in one voice (where equal tokens mean nothing shared but the voice).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .data import (
    HELD_OUT_EXTRA_SENTENCES,
    HELD_OUT_SENTENCES,
    HELD_OUT_VARIANTS,
    SENTENCES,
    SR,
    TRAIN_VARIANTS,
    speak,
)
from .phonemes import SILENCE, Inventory, frame_labels, sample_labels

RATE, PITCH = 160, 50
PROBE_VARIANTS = TRAIN_VARIANTS[::2]  # 8 of the 16 training voices fit the lookup
PROBE_CODEBOOKS = (0, 1, 8)


@dataclass(frozen=True, eq=False)
class Utterance:
    """One rendered sentence: audio float32 [T] at 24 kHz, per-sample phoneme names'
    starts [P] and names, and the language, voice and sentence it is."""

    lang: str
    voice: str
    sentence: int
    audio: np.ndarray
    starts: np.ndarray
    names: tuple[str, ...]

    def frame_ids(self, inventory: Inventory, frame: int = 1920) -> np.ndarray:
        """Per-frame phoneme classes int64 [ceil(T / frame)] (majority of the samples)."""
        ids = inventory.ids(list(self.names))
        return frame_labels(sample_labels(len(self.audio), self.starts, ids), frame)


def render(sentences: dict[str, list[str]], variants: list[str]) -> list[Utterance]:
    """Every sentence of every language in every voice variant, at RATE and PITCH."""
    out = []
    for lang, texts in sentences.items():
        for k, text in enumerate(texts):
            for v in variants:
                x, starts, names = speak(text, lang + v, RATE, PITCH)
                out.append(Utterance(lang, lang + v, k, x, starts, tuple(names)))
    return out


def held_out_sentences() -> dict[str, list[str]]:
    """The held-out sentences of the content measures: the quality table's and the extra."""
    out = {lang: list(texts) for lang, texts in HELD_OUT_SENTENCES.items()}
    for lang, texts in HELD_OUT_EXTRA_SENTENCES.items():
        out.setdefault(lang, []).extend(texts)
    return out


# ---- the phoneme probe ---------------------------------------------------------------------


def fit_lookup(tokens: np.ndarray, labels: np.ndarray, size: int, n_classes: int) -> np.ndarray:
    """token id -> the class seen most often with it: int64 [size]. tokens, labels [N].

    A token never seen in the fit predicts the fit's most frequent class."""
    counts = np.zeros((size, n_classes), np.int64)
    np.add.at(counts, (np.asarray(tokens), np.asarray(labels)), 1)
    table = counts.argmax(1)
    table[counts.sum(1) == 0] = np.bincount(labels, minlength=n_classes).argmax()
    return table


def probe_scores(
    fit: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    size: int,
    n_classes: int,
    silence: int = 0,
) -> dict[str, float]:
    """Accuracy of the token lookup fit on (tokens [N], labels [N]) and scored on test
    (tokens [M], labels [M]): over all test frames ("all") and over the frames whose
    label is not `silence` ("speech")."""
    table = fit_lookup(*fit, size, n_classes)
    tokens, labels = test
    hit = table[tokens] == labels
    speech = labels != silence
    return {"all": float(hit.mean()), "speech": float(hit[speech].mean())}


def chance_scores(
    fit_labels: np.ndarray, test_labels: np.ndarray, silence: int = 0
) -> dict[str, float]:
    """The same accuracies for always guessing the fit's most frequent class (over all
    frames; over speech frames, its most frequent speech class)."""
    top = np.bincount(fit_labels).argmax()
    sp = fit_labels[fit_labels != silence]
    top_speech = np.bincount(sp).argmax() if len(sp) else silence
    speech = test_labels != silence
    return {
        "all": float(np.mean(test_labels == top)),
        "speech": float(np.mean(test_labels[speech] == top_speech)),
    }


# ---- cross-voice agreement -----------------------------------------------------------------


def pair_groups(clips: list[Utterance]) -> dict[str, dict[str, list[tuple[int, int]]]]:
    """Per language: "same_sentence" pairs (one sentence, two voices) and
    "different_sentences" pairs (two sentences, one voice), as indices into clips."""
    out: dict[str, dict[str, list[tuple[int, int]]]] = {}
    for lang in dict.fromkeys(c.lang for c in clips):
        idx = [i for i, c in enumerate(clips) if c.lang == lang]
        same = [
            (i, j)
            for i, j in itertools.combinations(idx, 2)
            if clips[i].sentence == clips[j].sentence and clips[i].voice != clips[j].voice
        ]
        diff = [
            (i, j)
            for i, j in itertools.combinations(idx, 2)
            if clips[i].voice == clips[j].voice and clips[i].sentence != clips[j].sentence
        ]
        if same and diff:
            out[lang] = {"same_sentence": same, "different_sentences": diff}
    return out


def mean_agreement(rows: list[list[dict]]) -> list[float]:
    """Per codebook, the mean over clip pairs of compare_clips' "agreement" [n_q]."""
    return [float(np.mean([r[q]["agreement"] for r in rows])) for q in range(len(rows[0]))]


def summarise_agreement(per_codebook: list[float]) -> dict[str, float]:
    """Codebook 0, 1 and 8, and the mean of the acoustic codebooks 1..n-1."""
    return {
        "cb0": per_codebook[0],
        "cb1": per_codebook[1],
        "cb8": per_codebook[8] if len(per_codebook) > 8 else float("nan"),
        "acoustic_mean": float(np.mean(per_codebook[1:])),
    }


# ---- both, for a codec ---------------------------------------------------------------------


def evaluate_content(codec, inventory: Inventory | None = None) -> dict:
    """The probe table and the agreement figures of a codec (MimiCodec) on rendered
    espeak-ng speech. The inventory defaults to the phonemes of the fit's utterances."""
    from ..analysis.tokens import CodebookGeometry, analyse_clip, compare_clips

    fit_clips = render(SENTENCES, PROBE_VARIANTS)
    test_clips = render(held_out_sentences(), HELD_OUT_VARIANTS)
    inv = inventory or Inventory.of(n for c in fit_clips for n in c.names)
    tokens = {}
    for name, clips in (("fit", fit_clips), ("test", test_clips)):
        tokens[name] = [analyse_clip(codec, c.audio) for c in clips]
    labels = {
        "fit": [c.frame_ids(inv, codec.frame_size) for c in fit_clips],
        "test": [c.frame_ids(inv, codec.frame_size) for c in test_clips],
    }

    def stacked(name: str, q: int) -> tuple[np.ndarray, np.ndarray]:
        toks = np.concatenate([t.codes[q] for t in tokens[name]])
        return toks, np.concatenate(
            [lab[: len(t.codes[q])] for t, lab in zip(tokens[name], labels[name], strict=True)]
        )

    probe = {}
    for q in PROBE_CODEBOOKS:
        if q < codec.num_codebooks:
            probe[f"cb{q}"] = probe_scores(
                stacked("fit", q), stacked("test", q), codec.codebook_size, len(inv)
            )
    probe["chance"] = chance_scores(stacked("fit", 0)[1], stacked("test", 0)[1])
    geometry = CodebookGeometry.of(codec.model)
    agreement = {}
    for lang, groups in pair_groups(test_clips).items():
        agreement[lang] = {}
        for kind, pairs in groups.items():
            rows = [
                compare_clips(tokens["test"][i], tokens["test"][j], geometry)[1] for i, j in pairs
            ]
            agreement[lang][kind] = {
                "pairs": len(pairs),
                **summarise_agreement(mean_agreement(rows)),
            }
    return {
        "rate_wpm": RATE,
        "pitch": PITCH,
        "inventory_size": len(inv),
        "probe_fit": f"{len(SENTENCES)} languages' training sentences x {len(PROBE_VARIANTS)} "
        f"training voices ({len(fit_clips)} utterances)",
        "probe_test": f"held-out sentences x {len(HELD_OUT_VARIANTS)} held-out voices "
        f"({len(test_clips)} utterances)",
        "probe": probe,
        "agreement": agreement,
        "silence": SILENCE,
        "sample_rate": SR,
    }
