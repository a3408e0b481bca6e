"""Loading codec weights: one `load_codec(source)` for every kind of source.

Sources:
  * a Hugging Face repo id (default `kyutai/mimi` at a pinned revision), via huggingface_hub;
  * a local folder holding `config.json` (HF or ours) and `model.safetensors`;
  * a `.safetensors` file in Kyutai's native layout or in the HF layout (detected from the
    tensor names); its config comes from the file's metadata, a `config.json` beside it, or
    else the released Mimi config;
  * `"demo"`: the bundled demo codec in `resources/demo/`;
  * `"random:<preset>"` (`"tiny"` for short): seeded random weights, for tests and benchmarks;
  * `"auto"`: kyutai/mimi, else the bundled demo, saying why.
Only safetensors are read, never pickle. Loading is strict: every expected tensor must be
present with its exact shape, and nothing extra may be left over.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from ..errors import WeightsError
from ..model.codec import MimiCodec
from ..model.config import CodecConfig
from ..model.mimi import MimiModel
from . import hub
from .convert import HF_MARKERS, NATIVE_MARKERS, hf_to_native
from .random_init import randomize

DEFAULT_SOURCE = "auto"  # kyutai/mimi, else the bundled demo (saying why)
RESOURCES = Path(__file__).resolve().parent.parent.parent / "resources"
DEMO_DIR = RESOURCES / "demo"
CONFIG_META_KEY = "codec_config"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU. 'gpu' is an alias of 'cuda'."""
    if isinstance(device, torch.device):
        return device
    d = device.lower()
    if d == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if d == "gpu":
        d = "cuda"
    if d.startswith("cuda") and not torch.cuda.is_available():
        raise WeightsError("CUDA was requested but no GPU is available to torch")
    try:
        return torch.device(d)
    except RuntimeError as e:
        raise WeightsError(f"unknown device {device!r}") from e


# ---- file format ----------------------------------------------------------------------------
def _sniff(path: Path) -> str:
    """'safetensors', 'pickle', or 'unknown', from the first bytes of the file."""
    with path.open("rb") as f:
        head = f.read(16)
    if head[:2] == b"PK" or head[:1] == b"\x80":
        return "pickle"
    if len(head) >= 9:
        (n,) = struct.unpack("<Q", head[:8])
        if 2 <= n <= 100_000_000 and head[8:9] == b"{":
            return "safetensors"
    return "unknown"


def read_safetensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file; WeightsError for anything else."""
    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"weights file not found: {p}")
    try:
        if p.stat().st_size == 0:
            raise WeightsError(f"{p.name} is empty (0 bytes): an interrupted download?")
        kind = _sniff(p)
    except OSError as e:  # unreadable (permissions), vanished meanwhile...
        raise WeightsError(f"cannot read {p}: {e.strerror or e}") from e
    if kind == "pickle":
        raise WeightsError(
            f"{p.name} is a pickle/torch file; only .safetensors weights are "
            f"read (pickle can run code)"
        )
    if kind != "safetensors":
        raise WeightsError(f"{p.name} is not a safetensors file")
    try:
        from safetensors import safe_open

        with safe_open(str(p), framework="pt") as f:
            meta = dict(f.metadata() or {})
        tensors = load_file(str(p))
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(f"{p.name}: damaged or truncated safetensors file ({e})") from e
    return tensors, meta


def detect_format(names: list[str] | dict) -> str:
    """'native' (Kyutai) or 'hf' (transformers), from the tensor names."""
    keys = list(names)
    if any(m in k for k in keys for m in NATIVE_MARKERS):
        return "native"
    if any(m in k for k in keys for m in HF_MARKERS):
        return "hf"
    if any(".model." in k or k.startswith(("encoder.model.", "decoder.model.")) for k in keys):
        return "native"
    if any(".layers." in k for k in keys):
        return "hf"
    raise WeightsError("unrecognised weights: no Mimi tensor names found")


def build_model(cfg: CodecConfig, sd: dict[str, torch.Tensor], fmt: str | None = None) -> MimiModel:
    """A model for `cfg` with the tensors of `sd` (native or HF names), checked strictly.

    The expected names and shapes come from a shell of the model on the meta device (no
    memory), so a config that cannot describe a codec, or one whose sizes are absurd, fails
    here with a WeightsError before anything is allocated.
    """
    try:
        with torch.device("meta"):
            shell = MimiModel(cfg)
    except (ValueError, TypeError, ArithmeticError, RuntimeError) as e:
        raise WeightsError(f"the {cfg.name} config does not describe a valid codec: {e}") from e
    expected = shell.state_dict()
    fmt = fmt or detect_format(sd)
    unused: list[str] = []
    if fmt == "hf":
        sd, unused = hf_to_native(sd, list(expected), cfg.num_heads)
    else:
        unused = sorted(k for k in sd if k not in expected)
    missing = [k for k in expected if k not in sd]
    bad = [
        f"{k} {list(sd[k].shape)} (expected {list(v.shape)})"
        for k, v in expected.items()
        if k in sd and sd[k].shape != v.shape
    ]
    problems = []
    if bad:
        problems.append(f"{len(bad)} misshapen: " + ", ".join(bad[:3]))
    if missing:
        problems.append(f"{len(missing)} missing: " + ", ".join(missing[:3]))
    if unused:
        problems.append(f"{len(unused)} unexpected: " + ", ".join(unused[:3]))
    if problems:
        raise WeightsError(
            f"weights do not fit the {cfg.name} config ({fmt} format): " + "; ".join(problems)
        )
    model = MimiModel(cfg)  # real tensors: their sizes now match the file's
    model.load_state_dict({k: v.to(torch.float32) for k, v in sd.items()}, strict=True)
    return model


def _config_for(path: Path, meta: dict[str, str]) -> CodecConfig:
    try:
        if CONFIG_META_KEY in meta:
            return CodecConfig.from_dict(json.loads(meta[CONFIG_META_KEY]))
        sidecar = path.parent / "config.json"
        if sidecar.is_file():
            return CodecConfig.load_json(sidecar)
    except (ValueError, TypeError, ArithmeticError, AttributeError) as e:
        raise WeightsError(f"bad codec config for {path.name}: {e}") from e
    return CodecConfig.mimi()


def load_file_codec(path: str | Path, cfg: CodecConfig | None = None) -> MimiModel:
    p = Path(path)
    sd, meta = read_safetensors(p)
    return build_model(cfg or _config_for(p, meta), sd)


def load_folder(folder: str | Path) -> MimiModel:
    d = Path(folder)
    cfg_path = d / "config.json"
    if not cfg_path.is_file():
        raise WeightsError(f"{d} has no config.json")
    weights = [d / n for n in ("model.safetensors", "codec.safetensors") if (d / n).is_file()]
    if not weights:
        raise WeightsError(f"{d} has no model.safetensors")
    try:
        cfg = CodecConfig.load_json(cfg_path)
    except (ValueError, TypeError, ArithmeticError, AttributeError) as e:
        raise WeightsError(f"bad config.json in {d}: {e}") from e
    return load_file_codec(weights[0], cfg)


def load_model(
    source: str | os.PathLike = DEFAULT_SOURCE, progress: hub.Progress | None = None
) -> tuple[MimiModel, str]:
    """(model on CPU, description) for any supported source but "auto" (see load_codec)."""
    s = str(source)
    if s == "demo":
        if not (DEMO_DIR / "config.json").is_file():
            raise WeightsError("the bundled demo codec is missing (resources/demo)")
        return load_folder(DEMO_DIR), DEMO_DESCRIPTION
    if s == "tiny" or s.startswith("random:"):
        preset = s.split(":", 1)[1] if ":" in s else "tiny"
        seed = 0
        if "@" in preset:
            preset, seed_s = preset.split("@", 1)
            seed = int(seed_s)
        presets = {"tiny": CodecConfig.tiny, "mimi": CodecConfig.mimi, "demo": CodecConfig.demo}
        if preset not in presets:
            raise WeightsError(f"unknown random preset {preset!r} (tiny, mimi, demo)")
        return randomize(MimiModel(presets[preset]()), seed), f"random {preset} weights"
    p = Path(s).expanduser()
    if p.is_dir():
        return load_folder(p), f"local folder {p}"
    if p.suffix or p.exists() or s.startswith((".", "/", "~")):
        if not p.exists():
            raise WeightsError(f"weights file not found: {p}")
        return load_file_codec(p), f"local file {p.name}"
    if s.count("/") == 1:
        repo, _, rev = s.partition("@")
        revision = rev or (hub.HUB_REVISION if repo == hub.HUB_REPO else None)
        folder = hub.hub_download(repo, revision, progress)
        label = "Mimi" if repo == hub.HUB_REPO else repo
        return load_folder(folder), f"{label} ({repo}@{(revision or 'main')[:7]})"
    raise WeightsError(
        f"unknown model source {s!r}: use 'auto', a hub repo id, a folder, a "
        f".safetensors file, 'demo' or 'random:tiny'"
    )


DEMO_DESCRIPTION = "demo codec (bundled, small; not Mimi quality)"


def semantic_distillation(source: str) -> str:
    """What the semantic codebook of a source was distilled from ('' when unknown)."""
    if source == hub.HUB_REPO or source.startswith(hub.HUB_REPO + "@"):
        return "WavLM (self-supervised speech features), as in the Mimi paper"
    if source == "demo":
        try:
            recipe = json.loads((DEMO_DIR / "recipe.json").read_text())
        except (OSError, ValueError):
            return ""
        return str(recipe.get("semantic_distillation", ""))
    return ""


def load_codec(
    source: str | os.PathLike = DEFAULT_SOURCE,
    device: str | torch.device = "auto",
    progress: hub.Progress | None = None,
) -> MimiCodec:
    """Load a codec from any supported source onto `device` ('auto', 'cpu', 'cuda', ...).

    "auto" tries Mimi from the hub (the cache first; an unreachable hub fails within
    seconds) and falls back to the bundled demo codec; `codec.info.fallback_reason` then
    says why, and the description says so too.
    """
    dev = resolve_device(device)
    s, fallback = str(source), ""
    if s == "auto":
        try:
            model, desc = load_model(hub.HUB_REPO, progress)
            s = hub.HUB_REPO
        except WeightsError as hub_error:
            try:
                model, desc = load_model("demo")
            except WeightsError as demo_error:
                raise WeightsError(f"{hub_error}; and {demo_error}") from hub_error
            s, fallback = "demo", str(hub_error)
    else:
        model, desc = load_model(s, progress)
    return MimiCodec(
        model.to(dev),
        description=desc,
        source=s,
        fallback_reason=fallback,
        distilled=semantic_distillation(s),
    )


def is_fallback(codec: MimiCodec) -> bool:
    """True when "auto" resolution fell back from the hub to the demo."""
    return bool(codec.fallback_reason)
