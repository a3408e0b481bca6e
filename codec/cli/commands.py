"""The commands behind `main.py COMMAND`: each checks its paths, loads the model, and runs
the shared operations (codec.session.operations). No Qt, no sounddevice.

User errors raise CodecError/ValueError (printed as one line, exit status 2 by cli.main).
No command writes over one of its inputs, and none creates missing folders.
"""

from __future__ import annotations

import argparse
import sys

from ..audio.paths import check_output
from ..audio.reader import SourceReader
from ..errors import CodecError


class UserError(CodecError):
    """A mistake on the command line (a bad K for this file, ...)."""


def progress_printer(label: str):
    """A progress callback printing every 10 % to stderr, for jobs of more than 250 frames."""
    last = [-1]

    def report(done: int, total: int) -> None:
        pct = int(100 * done / max(total, 1))
        if total > 250 and pct // 10 != last[0]:
            last[0] = pct // 10
            print(f"{label}: {pct}% ({done}/{total} frames)", file=sys.stderr)

    return report


def load(args: argparse.Namespace):
    from ..weights.load import load_codec

    codec = load_codec(args.weights, args.device)
    if codec.fallback_reason:
        print(f"note: {codec.fallback_reason}; using the bundled demo codec", file=sys.stderr)
    print(f"model: {codec.description} on {codec.device}", file=sys.stderr)
    return codec


def warn(warnings) -> None:
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)


def checked_k(codec, k: int | None) -> int:
    if k is None:
        return codec.num_codebooks
    return codec.check_k(k)


def cmd_roundtrip(args: argparse.Namespace) -> int:
    from ..session.operations import roundtrip_file

    check_output(args.output, args.input)
    SourceReader(args.input)  # a file that cannot be read fails before the model loads
    codec = load(args)
    k = checked_k(codec, args.codebooks)
    info = roundtrip_file(
        codec, args.input, args.output, k, progress_printer("roundtrip"), part=args.parts
    )
    warn(info.warnings)
    what = "" if args.parts == "all" else f", {args.parts} part only"
    print(
        f"wrote {args.output}: {info.channels} ch, {info.duration:.2f} s at "
        f"{info.sample_rate} Hz, {k} codebooks ({codec.bitrate(k) / 1000:.2f} kbps per "
        f"channel{what})",
        file=sys.stderr,
    )
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    from ..audio.codes_file import CodesFile, save_codes
    from ..session.operations import encode_file

    check_output(args.output, args.input)
    SourceReader(args.input)
    codec = load(args)
    k = checked_k(codec, args.codebooks)
    codes, info = encode_file(codec, args.input, k, progress_printer("encode"))
    warn(info.warnings)
    save_codes(args.output, CodesFile.of(codec.info, codes, info.sample_rate, info.num_samples))
    print(
        f"wrote {args.output}: codes {list(codes.shape)} (channels, codebooks, frames)",
        file=sys.stderr,
    )
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    from ..audio.codes_file import load_codes
    from ..session.operations import decode_to_file

    check_output(args.output, args.input)
    cf = load_codes(args.input)
    codec = load(args)
    if cf.codebook_size != codec.codebook_size:
        raise UserError(
            f"{args.input} was made with {cf.codebook_size}-entry codebooks; "
            f"this model has {codec.codebook_size} ({codec.description})"
        )
    codes = cf.codes
    if args.codebooks:
        if args.codebooks > codes.shape[1]:
            raise UserError(f"the file has only {codes.shape[1]} codebooks")
        codes = codes[:, : args.codebooks]
    decode_to_file(
        codec, codes, args.output, cf.sample_rate, cf.num_samples, progress_printer("decode")
    )
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ..report.make import make_report

    check_output(args.output, args.input, folder=True)
    SourceReader(args.input)  # a bad input fails before the model loads
    codec = load(args)
    rep = make_report(
        args.input,
        args.output,
        codec,
        args.codebooks,
        progress=progress_printer,
        log=lambda msg: print(msg, file=sys.stderr),
    )
    print(
        f"wrote {args.output}/: metrics.json, metrics.csv, report.png, "
        f"{len(rep['results'])} reconstructions ({rep['elapsed_s']:.1f} s)",
        file=sys.stderr,
    )
    return 0


def cmd_tokens(args: argparse.Namespace) -> int:
    """Per-codebook token statistics of one clip; with two, their alignment and agreement."""
    import json

    from ..analysis import tokens as tk
    from ..report.make import json_safe
    from ..session.operations import open_file

    paths = [args.a] + ([args.b] if args.b else [])
    for p in paths:
        SourceReader(p)
    codec = load(args)
    clips = []
    for p in paths:
        c = open_file(p, codec.sample_rate)
        if not 0 <= args.channel < c.channels:
            raise UserError(f"{p} has {c.channels} channel(s); --channel {args.channel} is not one")
        clips.append((c, tk.analyse_clip(codec, c.x24[args.channel])))
    info = codec.info
    rows = tk.clip_summary(
        clips[0][1].codes, info.codebook_size, info.frame_rate, clips[0][1].contrib
    )
    out = {
        "model": info.description,
        "semantic_codebooks": info.semantic_codebooks,
        "semantic_distilled_from": info.distilled or None,
        "channel": args.channel,
        "clips": [
            {"path": str(p), "frames": t.frames, "duration_s": c.duration}
            for p, (c, t) in zip(paths, clips, strict=True)
        ],
        "codebooks": rows,
    }
    if len(clips) == 2:
        geometry = tk.CodebookGeometry.of(codec.model)
        al, agree = tk.compare_clips(clips[0][1], clips[1][1], geometry, args.align_on)
        b_rows = tk.clip_summary(
            clips[1][1].codes, info.codebook_size, info.frame_rate, clips[1][1].contrib
        )
        for row, ag, rb in zip(rows, agree, b_rows, strict=True):
            row.update(agreement=ag["agreement"], distance=ag["distance"])
            row["b"] = {key: rb[key] for key in rb if key != "index"}
        out["alignment"] = al.to_dict()
    if args.json:
        print(json.dumps(json_safe(out), indent=1))
    else:
        print(tokens_table(out))
    return 0


def tokens_table(out: dict) -> str:
    """The `tokens` report as text: one line per codebook."""
    two = "alignment" in out
    lines = [f"model: {out['model']}"]
    if two:
        al = out["alignment"]
        how = f"offset {al['offset_frames']} frames" if al["method"] == "offset" else "DTW"
        lines.append(
            f"alignment: {how}, {al['pairs']} frame pairs, similarity {al['similarity']:.3f}"
        )
    head = "cb  usage  H bits  change  contrib" + ("  agree  dist" if two else "")
    lines.append(head)
    for r in out["codebooks"]:
        line = (
            f"{r['index']:2d}  {100 * r['usage']:4.1f}%  {r['entropy_bits']:6.2f}  "
            f"{100 * r['change_rate']:5.1f}%  {r['mean_contribution']:7.3f}"
        )
        if two:
            line += f"  {100 * r['agreement']:4.1f}%  {r['distance']:4.2f}"
        lines.append(line)
    return "\n".join(lines)


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import main as bench_main

    return bench_main(args)


def cmd_train_demo(args: argparse.Namespace) -> int:
    from ..training.train import train

    return train(args)


def cmd_eval_demo(args: argparse.Namespace) -> int:
    from ..training.evaluate import main as eval_main

    if args.output:
        check_output(args.output)
    return eval_main(args)


def cmd_listening_stats(args: argparse.Namespace) -> int:
    """Statistics of listening-test results files (codec.listening)."""
    import json

    from ..listening import report
    from ..listening.results import read_results
    from ..listening.stats import all_stats
    from ..report.make import json_safe

    ratings, answers = read_results(args.files)
    if not ratings and not answers:
        raise UserError(f"no ratings in {', '.join(args.files)}")
    stats = all_stats(ratings, answers)
    if args.json:
        print(json.dumps(json_safe(stats), indent=1))
    else:
        print(report.text(stats))
    return 0
