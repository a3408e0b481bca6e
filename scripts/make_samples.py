"""Make the bundled sample clips in resources/samples/ (deterministic; no downloads).

  english_speech.flac   espeak-ng, en-us, 22.05 kHz mono (espeak's own rate)
  japanese_speech.flac  espeak-ng, ja, 22.05 kHz mono
  stereo_music.flac     synthesised notes, chords and drums, 44.1 kHz stereo, with the
                        melody panned left and the drums right (a real L/R difference)
Stored as FLAC at their natural rates so the app's resampling path is used.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "resources" / "samples"

ENGLISH = (
    "Mimi is a neural audio codec. It turns twenty-four thousand samples per second "
    "into twelve and a half frames of tokens, and back into sound. Listen to how the "
    "voice changes as you add codebooks, from one to thirty-two."
)
JAPANESE = (
    "こんにちは。これは にほんごの おんせいの サンプル です。コーデックが こえを どのように "
    "さいげんするか、きいて みて ください。"
)


def speak(text: str, voice: str, rate: int = 150) -> tuple[np.ndarray, int]:
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(rate), "-w", f.name, text], check=True, timeout=60
        )
        x, sr = sf.read(f.name, dtype="float32")
    return (0.8 * x / (np.abs(x).max() + 1e-9)).astype(np.float32), sr


def music(seconds: float = 10.0, sr: int = 44_100, seed: int = 7) -> np.ndarray:
    """[T, 2]: melody + chords mostly left, drums mostly right."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    left, right = np.zeros(n), np.zeros(n)
    beat = 0.5  # 120 bpm
    scale = [0, 2, 4, 5, 7, 9, 11, 12]
    chords = [[0, 4, 7], [5, 9, 12], [7, 11, 14], [0, 4, 7]]
    for bar in range(int(seconds / (4 * beat))):
        t0 = bar * 4 * beat
        for j, semis in enumerate(chords[bar % 4]):  # chord pad
            f = 220 * 2 ** (semis / 12)
            i, m = int(t0 * sr), int(4 * beat * sr)
            s = np.arange(min(m, n - i)) / sr
            env = np.minimum(s / 0.05, 1) * np.exp(-s * 0.8)
            tone = sum(np.sin(2 * np.pi * f * h * s + j) / h**1.5 for h in range(1, 6))
            left[i : i + len(s)] += 0.10 * env * tone
            right[i : i + len(s)] += 0.04 * env * tone
        for k in range(8):  # melody, eighth notes
            f = 440 * 2 ** (scale[rng.integers(len(scale))] / 12)
            i = int((t0 + k * beat / 2) * sr)
            s = np.arange(min(int(beat / 2 * sr), n - i)) / sr
            env = np.minimum(s / 0.005, 1) * np.exp(-s * 6)
            tone = sum(np.sin(2 * np.pi * f * h * s) * 0.6**h for h in range(1, 8))
            left[i : i + len(s)] += 0.22 * env * tone
        for k in range(4):  # drums on the right
            i = int((t0 + k * beat) * sr)
            s = np.arange(min(int(0.25 * sr), n - i)) / sr
            if k % 2 == 0:
                hit = np.sin(2 * np.pi * (45 + 100 * np.exp(-s * 35)) * s) * np.exp(-s * 14)
            else:
                hit = rng.normal(0, 0.5, len(s)) * np.exp(-s * 22)
            right[i : i + len(s)] += 0.5 * hit
            left[i : i + len(s)] += 0.1 * hit
            h = int((t0 + k * beat + beat / 2) * sr)
            s2 = np.arange(min(int(0.05 * sr), n - h)) / sr
            right[h : h + len(s2)] += rng.normal(0, 0.15, len(s2)) * np.exp(-s2 * 90)
    x = np.stack([left, right], 1)
    return (0.85 * x / np.abs(x).max()).astype(np.float32)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    x, sr = speak(ENGLISH, "en-us", rate=165)
    sf.write(str(OUT / "english_speech.flac"), x, sr)
    x, sr = speak(JAPANESE, "ja", rate=140)
    sf.write(str(OUT / "japanese_speech.flac"), x, sr)
    sf.write(str(OUT / "stereo_music.flac"), music(), 44_100)
    for f in sorted(OUT.glob("*.flac")):
        info = sf.info(str(f))
        print(f"{f.name}: {info.duration:.1f} s, {info.samplerate} Hz, {info.channels} ch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
