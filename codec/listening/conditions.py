"""What a listening test compares: conditions, named once, parsed from their names.

A condition is a version of an excerpt that a listener hears. Its name is what the results
files, the statistics and webMUSHRA call it:

  reference        the original (in MUSHRA also the hidden reference); "original" is
                   accepted as another spelling
  anchor35         the reference low-passed at 3.5 kHz (BS.1534-3's mandatory low anchor)
  anchor70         the reference low-passed at 7 kHz (BS.1534-3's mid anchor)
  K<k>             the codec's decode with the first k codebooks, e.g. K8
  semantic         the semantic codebook's part of the latent alone, through the decoder
  acoustic@K<k>    the acoustic codebooks 1..k-1 alone, through the decoder

`parse_condition` is the one place a name becomes a Condition; another kind of condition
is one more branch there (and, where it needs new audio, one more case in
codec.listening.stimuli.render). Names never reach a listener during a test: the test
widgets show neutral labels only.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

REFERENCE = "reference"
ANCHOR35 = "anchor35"
ANCHOR70 = "anchor70"
ANCHOR_CUTOFF_HZ = {ANCHOR35: 3500.0, ANCHOR70: 7000.0}
DEFAULT_MUSHRA_KS = (1, 2, 4, 8, 16, 32)
MAX_MUSHRA_STIMULI = 12  # besides the hidden reference: webMUSHRA's strict-mode limit

_K = re.compile(r"^K(\d+)$")
_ACOUSTIC = re.compile(r"^acoustic@K(\d+)$")


@dataclass(frozen=True)
class Condition:
    """One condition: `kind` is "reference", "anchor" or "codec".

    For "codec": k codebooks decoded, `part` "all" (the codec's decode), "semantic" or
    "acoustic" (one group of the split quantizer alone). For "anchor": `cutoff_hz`.
    """

    name: str
    kind: str
    k: int = 0
    part: str = "all"
    cutoff_hz: float = 0.0


def parse_condition(name: str, num_codebooks: int | None = None) -> Condition:
    """The Condition a name stands for; ValueError (one line) for an unknown name or a K
    the codec does not have (when num_codebooks is given)."""
    n = name.strip()
    if n in (REFERENCE, "original"):
        return Condition(REFERENCE, "reference")
    if n in ANCHOR_CUTOFF_HZ:
        return Condition(n, "anchor", cutoff_hz=ANCHOR_CUTOFF_HZ[n])
    if n == "semantic":
        return Condition(n, "codec", k=1, part="semantic")
    m = _K.match(n) or _ACOUSTIC.match(n)
    if m is None:
        raise ValueError(
            f"unknown condition {name!r}: use reference, anchor35, anchor70, K<k>, "
            "semantic or acoustic@K<k>"
        )
    k = int(m.group(1))
    acoustic = n.startswith("acoustic")
    if k < (2 if acoustic else 1):
        raise ValueError(f"{name!r}: K must be at least {2 if acoustic else 1}")
    if num_codebooks is not None and k > num_codebooks:
        raise ValueError(f"{name!r}: this codec has {num_codebooks} codebooks")
    return Condition(n, "codec", k=k, part="acoustic" if acoustic else "all")


def k_name(k: int) -> str:
    return f"K{int(k)}"


def describe(name: str, bitrate_bps: float | None = None) -> str:
    """A human description of a condition, for results (never shown during a trial)."""
    c = parse_condition(name)
    if c.kind == "reference":
        return "the original (hidden reference in MUSHRA)"
    if c.kind == "anchor":
        return f"low-pass anchor at {c.cutoff_hz / 1000:g} kHz"
    rate = f", {bitrate_bps / 1000:.2f} kbps" if bitrate_bps else ""
    if c.part == "semantic":
        return "the semantic codebook alone through the decoder"
    if c.part == "acoustic":
        return f"acoustic codebooks 1-{c.k - 1} alone through the decoder"
    return f"{c.k} codebooks{rate}"


def sort_key(name: str) -> tuple:
    """Results order: reference, anchors (7 kHz, 3.5 kHz), K ascending, parts, others."""
    try:
        c = parse_condition(name)
    except ValueError:
        return (5, 0, name)
    if c.kind == "reference":
        return (0, 0, name)
    if c.kind == "anchor":
        return (1, -c.cutoff_hz, name)
    return (2 if c.part == "all" else 3, c.k, name)


def sorted_conditions(names) -> list[str]:
    return sorted(set(names), key=sort_key)


def pair_name(a: str, b: str) -> str:
    """The name of an ABX pair, e.g. "K8 vs K16" (in the order given)."""
    return f"{a} vs {b}"


def mushra_conditions(ks, extra: tuple[str, ...] = ()) -> list[str]:
    """The conditions of a MUSHRA test: the hidden reference, both anchors, then K<k> for
    each k (and any extra names). ValueError past webMUSHRA's 12 stimuli besides the
    hidden reference."""
    names = [REFERENCE, ANCHOR35, ANCHOR70, *(k_name(k) for k in sorted(set(ks))), *extra]
    for n in names:
        parse_condition(n)
    if len(names) - 1 > MAX_MUSHRA_STIMULI:
        raise ValueError(
            f"a MUSHRA test holds at most {MAX_MUSHRA_STIMULI} conditions besides the hidden "
            f"reference (2 anchors and up to {MAX_MUSHRA_STIMULI - 2} others); got {len(names) - 1}"
        )
    return names


def part_decoding_available() -> bool:
    """True when the session operations can decode one group of the quantizer alone
    (`decode_signal(..., part=...)`), which the semantic / acoustic conditions need."""
    from ..session import operations as ops

    return "part" in inspect.signature(ops.decode_signal).parameters


def abx_choices(num_codebooks: int) -> list[str]:
    """Conditions an ABX test can compare: the original, every K, and (where the codec can
    decode them) the semantic and acoustic parts."""
    names = [REFERENCE, *(k_name(k) for k in range(1, num_codebooks + 1))]
    if part_decoding_available():
        names.append("semantic")
        names += [f"acoustic@K{k}" for k in range(2, num_codebooks + 1)]
    return names
