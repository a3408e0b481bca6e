"""A listening-test session on disk: its design, its plan, every answer, resumable.

A session is a folder (normally under sessions_dir()):

  session.json     the design (kind, assessor, seed, conditions, items, trials), the plan
                   drawn from the seed, every answer given, the MUSHRA item in progress
                   (its ratings so far and what has been played), objective scores
  abx.csv | mushra.csv   the answers, one row per rating (codec.listening.results)
  stimuli/<item>/<condition>.wav   exactly what the conditions were, float32 at the codec
                   rate before gains and fades (codec.listening.stimuli.Stimuli)

Every change is saved at once: session.json first (it is the truth), then the CSV made
from it, each through codec.audio.atomic, so a session killed at any moment is either
before or after an answer, never inside one, and `Session.open` carries on from there
(re-making a CSV that lags its JSON).

The plan is drawn once, from numpy's default_rng(seed), and saved: ABX, per trial, which
condition plays as A (the other as B) and whether X is A or B; MUSHRA, the order of the
items and per item a fresh order of the conditions behind neutral labels 1..N.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..audio.atomic import TEMP_SUFFIX, write_text_atomic
from ..audio.write import write_audio
from .conditions import pair_name, sorted_conditions
from .results import ABX_COLUMNS, MUSHRA_COLUMNS, csv_text
from .stimuli import Stimuli
from .webmushra import safe_name

FORMAT = "mimi-explorer-listening/1"
SESSION_FILE = "session.json"
KINDS = ("abx", "mushra")


def sessions_dir() -> Path:
    """Where sessions live: $XDG_DATA_HOME/mimi-explorer/listening (created on demand)."""
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    d = base / "mimi-explorer" / "listening"
    d.mkdir(parents=True, exist_ok=True)
    return d


def new_folder(kind: str, assessor: str, base: Path | None = None) -> Path:
    """A fresh, empty session folder named by time, kind and assessor."""
    root = base or sessions_dir()
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{kind}-{safe_name(assessor)}"
    for i in range(1000):
        d = root / (stem if i == 0 else f"{stem}-{i}")
        try:
            d.mkdir()
            return d
        except FileExistsError:
            continue
    raise OSError(f"cannot make a session folder in {root}")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Design:
    """What a test is. `conditions`: ABX, the pair (two names); MUSHRA, every condition
    with the hidden reference and the anchors. `items`: Stimuli.meta() of each item."""

    kind: str
    assessor: str
    seed: int
    conditions: list[str]
    items: list[dict] = field(default_factory=list)
    trials: int = 0  # ABX
    match_loudness: bool = True
    model: str = ""
    created: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a session is abx or mushra, not {self.kind!r}")
        if self.kind == "abx" and (len(self.conditions) != 2 or self.trials < 1):
            raise ValueError("an ABX test needs two conditions and at least one trial")
        if self.kind == "abx" and self.conditions[0] == self.conditions[1]:
            raise ValueError("an ABX test needs two different conditions")
        if self.kind == "mushra" and len(self.conditions) < 2:
            raise ValueError("a MUSHRA test needs conditions to rate")

    @property
    def pair(self) -> str:
        """The pair's name in results order ("reference vs K8", "K8 vs K16"), whichever
        was chosen first, so sessions of one pair pool in the statistics."""
        return pair_name(*sorted_conditions(self.conditions)) if self.kind == "abx" else ""


def draw_plan(design: Design) -> list[dict]:
    """The seeded plan: ABX [{"a", "b", "x"}] per trial (x is "A" or "B"); MUSHRA
    [{"item", "order", "labels"}] per item presentation."""
    rng = np.random.default_rng(design.seed)
    if design.kind == "abx":
        c0, c1 = design.conditions
        plan = []
        for _ in range(design.trials):
            a, b = (c0, c1) if rng.integers(2) == 0 else (c1, c0)
            plan.append({"a": a, "b": b, "x": "A" if rng.integers(2) == 0 else "B"})
        return plan
    out = []
    for i in rng.permutation(len(design.items)):
        order = [design.conditions[j] for j in rng.permutation(len(design.conditions))]
        out.append(
            {"item": int(i), "order": order, "labels": [str(n + 1) for n in range(len(order))]}
        )
    return out


class Session:
    """A session folder; `create` starts one, `open` resumes one."""

    def __init__(self, folder: Path, state: dict) -> None:
        self.folder = Path(folder)
        self.design = Design(**state["design"])
        self.plan: list[dict] = state["plan"]
        self.answers: list[dict] = state.get("answers", [])
        self.draft: dict = state.get("draft") or {}
        self.objective: dict = state.get("objective", {})
        self._stimuli: dict[int, Stimuli] = {}

    # ---- making and opening -------------------------------------------------------------
    @classmethod
    def create(cls, folder: str | os.PathLike, design: Design, items: list[Stimuli]) -> Session:
        """Write the stimuli and the session file into the (empty, existing) folder."""
        d = Path(folder)
        design.items = [st.meta() for st in items]
        design.created = design.created or _now()
        for st in items:
            sub = d / "stimuli" / safe_name(st.item)
            sub.mkdir(parents=True, exist_ok=True)
            for name in st.names:
                write_audio(sub / f"{safe_name(name)}.wav", st.signals[name], st.rate)
        s = cls(d, {"design": asdict(design), "plan": draw_plan(design)})
        s._stimuli = dict(enumerate(items))
        s.save()
        return s

    @classmethod
    def open(cls, folder: str | os.PathLike, repair: bool = True) -> Session:
        """The session in `folder`; with repair, its CSV is re-made from its JSON."""
        d = Path(folder)
        try:
            state = json.loads((d / SESSION_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{d} is not a readable listening session: {e}") from None
        if state.get("format") != FORMAT:
            raise ValueError(f"{d / SESSION_FILE} is not a {FORMAT} file")
        try:
            s = cls(d, state)
        except (KeyError, TypeError) as e:
            raise ValueError(f"{d / SESSION_FILE} is damaged: {e}") from None
        if repair:
            for tmp in d.glob(f".*{TEMP_SUFFIX}"):  # a write cut short by a kill
                tmp.unlink(missing_ok=True)
            s._write_csv()  # a CSV one answer behind its JSON (killed in between) catches up
        return s

    # ---- saving ---------------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "format": FORMAT,
            "design": asdict(self.design),
            "plan": self.plan,
            "answers": self.answers,
            "draft": self.draft,
            "objective": self.objective,
            "finished": self.finished,
        }

    def save(self) -> None:
        write_text_atomic(self.folder / SESSION_FILE, json.dumps(self.state(), indent=1) + "\n")
        self._write_csv()

    @property
    def csv_path(self) -> Path:
        return self.folder / f"{self.design.kind}.csv"

    def _write_csv(self) -> None:
        cols = ABX_COLUMNS if self.design.kind == "abx" else MUSHRA_COLUMNS
        write_text_atomic(self.csv_path, csv_text(self.answers, cols))

    # ---- where it stands --------------------------------------------------------------------
    @property
    def position(self) -> int:
        """The index in the plan of the trial (ABX) or item (MUSHRA) to do next."""
        if self.design.kind == "abx":
            return len(self.answers)
        return len({a["trial"] for a in self.answers})

    @property
    def finished(self) -> bool:
        return self.position >= len(self.plan)

    def progress(self) -> str:
        """e.g. "trial 7 of 16" or "item 2 of 2" (the one to do next), or "finished"."""
        if self.finished:
            return "finished"
        what = "trial" if self.design.kind == "abx" else "item"
        return f"{what} {self.position + 1} of {len(self.plan)}"

    def current(self) -> dict:
        if self.finished:
            raise ValueError("the session is finished")
        return self.plan[self.position]

    def stimuli(self, index: int) -> Stimuli:
        """Item `index` (of design.items), its audio read from the session folder."""
        if index not in self._stimuli:
            self._stimuli[index] = self._load(index)
        return self._stimuli[index]

    def _load(self, index: int) -> Stimuli:
        import soundfile as sf

        meta = self.design.items[index]
        sub = self.folder / "stimuli" / safe_name(meta["item"])
        signals = {}
        for name in meta["conditions"]:
            path = sub / f"{safe_name(name)}.wav"
            try:
                y, _ = sf.read(str(path), dtype="float32", always_2d=True)
            except (OSError, RuntimeError) as e:
                raise ValueError(f"the session's stimulus {path} cannot be read: {e}") from None
            signals[name] = np.ascontiguousarray(y.T)
        return Stimuli(
            meta["item"],
            int(meta["rate"]),
            signals,
            dict(meta["gains_db"]),
            meta.get("source", ""),
            float(meta.get("start_s", 0.0)),
            float(meta.get("end_s", 0.0)),
        )

    # ---- answers ----------------------------------------------------------------------------
    def _row(self, item: int) -> dict:
        meta = self.design.items[item]
        return {
            "assessor": self.design.assessor,
            "session": self.folder.name,
            "item": meta["item"],
            "source": Path(meta.get("source", "")).name,
            "start_s": meta.get("start_s", 0.0),
            "end_s": meta.get("end_s", 0.0),
            "timestamp": _now(),
        }

    def answer_abx(self, label: str, seconds: float = float("nan")) -> dict:
        """Record the answer ("A" or "B": what X is) to the current trial; returns its row."""
        if self.design.kind != "abx":
            raise ValueError("not an ABX session")
        if label not in ("A", "B"):
            raise ValueError(f"an ABX answer is A or B, not {label!r}")
        t = self.current()
        x = t["a"] if t["x"] == "A" else t["b"]
        chosen = t["a"] if label == "A" else t["b"]
        row = self._row(0) | {
            "pair": self.design.pair,
            "trial": self.position + 1,
            "correct": int(label == t["x"]),
            "a": t["a"],
            "b": t["b"],
            "x": x,
            "answer": chosen,
            "seconds_listened": float(seconds),
        }
        self.answers.append(row)
        self.save()
        return row

    def rate(self, condition: str, score: float) -> None:
        """A MUSHRA slider set (0..100) for the current item: kept in the draft, saved."""
        self._check_mushra(condition)
        if not 0 <= score <= 100:
            raise ValueError(f"a MUSHRA score is 0..100, not {score}")
        self.draft.setdefault("scores", {})[condition] = float(score)
        self.save()

    def played(self, condition: str, seconds: float) -> None:
        """How long a stimulus of the current item has played so far (saved once it has
        started, and with every rating)."""
        self._check_mushra(condition)
        seen = self.draft.setdefault("seconds", {})
        first = condition not in seen
        seen[condition] = float(seconds)
        if first:
            self.save()

    def _check_mushra(self, condition: str) -> None:
        if self.design.kind != "mushra":
            raise ValueError("not a MUSHRA session")
        if condition not in self.current()["order"]:
            raise ValueError(f"{condition!r} is not a condition of this item")

    def missing(self) -> tuple[list[str], list[str]]:
        """(not played yet, not rated yet): conditions of the current MUSHRA item."""
        order = self.current()["order"]
        seconds, scores = self.draft.get("seconds", {}), self.draft.get("scores", {})
        return [c for c in order if c not in seconds], [c for c in order if c not in scores]

    def commit_item(self) -> list[dict]:
        """The current MUSHRA item's ratings become answers ("Next"); every stimulus must
        have been played and rated."""
        unplayed, unrated = self.missing()
        if unplayed or unrated:
            raise ValueError(f"{len(unplayed)} stimuli not played and {len(unrated)} not rated yet")
        t = self.current()
        base = self._row(t["item"]) | {"trial": self.position + 1}
        rows = [
            base
            | {
                "condition": c,
                "label": label,
                "score": self.draft["scores"][c],
                "seconds_listened": self.draft["seconds"][c],
            }
            for c, label in zip(t["order"], t["labels"], strict=True)
        ]
        self.answers += rows
        self.draft = {}
        self.save()
        return rows

    def set_objective(self, item: str, condition: str, scores: dict) -> None:
        self.objective.setdefault(item, {})[condition] = dict(scores)
        self.save()


def unfinished(base: Path | None = None) -> list[Session]:
    """Sessions not finished yet, newest first (damaged folders are left out)."""
    root = base or sessions_dir()
    out = []
    for f in sorted(root.glob(f"*/{SESSION_FILE}"), reverse=True):
        try:
            s = Session.open(f.parent, repair=False)
        except ValueError:
            continue
        if not s.finished:
            out.append(s)
    return out
