"""webMUSHRA interop: export a MUSHRA test as a folder webMUSHRA serves, read its results.

webMUSHRA (audiolabs/webMUSHRA, a browser MUSHRA tool) loads `configs/<name>.yaml` from
its root, with file paths relative to that root. `export` therefore writes a folder laid
out like that root:

  <out>/configs/<test_id>.yaml                        the test (YAML)
  <out>/configs/resources/audio/<test_id>/<item>_<condition>.wav
  <out>/<test_id>-README.txt                          how to serve it and read the results

Copy (or merge) <out> into a webMUSHRA installation and open `?config=<test_id>.yaml`.
One `mushra` page per item, in random order; each page's `reference` is the item's
reference, webMUSHRA adds it again as the hidden reference (rated as `reference`), and
the `stimuli` map holds the anchors (`anchor35`, `anchor70`: ours, made at the codec rate
with codec.listening.stimuli's filter, not webMUSHRA's own) and the codec conditions under
their names, so its results name the conditions as our CSV does. Every WAV of a test has
one rate (RATE, a rate every browser's audio runs at), one length and one channel count:
webMUSHRA refuses stimuli that differ. They are the stimuli as heard in the app (loudness
matched, faded), 24-bit PCM, written atomically (webMUSHRA compares the stimuli of a
page; pages may differ in length); the YAML is written last, so a failed
export never leaves a config that points at missing audio.

Results: webMUSHRA's service/write.php appends to results/<testId>/mushra.csv one row per
rating: session_test_id, one column per questionnaire field of the finish page (ours asks
for `assessor`), session_uuid, trial_id (the page id: our item), rating_stimulus (the
condition), rating_score (0-100), rating_time, rating_comment. `parse_results` turns those
rows into codec.listening.stats.Rating.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..audio.atomic import atomic_write, write_text_atomic
from ..audio.resample import fit_length, resample
from .conditions import MAX_MUSHRA_STIMULI, REFERENCE
from .stats import Rating
from .stimuli import Stimuli

RATE = 48_000
RESULT_REQUIRED = {"trial_id", "rating_stimulus", "rating_score"}
RESULT_FIXED = {
    "session_test_id",
    "session_uuid",
    "trial_id",
    "rating_stimulus",
    "rating_score",
    "rating_time",
    "rating_comment",
}
ASSESSOR_FIELDS = ("assessor", "name", "participant", "email")
INSTRUCTIONS = (
    "Rate the basic audio quality of each stimulus against the reference, on the scale "
    "from 0 (bad) to 100 (excellent). One of the stimuli is the reference itself. Listen to "
    "every stimulus; you can switch between them while they play and loop a part."
)

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def safe_name(text: str) -> str:
    """text with anything but letters, digits, '.', '_' and '-' made '_' (file names, ids)."""
    out = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return out or "test"


# ---- YAML -----------------------------------------------------------------------------------
def _scalar(v) -> str:
    if v is True or v is False:
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, int | float):
        return repr(v)
    return json.dumps(str(v), ensure_ascii=False)  # a JSON string is a YAML string


def _key(k) -> str:
    k = str(k)
    return k if _PLAIN_KEY.match(k) and k.lower() not in _YAML_WORDS else json.dumps(k)


def _emit(obj, ind: int) -> list[str]:
    pad = " " * ind
    lines: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, dict | list) and v:
                lines.append(f"{pad}{_key(k)}:")
                lines += _emit(v, ind + 2)
            else:
                lines.append(f"{pad}{_key(k)}: {_inline(v)}")
        return lines
    for v in obj:
        if isinstance(v, dict | list) and v:
            sub = _emit(v, ind + 2)
            lines.append(f"{pad}- {sub[0][ind + 2 :]}")
            lines += sub[1:]
        else:
            lines.append(f"{pad}- {_inline(v)}")
    return lines


def _inline(v) -> str:
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return _scalar(v)


def to_yaml(obj: dict) -> str:
    """Block-style YAML of dicts, lists, strings (JSON-quoted), numbers and booleans."""
    return "\n".join(_emit(obj, 0)) + "\n"


# ---- export ---------------------------------------------------------------------------------
def _write_wav(path: Path, x: np.ndarray, rate: int) -> None:
    import soundfile as sf

    data = np.clip(np.ascontiguousarray(x.T), -1.0, 1.0)
    with atomic_write(path) as tmp:
        sf.write(str(tmp), data, rate, subtype="PCM_24", format="WAV")


def _page(st: Stimuli, audio: str, item_id: str) -> dict:
    stimuli = {n: f"{audio}/{item_id}_{safe_name(n)}.wav" for n in st.names if n != REFERENCE}
    return {
        "type": "mushra",
        "id": item_id,
        "name": "Rate the basic audio quality",
        "content": INSTRUCTIONS,
        "showWaveform": False,
        "enableLooping": True,
        "strict": True,
        "randomize": True,
        "showConditionNames": False,
        "switchBack": False,
        "reference": f"{audio}/{item_id}_reference.wav",
        "createAnchor35": False,
        "createAnchor70": False,
        "stimuli": stimuli,
    }


def config(items: Sequence[Stimuli], test_id: str, testname: str) -> dict:
    """The webMUSHRA config (a dict, see `to_yaml`) of the items, audio paths included."""
    audio = f"configs/resources/audio/{test_id}"
    pages = [_page(st, audio, safe_name(st.item)) for st in items]
    return {
        "testname": testname,
        "testId": test_id,
        "bufferSize": 2048,
        "stopOnErrors": True,
        "showButtonPreviousPage": False,
        "remoteService": "service/write.php",
        "pages": [
            {
                "type": "generic",
                "id": "instructions",
                "name": "Instructions",
                "content": INSTRUCTIONS,
            },
            ["random", *pages] if len(pages) > 1 else pages[0],
            {
                "type": "finish",
                "name": "Thank you",
                "content": "Thank you for listening.",
                "showResults": False,
                "writeResults": True,
                "questionnaire": [
                    {"type": "text", "label": "Your name or initials", "name": "assessor"}
                ],
            },
        ],
    }


def _check(items: Sequence[Stimuli]) -> None:
    if not items:
        raise ValueError("a webMUSHRA export needs at least one item")
    ids = [safe_name(st.item) for st in items]
    if len(set(ids)) != len(ids):
        raise ValueError(f"two items share a name: {', '.join(ids)}")
    for st in items:
        if REFERENCE not in st.signals:
            raise ValueError(f"item {st.item} has no reference")
        if len(st.names) - 1 > MAX_MUSHRA_STIMULI:
            raise ValueError(f"item {st.item}: webMUSHRA takes at most 12 stimuli per page")
        shapes = {y.shape for y in st.signals.values()}
        if len(shapes) != 1:
            raise ValueError(f"item {st.item}: its stimuli differ in length or channels")


def export(
    items: Sequence[Stimuli],
    out_dir: str | os.PathLike,
    test_id: str,
    testname: str = "Mimi codec listening test",
    rate: int = RATE,
) -> Path:
    """Write the test into the existing folder out_dir; returns the YAML config's path."""
    out = Path(out_dir)
    if not out.is_dir():
        raise ValueError(f"{out} is not an existing folder")
    test_id = safe_name(test_id)
    _check(items)
    audio_dir = out / "configs" / "resources" / "audio" / test_id
    audio_dir.mkdir(parents=True, exist_ok=True)
    for st in items:
        item_id = safe_name(st.item)
        n_out = round(st.num_samples * rate / st.rate)  # one length for the page's stimuli
        for name in st.names:
            y = fit_length(resample(st.played(name), st.rate, rate), n_out)
            _write_wav(audio_dir / f"{item_id}_{safe_name(name)}.wav", y, rate)
    write_text_atomic(out / f"{test_id}-README.txt", readme(test_id))
    return write_text_atomic(
        out / "configs" / f"{test_id}.yaml", to_yaml(config(items, test_id, testname))
    )


def readme(test_id: str) -> str:
    return (
        f"A MUSHRA test for webMUSHRA, written by Mimi Explorer.\n\n"
        f"1. Copy the folder 'configs' of this export into the root of a webMUSHRA\n"
        f"   installation (it merges with webMUSHRA's own 'configs').\n"
        f"2. Open http://<your server>/<webMUSHRA>/?config={test_id}.yaml\n"
        f"3. Results are appended to results/{test_id}/mushra.csv there; read them with\n"
        f"   ./run.sh listening-stats results/{test_id}/mushra.csv [--json]\n"
    )


# ---- results --------------------------------------------------------------------------------
def _assessor_column(header: Sequence[str], rows: list[dict]) -> str:
    participant = [h for h in header if h not in RESULT_FIXED]
    for name in ASSESSOR_FIELDS:
        if name in participant and any((r.get(name) or "").strip() for r in rows):
            return name
    return ""


def parse_results(rows: list[dict], path: str) -> list[Rating]:
    """webMUSHRA mushra.csv rows -> Ratings. The assessor is the finish page's `assessor`
    (else `name`, `participant` or `email`) field, else the session's uuid; without
    either, a new session starts where a page and stimulus come round again."""
    header = list(rows[0]) if rows else []
    who = _assessor_column(header, rows)
    out, seen, n = [], set(), 1
    for i, r in enumerate(rows, start=2):
        where = f"{path}:{i}"
        item, cond = (r.get("trial_id") or "").strip(), (r.get("rating_stimulus") or "").strip()
        if not item or not cond:
            raise ValueError(f"{where}: a webMUSHRA rating needs trial_id and rating_stimulus")
        try:
            score = float(r.get("rating_score", ""))
        except ValueError:
            raise ValueError(f"{where}: rating_score is not a number") from None
        if not 0 <= score <= 100:
            raise ValueError(f"{where}: rating_score {score:g} is outside 0..100")
        uuid = (r.get("session_uuid") or "").strip()
        if not uuid:
            if (item, cond) in seen:
                n, seen = n + 1, set()
            seen.add((item, cond))
            uuid = f"webmushra-session-{n}"
        name = (r.get(who) or "").strip() if who else ""
        test = (r.get("session_test_id") or "").strip()
        out.append(Rating(name or uuid, item, cond, score, session=f"{test}:{uuid}"))
    return out
