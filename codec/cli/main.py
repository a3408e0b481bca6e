"""The command line: `main.py COMMAND ...` (no GUI, no Qt imports).

User errors print one line on stderr (`mimi-explorer: error: ...`) and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import CodecError
from . import commands as cmd

PROG = "mimi-explorer"
COMMANDS = (
    "roundtrip",
    "encode",
    "decode",
    "report",
    "tokens",
    "bench",
    "train-demo",
    "eval-demo",
    "listening-stats",
)


def _k(v: str) -> int:
    try:
        k = int(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {v!r}") from None
    if k < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return k  # the model's own count is checked once it is loaded


def _k_list(v: str) -> list[int]:
    return [_k(x) for x in v.split(",") if x.strip()]


def add_model_args(sp: argparse.ArgumentParser) -> None:
    """--weights and --device, shared by every command that loads a model."""
    sp.add_argument(
        "--weights",
        default="auto",
        metavar="SRC",
        help="model: 'auto' (kyutai/mimi, else the bundled demo), a hub repo id, a "
        "folder, a .safetensors file, 'demo' or 'random:tiny' (default: auto)",
    )
    sp.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")


def _coding_commands(sub) -> None:
    sp = sub.add_parser("roundtrip", help="encode and decode a file; write the reconstruction")
    sp.add_argument("input", help="any file soundfile reads (WAV, FLAC, OGG, MP3, ...)")
    sp.add_argument("-o", "--output", required=True, help="output .wav or .flac")
    sp.add_argument("--codebooks", type=_k, metavar="K", help="codebooks decoded (default: all)")
    sp.add_argument(
        "--parts",
        choices=("all", "semantic", "acoustic"),
        default="all",
        help="decode both groups of the split quantizer (all), only codebook 0's part "
        "(semantic) or only codebooks 1..K-1's (acoustic) (default: all)",
    )
    add_model_args(sp)
    sp.set_defaults(func=cmd.cmd_roundtrip)

    sp = sub.add_parser("encode", help="encode a file to codes (.safetensors)")
    sp.add_argument("input")
    sp.add_argument("-o", "--output", required=True, help="codes file (.safetensors)")
    sp.add_argument("--codebooks", type=_k, metavar="K", help="codebooks kept (default: all)")
    add_model_args(sp)
    sp.set_defaults(func=cmd.cmd_encode)

    sp = sub.add_parser("decode", help="decode a codes file to audio")
    sp.add_argument("input", help="codes file written by `encode`")
    sp.add_argument("-o", "--output", required=True, help="output .wav or .flac")
    sp.add_argument("--codebooks", type=_k, metavar="K", help="decode only the first K")
    add_model_args(sp)
    sp.set_defaults(func=cmd.cmd_decode)

    sp = sub.add_parser("report", help="metrics, audio, codes and a figure for several K")
    sp.add_argument("input", help="any file soundfile reads")
    sp.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    sp.add_argument(
        "--codebooks",
        type=_k_list,
        metavar="K,K,...",
        help="codebook counts to compare (default: 1,2,4,8,16 and all)",
    )
    add_model_args(sp)
    sp.set_defaults(func=cmd.cmd_report)

    sp = sub.add_parser(
        "tokens", help="per-codebook token statistics of a clip; of two, their agreement"
    )
    sp.add_argument("a", metavar="A", help="a clip (any file soundfile reads)")
    sp.add_argument("b", metavar="B", nargs="?", help="a second clip to compare A with")
    sp.add_argument("--channel", type=int, default=0, help="the channel to analyse (default 0)")
    sp.add_argument(
        "--align-on",
        choices=("latent", "semantic"),
        default="latent",
        help="align B to A on the encoder's latents (default) or on codebook 0's entries",
    )
    sp.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_model_args(sp)
    sp.set_defaults(func=cmd.cmd_tokens)


def _tool_commands(sub) -> None:
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
    # the moshi reference's options (bench.py is imported only when the bench runs)
    sp.add_argument(
        "--moshi-python",
        metavar="PYTHON",
        help="interpreter of an environment with moshi installed: streaming is then timed "
        "against moshi, interleaved (default: $MIMI_BENCH_MOSHI_PYTHON; none: skipped)",
    )
    sp.add_argument(
        "--moshi-frames", type=int, default=60, help="frames timed per side against moshi"
    )
    sp.add_argument(
        "--no-profile", action="store_true", help="against moshi: skip the per-part profile"
    )
    sp.set_defaults(func=cmd.cmd_bench)

    from ..training.evaluate import add_arguments as add_eval_arguments
    from ..training.train import add_arguments as add_train_arguments

    sp = sub.add_parser("train-demo", help="train the bundled demo codec (resumable)")
    add_train_arguments(sp)
    sp.set_defaults(func=cmd.cmd_train_demo)

    sp = sub.add_parser("eval-demo", help="quality table of a codec on held-out speech")
    add_eval_arguments(sp)
    sp.set_defaults(func=cmd.cmd_eval_demo)

    sp = sub.add_parser(
        "listening-stats",
        help="statistics of ABX and MUSHRA results (ours or webMUSHRA's CSV)",
        description="MUSHRA: BS.1534-3 post-screening, then n, mean, median and 95 % CI per "
        "condition, overall and per item. ABX: per pair, correct of trials and the one-sided "
        "binomial p-value.",
    )
    sp.add_argument("files", nargs="+", metavar="FILE.csv", help="results files (any mix)")
    sp.add_argument("--json", action="store_true", help="print JSON instead of text")
    sp.set_defaults(func=cmd.cmd_listening_stats)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Mimi Explorer: run the GUI (`main.py [FILE]`) or one of the commands below.",
        epilog="Also: `main.py live [--seconds S] [--json]`, the live round trip (microphone "
        "-> codec -> speaker) without a window; `main.py live --help` for its options.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    _coding_commands(sub)
    _tool_commands(sub)
    return p


def run(argv: Sequence[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except (CodecError, ValueError) as e:
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
