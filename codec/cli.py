"""Command-line interface: roundtrip, encode, decode, bench (no GUI, no Qt imports).

User errors print one line on stderr (`mimi-explorer: error: ...`) and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .errors import CodecError

PROG = "mimi-explorer"
COMMANDS = ("roundtrip", "encode", "decode", "report", "bench", "train-demo", "eval-demo")


class UserError(Exception):
    pass


def _progress(label: str):
    """A progress callback printing to stderr, only when it is a terminal or the job is long."""
    last = [-1]

    def report(done: int, total: int) -> None:
        pct = int(100 * done / max(total, 1))
        if total > 250 and pct // 10 != last[0]:
            last[0] = pct // 10
            print(f"{label}: {pct}% ({done}/{total} frames)", file=sys.stderr)

    return report


def _load(args: argparse.Namespace):
    from .weights import load_codec

    codec = load_codec(args.weights, args.device)
    print(f"model: {codec.description} on {codec.device}", file=sys.stderr)
    return codec


def _warn(warnings: list[str]) -> None:
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)


def cmd_roundtrip(args: argparse.Namespace) -> int:
    from .audio import load_audio, write_audio
    from .long_file import is_long, stream_roundtrip
    from .pipeline import decode_signal, encode_signal, from_codec_rate, to_codec_rate

    if is_long(args.input):  # blocks in, blocks out: memory does not grow with the length
        codec = _load(args)
        k = args.codebooks or codec.num_codebooks
        info = stream_roundtrip(codec, args.input, args.output, k, progress=_progress("roundtrip"))
        _warn(info.warnings)
        print(
            f"wrote {args.output}: {info.channels} ch, {info.duration:.2f} s at "
            f"{info.sample_rate} Hz, {k} codebooks ({codec.bitrate(k) / 1000:.2f} kbps "
            f"per channel; streamed)",
            file=sys.stderr,
        )
        return 0
    audio = load_audio(args.input)
    for w in audio.warnings:
        print(f"warning: {w}", file=sys.stderr)
    codec = _load(args)
    k = args.codebooks or codec.num_codebooks
    x24 = to_codec_rate(codec, audio.samples, audio.sample_rate)
    codes = encode_signal(codec, x24, k, progress=_progress("encode"))
    y24 = decode_signal(codec, codes, x24.shape[1], progress=_progress("decode"))
    y = from_codec_rate(y24, codec.sample_rate, audio.sample_rate, audio.num_samples)
    write_audio(args.output, y, audio.sample_rate)
    print(
        f"wrote {args.output}: {audio.channels} ch, {audio.duration:.2f} s at "
        f"{audio.sample_rate} Hz, {k} codebooks ({codec.bitrate(k) / 1000:.2f} kbps "
        f"per channel)",
        file=sys.stderr,
    )
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    from .audio import load_audio
    from .codes_io import CodesFile, save_codes
    from .long_file import is_long, stream_encode
    from .pipeline import encode_signal, to_codec_rate

    if is_long(args.input):  # only the codes (11.5 MB per channel-hour) are held whole
        codec = _load(args)
        codes, info = stream_encode(codec, args.input, args.codebooks, _progress("encode"))
        _warn(info.warnings)
        rate, length = info.sample_rate, info.num_samples
    else:
        audio = load_audio(args.input)
        _warn(audio.warnings)
        codec = _load(args)
        x24 = to_codec_rate(codec, audio.samples, audio.sample_rate)
        codes = encode_signal(codec, x24, args.codebooks, progress=_progress("encode"))
        rate, length = audio.sample_rate, audio.num_samples
    save_codes(
        args.output,
        CodesFile(
            codes=codes,
            sample_rate=rate,
            num_samples=length,
            codec_sample_rate=codec.sample_rate,
            frame_rate=codec.frame_rate,
            codebook_size=codec.codebook_size,
            model=codec.description,
        ),
    )
    print(
        f"wrote {args.output}: codes {list(codes.shape)} (channels, codebooks, frames)",
        file=sys.stderr,
    )
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    from .codes_io import load_codes
    from .long_file import write_resampled
    from .pipeline import decode_signal

    cf = load_codes(args.input)
    codec = _load(args)
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
    n24 = round(cf.num_samples * codec.sample_rate / cf.sample_rate)
    y24 = decode_signal(codec, codes, n24, progress=_progress("decode"))
    # resampled and written block by block: two hours of 48 kHz stereo are never held at
    # the output rate (the same samples as resampling the whole signal; tested)
    write_resampled(y24, codec.sample_rate, args.output, cf.sample_rate, cf.num_samples)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .audio import load_audio
    from .long_file import is_long
    from .report import make_report

    # a bad input fails before the model loads; a long one is read block by block later
    audio = None if is_long(args.input) else load_audio(args.input)
    codec = _load(args)
    rep = make_report(
        args.input,
        args.output,
        codec,
        args.codebooks,
        progress=_progress,
        log=lambda msg: print(msg, file=sys.stderr),
        audio=audio,
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
    from .train_demo import train

    return train(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Mimi Explorer: run the GUI (`main.py [FILE]`) or one of the commands below.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def model_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--weights",
            default="auto",
            metavar="SRC",
            help="model: 'auto' (kyutai/mimi, else the bundled demo), a hub repo id, a "
            "folder, a .safetensors file, 'demo' or 'random:tiny' (default: auto)",
        )
        sp.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")

    def k_arg(v: str) -> int:
        k = int(v)
        if not 1 <= k <= 32:
            raise argparse.ArgumentTypeError("must be 1..32")
        return k

    def k_option(sp: argparse.ArgumentParser, text: str) -> None:
        sp.add_argument("--codebooks", type=k_arg, default=None, metavar="K", help=text)

    sp = sub.add_parser("roundtrip", help="encode and decode a file; write the reconstruction")
    sp.add_argument("input", help="any file soundfile reads (WAV, FLAC, OGG, MP3, ...)")
    sp.add_argument("-o", "--output", required=True, help="output .wav or .flac")
    k_option(sp, "codebooks to decode, 1..32 (default: all)")
    model_args(sp)
    sp.set_defaults(func=cmd_roundtrip)

    sp = sub.add_parser("encode", help="encode a file to codes (.safetensors)")
    sp.add_argument("input")
    sp.add_argument("-o", "--output", required=True, help="codes file (.safetensors)")
    k_option(sp, "codebooks to encode, 1..32 (default: all)")
    model_args(sp)
    sp.set_defaults(func=cmd_encode)

    sp = sub.add_parser("decode", help="decode a codes file to audio")
    sp.add_argument("input", help="codes file written by `encode`")
    sp.add_argument("-o", "--output", required=True, help="output .wav or .flac")
    k_option(sp, "decode only the first K codebooks")
    model_args(sp)
    sp.set_defaults(func=cmd_decode)

    def k_list(v: str) -> list[int]:
        try:
            return [k_arg(x) for x in v.split(",") if x.strip()]
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"a comma-separated list of 1..32 ({e})") from e

    sp = sub.add_parser("report", help="metrics, audio, codes and a figure for several K")
    sp.add_argument("input", help="any file soundfile reads")
    sp.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    sp.add_argument(
        "--codebooks",
        type=k_list,
        default=None,
        metavar="K,K,...",
        help="codebook counts to compare (default: 1,2,4,8,16,32)",
    )
    model_args(sp)
    sp.set_defaults(func=cmd_report)

    sp = sub.add_parser("bench", help="speed of batch and streaming coding on this machine")
    sp.add_argument("--seconds", type=float, default=10.0, help="audio length (default 10)")
    sp.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    sp.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    sp.add_argument(
        "--weights",
        default="random:mimi",
        metavar="SRC",
        help="model to time (default: random weights, released config)",
    )
    sp.add_argument("--frames", type=int, default=60, help="streaming frames timed per K")
    sp.add_argument("--repeats", type=int, default=3, help="batch repeats (best is kept)")
    sp.add_argument("--no-hf", action="store_true", help="skip the transformers reference")
    sp.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sp.set_defaults(func=cmd_bench)

    from .train_demo import add_arguments

    sp = sub.add_parser("train-demo", help="train the bundled demo codec (resumable)")
    add_arguments(sp)
    sp.set_defaults(func=cmd_train_demo)

    from .eval_demo import add_arguments as add_eval_arguments
    from .eval_demo import main as eval_main

    sp = sub.add_parser("eval-demo", help="quality table of a codec on held-out speech")
    add_eval_arguments(sp)
    sp.set_defaults(func=eval_main)
    return p


def run(argv: Sequence[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except (CodecError, UserError, ValueError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"{PROG}: error: out of memory", file=sys.stderr)
        return 2
    except OSError as e:
        print(
            f"{PROG}: error: {e.strerror or e} ({getattr(e, 'filename', '') or ''})",
            file=sys.stderr,
        )
        return 2
