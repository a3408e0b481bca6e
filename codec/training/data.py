"""Training and held-out material for the demo codec, generated here (no downloads).

Speech comes from espeak-ng in many languages, voices, rates and pitches; music is
synthesised (notes and chords with harmonics and envelopes, drums, noise). Augmentation
adds light noise and reverb. Everything is seeded. Held-out speech uses sentences and
voice variants that training never sees.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .phonemes import EspeakError, Inventory, frame_labels, sample_labels

SR = 24_000
MUSIC = -1  # the frame label of a music crop (not speech; the silence class for the head)

SENTENCES = {
    "en-us": [
        "The quick brown fox jumps over the lazy dog near the river bank.",
        "Please call Stella and ask her to bring these things from the store.",
        "A neural audio codec turns sound into a short sequence of tokens.",
        "We measured the speed of the new model on a small laptop computer.",
        "Rain is expected tomorrow morning, so bring an umbrella with you.",
        "Seven hundred people listened to the concert in the old cathedral.",
        "She sells sea shells by the sea shore every single summer.",
        "How many codebooks do you need before the voice sounds natural?",
    ],
    "en-gb": [
        "The train to Edinburgh leaves from platform nine at half past four.",
        "Could you possibly tell me the way to the nearest library?",
    ],
    "fr": [
        "Le petit chat dort au soleil sur le rebord de la fenêtre.",
        "Nous avons mesuré la qualité du son avec plusieurs méthodes.",
        "Il fait beau aujourd'hui, allons nous promener dans le parc.",
    ],
    "de": [
        "Der schnelle braune Fuchs springt über den faulen Hund.",
        "Morgen fahren wir mit dem Zug nach Berlin zu unseren Freunden.",
        "Die Musik im Konzertsaal war wunderschön und sehr laut.",
    ],
    "es": [
        "El rápido zorro marrón salta sobre el perro perezoso.",
        "Mañana vamos a la playa si el tiempo es bueno.",
        "La cena estaba deliciosa y todos se fueron contentos.",
    ],
    "it": [
        "Il gatto dorme tranquillo sul divano del salotto.",
        "Domani andiamo al mercato a comprare frutta e verdura.",
    ],
    "pt": [
        "O menino correu pela praia até o pôr do sol.",
        "Nós gostamos muito de ouvir música à noite.",
    ],
    "ja": [
        "きょうは とても いい てんき です ね。",
        "わたしは まいあさ コーヒーを のみます。",
        "この おんせいは きかいで つくられました。",
        "あしたの かいぎは ごご さんじから です。",
    ],
    "nl": ["De kat zit op de mat en kijkt naar de vogels buiten."],
    "pl": ["Dzisiaj jest piękny dzień na spacer po parku."],
}
HELD_OUT_SENTENCES = {
    "en-us": [
        "Every morning the old fisherman mends his nets before sunrise.",
        "Our research group published three papers about speech coding.",
    ],
    "fr": ["Les enfants jouent dans la cour pendant la récréation."],
    "de": ["Im Herbst fallen die bunten Blätter von den Bäumen."],
    "ja": ["らいしゅう ともだちと きょうとへ いきます。"],
}
# More held-out sentences, for the content measures (evaluate_content): every language
# measured there needs two, for "different sentences in one voice". The quality table keeps
# to HELD_OUT_SENTENCES, so that it stays comparable with earlier weights.
HELD_OUT_EXTRA_SENTENCES = {
    "fr": ["Mon voisin répare sa vieille voiture chaque dimanche matin."],
    "de": ["Meine Schwester trinkt jeden Abend eine Tasse heißen Tee."],
    "ja": ["おとうとは まいにち こうえんで サッカーを します。"],
}
TRAIN_VARIANTS = [
    "",
    "+m1",
    "+m2",
    "+m3",
    "+m4",
    "+m5",
    "+f1",
    "+f2",
    "+f4",
    "+klatt",
    "+klatt2",
    "+croak",
    "+Andrea",
    "+Alex",
    "+Annie",
    "+Denis",
]
HELD_OUT_VARIANTS = ["+f3", "+m6", "+klatt3"]


def speak(text: str, voice: str, rate: int, pitch: int) -> tuple[np.ndarray, np.ndarray, list]:
    """One utterance with its phonemes: (audio float32 [T] at 24 kHz, phone start samples
    int64 [P] at 24 kHz, IPA names [P]) from one espeak-ng synthesis (see phonemes.py;
    the audio equals the `espeak-ng --stdout` command's, resampled from 22.05 kHz)."""
    from .phonemes import synthesise

    return synthesise(text, voice, rate, pitch).at(SR)


def espeak(text: str, voice: str, rate: int, pitch: int) -> np.ndarray:
    """One utterance as float32 [T] at 24 kHz (espeak renders at 22.05 kHz)."""
    return speak(text, voice, rate, pitch)[0]


@dataclass(frozen=True, eq=False)
class LabelledCorpus:
    """The training speech (float32 [T] at 24 kHz), its per-sample phoneme classes (uint8
    [T], 0 = silence) in `inventory`, and one record per utterance (start sample, length,
    language, voice, rate, pitch, sentence index)."""

    audio: np.ndarray
    labels: np.ndarray
    inventory: Inventory
    utterances: list[dict]


def _draw_utterances(n: int, seed: int) -> list[dict]:
    """The corpus's utterances and pauses, drawn in the order the corpus always used, so
    the same (n, seed) gives the same speech as before labels existed."""
    rng = np.random.default_rng(seed)
    langs = list(SENTENCES)
    out = []
    for _ in range(n):
        lang = langs[rng.integers(len(langs))]
        k = int(rng.integers(len(SENTENCES[lang])))
        voice = lang + TRAIN_VARIANTS[rng.integers(len(TRAIN_VARIANTS))]
        rate, pitch = int(rng.integers(110, 230)), int(rng.integers(15, 85))
        out.append({"lang": lang, "sentence": k, "voice": voice, "rate": rate, "pitch": pitch})
        out[-1]["pause"] = int(rng.integers(0, SR // 4))
    return out


def build_labelled_corpus(folder: Path, n: int = 700, seed: int = 0) -> LabelledCorpus:
    """Concatenated training speech with its phoneme labels, cached in `folder` (the audio
    as int16 `speech_{n}_{seed}.npy`, as before; labels and records in `phones_*.npz`)."""
    cache, labels_cache = folder / f"speech_{n}_{seed}.npy", folder / f"phones_{n}_{seed}.npz"
    if cache.is_file() and labels_cache.is_file():
        z = np.load(labels_cache, allow_pickle=False)
        audio = np.load(cache).astype(np.float32) / 32767
        utts = json.loads(str(z["utterances"]))
        return LabelledCorpus(audio, z["labels"], Inventory(tuple(z["inventory"])), utts)
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is needed to build the demo training data")
    pieces, phones, utts, pos = [], [], [], 0
    for u in _draw_utterances(n, seed):
        text = SENTENCES[u["lang"]][u["sentence"]]
        try:
            x, starts, names = speak(text, u["voice"], u["rate"], u["pitch"])
        except EspeakError:  # a voice this espeak-ng lacks: the language's default voice
            u.update(voice=u["lang"], rate=160, pitch=50)
            x, starts, names = speak(text, u["lang"], 160, 50)
        pieces += [x, np.zeros(u.pop("pause"), np.float32)]
        phones.append((starts, names))
        utts.append({**u, "start": pos, "length": len(x)})
        pos += len(x) + len(pieces[-1])
    inventory = Inventory.of(name for _, names in phones for name in names)
    labels = np.zeros(pos, np.uint8)
    for (starts, names), u in zip(phones, utts, strict=True):
        seg = sample_labels(u["length"], starts, inventory.ids(names))
        labels[u["start"] : u["start"] + u["length"]] = seg
    audio = np.concatenate(pieces)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(cache, np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16))
    np.savez(
        labels_cache,
        labels=labels,
        inventory=np.array(inventory.names),
        utterances=np.array(json.dumps(utts, ensure_ascii=False)),
    )
    return LabelledCorpus(np.load(cache).astype(np.float32) / 32767, labels, inventory, utts)


def build_speech_corpus(folder: Path, n: int = 700, seed: int = 0) -> np.ndarray:
    """Concatenated training speech (float32, 24 kHz), cached as int16 in `folder`."""
    return build_labelled_corpus(folder, n, seed).audio


def held_out_speech(seed: int = 1) -> list[tuple[str, np.ndarray]]:
    """Held-out utterances: sentences and voice variants never used in training."""
    rng = np.random.default_rng(seed)
    out = []
    for lang, texts in HELD_OUT_SENTENCES.items():
        for text in texts:
            voice = lang + HELD_OUT_VARIANTS[rng.integers(len(HELD_OUT_VARIANTS))]
            out.append((f"{lang}{voice[len(lang) :]}", espeak(text, voice, 160, 50)))
    return out


def synth_music(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Notes, chords and drums with envelopes, float32 [T] at 24 kHz."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    out = np.zeros(n, np.float32)
    pos = 0
    while pos < n:
        dur = int(rng.uniform(0.12, 0.6) * SR)
        seg = np.arange(min(dur, n - pos)) / SR
        env = np.minimum(seg / 0.01, 1.0) * np.exp(-seg * rng.uniform(2, 12))
        for _ in range(int(rng.integers(1, 4))):
            f0 = 440 * 2 ** ((rng.integers(-30, 20)) / 12)
            tone = sum(
                np.sin(2 * np.pi * f0 * h * seg + rng.uniform(0, 6)) * rng.uniform(0.2, 1) / h
                for h in range(1, int(rng.integers(2, 9)))
                if f0 * h < 11_000
            )
            out[pos : pos + len(seg)] += (0.25 * env * tone).astype(np.float32)
        pos += dur
    beat = rng.uniform(0.25, 0.6)
    for start in np.arange(0, seconds, beat):
        i = int(start * SR)
        kind = rng.integers(3)
        m = min(int(0.2 * SR), n - i)
        if m <= 0:
            break
        s = np.arange(m) / SR
        if kind == 0:  # kick: falling sine
            out[i : i + m] += (
                0.6 * np.sin(2 * np.pi * (50 + 90 * np.exp(-s * 30)) * s) * np.exp(-s * 18)
            ).astype(np.float32)
        else:  # snare / hat: noise bursts
            out[i : i + m] += (
                rng.normal(0, 0.2, m) * np.exp(-s * (25 if kind == 1 else 70))
            ).astype(np.float32)
    del t
    return out


def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light noise and reverb, random gain; float32 [T]."""
    if rng.random() < 0.3:
        rt = rng.uniform(0.15, 0.5)
        ir_n = int(rt * SR)
        ir = rng.normal(0, 1, ir_n) * np.exp(-6.9 * np.arange(ir_n) / ir_n)
        ir[0] = 1.0 / rng.uniform(0.1, 0.3)
        from scipy.signal import fftconvolve

        wet = fftconvolve(x, ir / np.abs(ir).sum() * 4, mode="full")[: len(x)]
        x = (x + rng.uniform(0.1, 0.4) * wet).astype(np.float32)
    peak = np.abs(x).max() + 1e-6
    x = x / peak * 10 ** (rng.uniform(-24, -1) / 20)
    if rng.random() < 0.5:
        p = np.mean(x**2) + 1e-10
        x = x + rng.normal(0, np.sqrt(p / 10 ** (rng.uniform(25, 50) / 10)), len(x))
    return x.astype(np.float32)


class Batches:
    """Random training crops: speech from the corpus, and synthetic music.

    Batch i depends only on (seed, i), so training resumes exactly and batches can be made
    in worker processes in any order. With per-sample `labels` (the corpus's phoneme
    classes) `make_labelled` also gives each crop's frame labels; they come from the crop's
    position, so the audio is the same batch as without labels.
    """

    def __init__(
        self,
        corpus: np.ndarray,
        crop: int,
        batch: int,
        seed: int,
        music_share: float = 0.25,
        labels: np.ndarray | None = None,
        frame: int = 1920,
    ) -> None:
        self.corpus, self.crop, self.batch = corpus, crop, batch
        self.music_share = music_share
        self.seed = seed
        self.labels, self.frame = labels, frame

    def make(self, index: int) -> np.ndarray:
        """Batch number `index`: float32 [batch, 1, crop] at 24 kHz."""
        return self.make_labelled(index)[0]

    def make_labelled(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch `index` and its frame labels: (float32 [batch, 1, crop], int64 [batch,
        ceil(crop / frame)]): phoneme classes (0 = silence), MUSIC (-1) for every frame of
        a music crop, 0 everywhere when there are no labels."""
        rng = np.random.default_rng([self.seed, index])
        out = np.zeros((self.batch, 1, self.crop), np.float32)
        lab = np.zeros((self.batch, self.crop), np.uint8)
        music = np.zeros(self.batch, bool)
        for b in range(self.batch):
            if rng.random() < self.music_share:
                x = synth_music(self.crop / SR, rng)
                music[b] = True
            else:
                s = int(rng.integers(0, len(self.corpus) - self.crop))
                x = self.corpus[s : s + self.crop].copy()
                if self.labels is not None:
                    lab[b] = self.labels[s : s + self.crop]
            out[b, 0] = augment(x, rng)
        frames = frame_labels(lab, self.frame)
        frames[music] = MUSIC
        return out, frames


def _worker(batches: Batches, first: int, step: int, out, labelled: bool) -> None:
    import signal

    # a stop signal is for the trainer, which then kills this process itself
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    i = first
    while True:
        out.put(batches.make_labelled(i) if labelled else batches.make(i))
        i += step


class BatchStream:
    """Batches start, start+1, ... made ahead by `workers` forked processes (0: inline);
    with labelled=True each is (audio, frame labels) as `Batches.make_labelled` gives.

    Worker w makes batches start+w, start+w+n, ... into its own bounded queue, so reading
    the queues in turn gives the batches in order.
    """

    def __init__(
        self,
        batches: Batches,
        start: int,
        workers: int = 0,
        depth: int = 2,
        labelled: bool = False,
    ) -> None:
        self.batches, self.next_index, self.start = batches, start, start
        self.labelled = labelled
        self.procs: list = []
        self.queues: list = []
        if workers > 0:
            import multiprocessing as mp

            ctx = mp.get_context("fork")  # the corpus is shared, not pickled
            for w in range(workers):
                q = ctx.Queue(maxsize=depth)
                p = ctx.Process(
                    target=_worker, args=(batches, start + w, workers, q, labelled), daemon=True
                )
                p.start()
                self.procs.append(p)
                self.queues.append(q)

    def next(self, stopped: Callable[[], bool] = lambda: False):
        """The next batch (an array, or (audio, labels) when labelled), or None once
        `stopped()` is true while waiting for it."""
        if not self.procs:
            self.next_index += 1
            i = self.next_index - 1
            return self.batches.make_labelled(i) if self.labelled else self.batches.make(i)
        import queue

        q = self.queues[(self.next_index - self.start) % len(self.queues)]
        while True:
            try:
                out = q.get(timeout=0.5)
                break
            except queue.Empty:
                if stopped():
                    return None
        self.next_index += 1
        return out

    def close(self) -> None:
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.join(timeout=5)
        for q in self.queues:
            q.cancel_join_thread()
            q.close()
        self.procs, self.queues = [], []


def recipe() -> dict:
    """What the training data is, saved beside the weights."""
    return {
        "speech": "espeak-ng",
        "languages": list(SENTENCES),
        "variants": TRAIN_VARIANTS,
        "rate_wpm": [110, 230],
        "pitch": [15, 85],
        "music": "synth notes/chords/drums",
        "augment": "reverb p=0.3 (RT 0.15-0.5 s), gain -24..-1 dB, noise p=0.5 at 25-50 dB",
        "held_out_variants": HELD_OUT_VARIANTS,
        "held_out_sentences": HELD_OUT_SENTENCES,
        "held_out_extra_sentences": HELD_OUT_EXTRA_SENTENCES,
    }


def save_recipe(path: Path, extra: dict) -> None:
    path.write_text(json.dumps({**recipe(), **extra}, indent=2, ensure_ascii=False) + "\n")
