"""Phoneme-labelled speech from espeak-ng: the audio and espeak-ng's own phoneme events of
one synthesis, through libespeak-ng (ctypes), so labels and samples cannot disagree.

Each utterance is synthesised in a fresh forked process. libespeak-ng keeps state from one
utterance to the next (measured: 22 of 25 successive utterances in one process differed
from the `espeak-ng` command's output), while one utterance in a fresh process is
sample-identical to `espeak-ng -v VOICE -s RATE -p PITCH --stdout TEXT`. So the audio here
is exactly what the command line gives (the trainer's corpus and held-out speech are
unchanged), and an utterance depends only on its own text, voice, rate and pitch.

Phoneme events come with the sample index (at espeak-ng's 22.05 kHz) where the phoneme's
sound starts; names are IPA (espeakINITIALIZE_PHONEME_IPA), so one inventory serves every
language: espeak-ng's ASCII mnemonics are per language ("a" is [æ] in English and [a] in
German), its IPA names are not. Pauses have no name; they, the silence around an
utterance and anything that is not speech form the silence class.

Frame labels: a 1920-sample frame (80 ms at 24 kHz) gets the phoneme that covers most of
its samples (see `frame_labels`).
"""

from __future__ import annotations

import ctypes
import os
import pickle
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import soxr

LIBRARY = "libespeak-ng.so.1"
SR = 24_000
SILENCE = "_"  # the silence class's name (class 0): pauses, leading/trailing silence, music
OTHER = "?"  # the class of a phoneme the inventory does not know (held-out material only)
STRESS = str.maketrans("", "", "ˈˌ'," + "\u0361")  # stress marks and ties are not phonemes

# speak_lib.h (API revision 12; checked against libespeak-ng-dev 1.51's header)
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
INITIALIZE_PHONEME_IPA = 0x0002
EVENT_LIST_TERMINATED = 0
EVENT_PHONEME = 7
POS_CHARACTER = 1
CHARS_AUTO, PHONEMES, ENDPAUSE = 0, 0x100, 0x1000
SYNTH_FLAGS = CHARS_AUTO | PHONEMES | ENDPAUSE  # the `espeak-ng` command's own flags
RATE, PITCH = 1, 3


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """espeak_EVENT: 40 bytes on x86-64, `id` at offset 32 (natural alignment, as in C)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms: too coarse, `sample` is used instead
        ("sample", ctypes.c_int),  # the sample index at the library's rate
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    """espeak_VOICE, for espeak_SetVoiceByProperties (the command's fallback)."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


class EspeakError(RuntimeError):
    """libespeak-ng is missing, or could not speak (for example an unknown voice)."""


@dataclass(frozen=True, eq=False)
class Spoken:
    """One synthesis: audio int16 [T] at `rate` Hz and its phonemes, in order, as
    (first sample at `rate`, name); name SILENCE for a pause."""

    audio: np.ndarray
    rate: int
    phones: tuple[tuple[int, str], ...]

    def names(self) -> list[str]:
        """The phoneme names in order, pauses left out."""
        return [n for _, n in self.phones if n != SILENCE]

    def at(self, sr: int = SR) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(audio float32 [T'] resampled to `sr` as the command-line path does, phone start
        samples int64 [P] at `sr`, names [P]). soxr's resampler is delay-compensated (an
        impulse at 11025 of 22050 lands on 12000 of 24000), so positions scale exactly."""
        x = self.audio.astype(np.float32) / 32768.0  # what soundfile reads from the WAV
        y = soxr.resample(x, self.rate, sr).astype(np.float32)
        starts = np.array([round(s * sr / self.rate) for s, _ in self.phones], np.int64)
        return y, starts, [n for _, n in self.phones]


def _name(event: _Event) -> str:
    """The event's phoneme name; SILENCE for a pause (no IPA name; mnemonics "_", "_:")."""
    raw = bytes(event.id.string).split(b"\0", 1)[0]  # 8 bytes, zero-terminated if shorter
    name = raw.decode("utf-8", "replace").translate(STRESS)
    return SILENCE if not name or name.startswith("_") else name


def _synthesise_here(text: str, voice: str, rate: int, pitch: int, ipa: bool) -> Spoken:
    """Synthesise in this process (call it in a fresh one: see the module's docstring)."""
    try:
        lib = ctypes.CDLL(LIBRARY)
    except OSError as e:
        raise EspeakError(f"{LIBRARY} cannot be loaded ({e}); install libespeak-ng1") from e
    options = INITIALIZE_PHONEME_EVENTS | (INITIALIZE_PHONEME_IPA if ipa else 0)
    sr = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None, options)
    if sr <= 0:
        raise EspeakError("espeak_Initialize failed (is espeak-ng-data installed?)")
    chunks: list[np.ndarray] = []
    phones: list[tuple[int, str]] = []

    def on_audio(wav, n: int, events) -> int:
        if wav and n > 0:
            chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            name = _name(events[i]) if events[i].type == EVENT_PHONEME else ""
            # "(en)", "(fr)": espeak-ng switching language for a word, not a phoneme
            if name and not (name.startswith("(") and name.endswith(")")):
                phones.append((int(events[i].sample), name))
            i += 1
        return 0  # continue

    callback = _CALLBACK(on_audio)  # kept alive until the synthesis returns
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        spec = _Voice(languages=voice.encode())  # as the command does for a language name
        if lib.espeak_SetVoiceByProperties(ctypes.byref(spec)) != 0:
            raise EspeakError(f"espeak-ng has no voice {voice!r}")
    lib.espeak_SetParameter(RATE, int(rate), 0)
    lib.espeak_SetParameter(PITCH, int(pitch), 0)
    data = text.encode()
    err = lib.espeak_Synth(data, len(data) + 1, 0, POS_CHARACTER, 0, SYNTH_FLAGS, None, None)
    if err != 0 or lib.espeak_Synchronize() != 0:
        raise EspeakError(f"espeak_Synth failed ({err}) for {text!r} in {voice!r}")
    audio = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
    return Spoken(audio.astype(np.int16), int(sr), tuple(phones))


def synthesise(text: str, voice: str, rate: int = 175, pitch: int = 50, ipa: bool = True) -> Spoken:
    """`text` spoken by espeak-ng `voice` at `rate` words per minute and `pitch` (0-100),
    with its phoneme events (IPA names, or espeak-ng's mnemonics with ipa=False), in a
    forked child process. Raises EspeakError."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: synthesise, send the result, leave without cleanup
        os.close(read)
        try:
            result: object = _synthesise_here(text, voice, rate, pitch, ipa)
        except Exception as e:  # every failure goes back to the parent
            result = EspeakError(str(e))
        with os.fdopen(write, "wb") as f:
            f.write(pickle.dumps(result))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        payload = f.read()
    os.waitpid(pid, 0)
    if not payload:
        raise EspeakError(f"the espeak-ng child process died speaking {text!r} in {voice!r}")
    result = pickle.loads(payload)  # our own child's data
    if isinstance(result, Exception):
        raise result
    return result


# ---- an inventory and labels --------------------------------------------------------------


@dataclass(frozen=True)
class Inventory:
    """Phoneme classes: 0 is SILENCE, then the names in sorted order, then OTHER (a name
    seen in no training utterance). One inventory for every language (see the module)."""

    names: tuple[str, ...]

    @classmethod
    def of(cls, seen: Iterable[str]) -> Inventory:
        rest = sorted({n for n in seen if n not in (SILENCE, OTHER)})
        return cls((SILENCE, *rest, OTHER))

    def __len__(self) -> int:
        return len(self.names)

    @property
    def other(self) -> int:
        return len(self.names) - 1

    def ids(self, names: Sequence[str]) -> np.ndarray:
        """Names -> class ids int64 [P] (OTHER for an unknown name)."""
        index = {n: i for i, n in enumerate(self.names)}
        return np.array([index.get(n, self.other) for n in names], np.int64)


def sample_labels(n: int, starts: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Per-sample class ids uint8 [n]: phone p covers [starts[p], starts[p + 1]) (the last
    one to the end); samples before the first phone are silence (0)."""
    out = np.zeros(n, np.uint8)
    bounds = np.append(np.clip(starts, 0, n), n)
    for p, cls in enumerate(ids):
        out[bounds[p] : bounds[p + 1]] = cls
    return out


def frame_labels(labels: np.ndarray, frame: int = 1920) -> np.ndarray:
    """Per-sample ids [..., T] -> per-frame ids int64 [..., ceil(T / frame)]: the class that
    covers most of each frame's samples (ties: the lower id; a short last frame counts
    the samples it has). The 12.5 Hz frame is longer than most phonemes (about 40-150 ms
    here), so this is the phoneme one hears most in the frame."""
    x = np.asarray(labels, np.int64)
    t = x.shape[-1]
    f = -(-t // frame)
    lead = x.reshape(-1, t)
    n_cls = int(max(x.max(initial=0), 0)) + 1
    cell = (np.arange(len(lead))[:, None] * f + np.arange(t)[None] // frame) * n_cls + lead
    counts = np.bincount(cell.ravel(), minlength=len(lead) * f * n_cls)
    return counts.reshape(len(lead), f, n_cls).argmax(-1).reshape(*x.shape[:-1], f)
