"""Quality of a codec on held-out speech: `python main.py eval-demo [--weights SRC]`.

Held-out material: espeak-ng sentences and voice variants never used in training (see
demo_data). For K = 1, 2, 4, 8, 16 and all codebooks it reports mel distance, SI-SDR and
STOI (averages over the utterances), computed with codec.metrics, and writes a Markdown
table and the raw numbers as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..session import operations as ops
from ..session.comparison import Comparison
from ..weights.load import DEMO_DIR, load_codec
from .data import held_out_speech

QUALITY_KEYS = ("mel_distance", "si_sdr", "stoi")


def evaluate(source: str = "demo", ks: tuple[int, ...] = (1, 2, 4, 8, 16)) -> dict:
    codec = load_codec(source, "cpu")
    ks = (*[k for k in ks if k < codec.num_codebooks], codec.num_codebooks)
    rows: dict[int, list[dict[str, float]]] = {k: [] for k in ks}
    utts = held_out_speech()
    for name, x in utts:
        comp = Comparison(name, x[None], codec.sample_rate)
        comp.cache_bytes = 0  # one decode at a time
        ops.encode(codec, comp)
        for k in ks:
            m = ops.measure(codec, comp, k)
            rows[k].append({key: m.channels[0][key] for key in QUALITY_KEYS})
    table = {
        k: {m: float(np.mean([r[m] for r in rs])) for m in QUALITY_KEYS} for k, rs in rows.items()
    }
    return {
        "model": codec.description,
        "utterances": [u for u, _ in utts],
        "codebooks": codec.num_codebooks,
        "by_k": table,
    }


def to_markdown(res: dict) -> str:
    lines = [
        f"Held-out espeak-ng speech ({len(res['utterances'])} utterances: "
        f"{', '.join(res['utterances'])}), model: {res['model']}.",
        "",
        "| K | mel distance ↓ | SI-SDR (dB) ↑ | STOI ↑ |",
        "|---|---|---|---|",
    ]
    for k, m in res["by_k"].items():
        label = f"{k} (all)" if int(k) == res["codebooks"] else str(k)
        lines.append(f"| {label} | {m['mel_distance']:.3f} | {m['si_sdr']:.2f} | {m['stoi']:.3f} |")
    return "\n".join(lines) + "\n"


def _batches(recipe: dict) -> str:
    runs = recipe.get("train_args", [])
    runs = runs if isinstance(runs, list) else [runs]
    return "/".join(str(a.get("batch")) for a in runs) or "?"


def training_line(source: str) -> str:
    """One line on how the weights were trained, from the recipe.json beside them."""
    folder = DEMO_DIR if source == "demo" else Path(source)
    try:
        r = json.loads((folder / "recipe.json").read_text())
    except (OSError, ValueError):
        return ""
    sched = r.get("schedule", {})
    return (
        f"\nTrained {r.get('steps')} steps ({sched.get('ae_steps')} as a plain autoencoder, "
        f"the rest quantized), batch {_batches(r)}, "
        f"{r.get('elapsed_s')} s on {', '.join(r.get('trained_on', [])) or 'unknown'}; "
        f"seed {r.get('seed')}; details in recipe.json.\n"
    )


def main(args: argparse.Namespace) -> int:
    res = evaluate(args.weights)
    md = to_markdown(res) + training_line(args.weights)
    print(md)
    if args.output:
        out = Path(args.output)
        out.write_text(md)
        out.with_suffix(".json").write_text(json.dumps(res, indent=2) + "\n")
        print(f"wrote {out} and {out.with_suffix('.json').name}", file=sys.stderr)
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", default="demo", metavar="SRC")
    p.add_argument(
        "-o",
        "--output",
        default=str(DEMO_DIR / "quality.md"),
        help="Markdown table to write ('' to only print)",
    )
