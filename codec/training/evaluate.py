"""Quality of a codec on held-out speech: `python main.py eval-demo [--weights SRC]`.

Held-out material: espeak-ng sentences and voice variants never used in training (see
data.py). For K = 1, 2, 4, 8, 16 and all codebooks it reports mel distance, SI-SDR and
STOI (averages over the utterances), computed with codec.metrics; then what the codebooks
say about the words (content.py: the phoneme probe of codebooks 0, 1 and 8 against chance,
and cross-voice agreement against different sentences). It writes Markdown tables and the
raw numbers as JSON.
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


def content_markdown(c: dict, distilled: str = "") -> str:
    """The probe table and the agreement table of `evaluate_content`'s result."""
    what = f"codebook 0 distilled from {distilled}" if distilled else "codebook 0"
    p = c["probe"]
    lines = [
        "",
        f"### What the tokens say about the words ({what})",
        "",
        f"Phoneme probe: the share of held-out frames whose espeak-ng phoneme (one of "
        f"{c['inventory_size']} classes, silence included) a token lookup predicts from one "
        f"codebook's token alone; the lookup is fit on {c['probe_fit']} and scored on "
        f"{c['probe_test']}, at {c['rate_wpm']} words per minute. Chance: always the most "
        "frequent class of the fit (silence; among speech frames, the most frequent phoneme).",
        "",
        "| tokens of | all frames ↑ | speech frames ↑ |",
        "|---|---|---|",
    ]
    names = {"cb0": "codebook 0 (semantic)", "cb1": "codebook 1 (acoustic)"}
    names.update(cb8="codebook 8 (acoustic)", chance="chance")
    for key, row in p.items():
        lines.append(f"| {names.get(key, key)} | {row['all']:.3f} | {row['speech']:.3f} |")
    lines += [
        "",
        "Cross-voice agreement: the share of aligned frames where two clips have the same "
        "token, aligned as the `tokens` command aligns two clips (DTW or a whole-frame offset "
        "on the unquantized latents). Same sentence: each held-out sentence in each pair of "
        "the held-out voices; different sentences: two held-out sentences in one held-out "
        "voice, where equal tokens share nothing but the voice.",
        "",
        "| language | clips | pairs | codebook 0 | codebook 1 | codebook 8 | codebooks 1-31 "
        "(mean) |",
        "|---|---|---|---|---|---|---|",
    ]
    kinds = {"same_sentence": "same sentence, two voices"}
    kinds["different_sentences"] = "two sentences, one voice"
    for lang, groups in c["agreement"].items():
        for kind, a in groups.items():
            lines.append(
                f"| {lang} | {kinds[kind]} | {a['pairs']} | {a['cb0']:.3f} | {a['cb1']:.3f} | "
                f"{a['cb8']:.3f} | {a['acoustic_mean']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def _batches(recipe: dict) -> str:
    runs = recipe.get("train_args", [])
    runs = runs if isinstance(runs, list) else [runs]
    return "/".join(str(a.get("batch")) for a in runs) or "?"


def _recipe(source: str) -> dict:
    """The recipe.json beside a source's weights ({} when there is none)."""
    folder = DEMO_DIR if source == "demo" else Path(source)
    try:
        return json.loads((folder / "recipe.json").read_text())
    except (OSError, ValueError):
        return {}


def distilled_from(source: str) -> str:
    """What the recipe beside a folder's weights says codebook 0 was distilled from."""
    return str(_recipe(source).get("semantic_distillation", ""))


def training_line(source: str) -> str:
    """One line on how the weights were trained, from the recipe.json beside them."""
    r = _recipe(source)
    if not r:
        return ""
    sched = r.get("schedule", {})
    stage = sched.get("latent_stage", {})
    then = (
        f", then {stage['steps']} steps of the distillation's latent stage (batch "
        f"{stage.get('batch')}, {stage.get('elapsed_s')} s)"
        if stage.get("steps")
        else ""
    )
    dec = sched.get("decoder_stage", {})
    if dec.get("steps"):
        then += (
            f" and {dec['steps']} of its decoder stage (batch {dec.get('batch')}, "
            f"{dec.get('elapsed_s')} s)"
        )
    return (
        f"\nTrained {r.get('steps')} steps ({sched.get('ae_steps')} as a plain autoencoder, "
        f"the rest quantized), batch {_batches(r)}{then}, "
        f"{r.get('elapsed_s')} s{' in all' if then else ''} on "
        f"{', '.join(r.get('trained_on', [])) or 'unknown'}; "
        f"seed {r.get('seed')}; details in recipe.json.\n"
    )


def main(args: argparse.Namespace) -> int:
    res = evaluate(args.weights)
    md = to_markdown(res)
    if not args.no_content:
        from .content import evaluate_content

        codec = load_codec(args.weights, "cpu")
        res["content"] = evaluate_content(codec)
        md += content_markdown(res["content"], codec.distilled or distilled_from(args.weights))
    md += training_line(args.weights)
    print(md)
    if args.output:
        out = Path(args.output)
        out.write_text(md)
        out.with_suffix(".json").write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
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
    p.add_argument(
        "--no-content",
        action="store_true",
        help="only the quality table (no phoneme probe or cross-voice agreement)",
    )
