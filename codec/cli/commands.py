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
    info = roundtrip_file(codec, args.input, args.output, k, progress=progress_printer("roundtrip"))
    warn(info.warnings)
    print(
        f"wrote {args.output}: {info.channels} ch, {info.duration:.2f} s at "
        f"{info.sample_rate} Hz, {k} codebooks ({codec.bitrate(k) / 1000:.2f} kbps per channel)",
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
