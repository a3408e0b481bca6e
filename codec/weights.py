"""Loading and saving codec weights: one `load_codec(source)` for every kind of source.

Sources:
  * a Hugging Face repo id (default `kyutai/mimi` at a pinned revision), via huggingface_hub;
  * a local folder holding `config.json` (HF or ours) and `model.safetensors`;
  * a `.safetensors` file in Kyutai's native layout or in the HF layout (detected from the
    tensor names); its config comes from the file's metadata, a `config.json` beside it, or
    else the released Mimi config;
  * `"demo"`: the bundled demo codec in `resources/demo/`;
  * `"random:<preset>"` (`"tiny"` for short): seeded random weights, for tests and benchmarks.
Only safetensors are read, never pickle. Loading is strict: every expected tensor must be
present with its exact shape, and nothing extra may be left over.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .atomic import atomic_write
from .config import CodecConfig
from .convert import HF_MARKERS, NATIVE_MARKERS, hf_to_native, native_to_hf
from .errors import WeightsError
from .init import randomize
from .mimi_codec import MimiCodec
from .model import MimiModel

HUB_REPO = "kyutai/mimi"
HUB_REVISION = "89091b3e466eb6a9d11e537bf26b144f194978f7"
DEFAULT_SOURCE = "auto"  # kyutai/mimi, else the bundled demo (saying why)
RESOURCES = Path(__file__).resolve().parent.parent / "resources"
DEMO_DIR = RESOURCES / "demo"
# hub-cache files whose sha256 was checked, keyed by blob name, holding "size mtime_ns"
VERIFIED_DIR = Path(
    os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"), "mimi-explorer", "verified"
)
CONFIG_META_KEY = "codec_config"

Progress = Callable[[str, int, int], None]  # (what, bytes done, bytes total)


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


def hub_download(repo: str, revision: str | None, progress: Progress | None = None) -> Path:
    """Fetch config.json and model.safetensors into the huggingface_hub cache; the folder."""
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    except ImportError as e:  # pragma: no cover - a dependency
        raise WeightsError("huggingface_hub is not installed") from e
    if not _cached(repo, revision):
        _probe_hub()
    folder = None
    for name in ("config.json", "model.safetensors"):
        try:
            kwargs = {}
            if progress is not None:
                kwargs["tqdm_class"] = _tqdm_for(progress, name)
            got = Path(hf_hub_download(repo, name, revision=revision, **kwargs))
            if blob_is_corrupt(got):
                # the hub names LFS blobs by their sha256: fetch this one again
                got = Path(hf_hub_download(repo, name, revision=revision, force_download=True))
                if blob_is_corrupt(got):
                    raise WeightsError(
                        f"the cached {name} of {repo} is corrupted (its sha256 does not match "
                        f"the hub's) and downloading it again did not help: delete {got}"
                    )
        except TypeError:
            got = Path(hf_hub_download(repo, name, revision=revision))
        except (LocalEntryNotFoundError, HfHubHTTPError, OSError, ValueError) as e:
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise WeightsError(f"cannot get {repo}/{name} from the Hugging Face hub: {msg}") from e
        folder = got.parent
    assert folder is not None
    return folder


def blob_is_corrupt(path: Path) -> bool:
    """True when a hub-cache file's content does not match the sha256 its blob is named by.

    huggingface_hub stores each file as blobs/<etag> and links to it from snapshots/; for
    files kept in Git LFS (the weights) the etag is the content's sha256. Files with a git
    etag (40 hex digits, e.g. config.json) cannot be checked this way and pass. A file that
    checked out once is remembered by (size, mtime), so the 385 MB hash runs once.
    """
    import hashlib
    import re

    blob = Path(os.path.realpath(path))
    if not re.fullmatch(r"[0-9a-f]{64}", blob.name):
        return False
    st = blob.stat()
    marker = VERIFIED_DIR / blob.name  # our own cache: the hub's stays as the hub made it
    stamp = f"{st.st_size} {st.st_mtime_ns}"
    with contextlib.suppress(OSError):
        if marker.read_text() == stamp:
            return False
    h = hashlib.sha256()
    with open(blob, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    if h.hexdigest() != blob.name:
        return True
    with contextlib.suppress(OSError):  # unwritable: the check simply runs again next time
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(stamp)
    return False


def _cached(repo: str, revision: str | None) -> bool:
    """True when both files are already in the local huggingface_hub cache."""
    from huggingface_hub import try_to_load_from_cache

    return all(
        isinstance(try_to_load_from_cache(repo, n, revision=revision), str)
        for n in ("config.json", "model.safetensors")
    )


def _probe_hub(timeout: float = 3.0) -> None:
    """Fail within `timeout` seconds when the hub cannot be reached at all.

    huggingface_hub retries for about 23 s before giving up on a dead network; a plain
    TCP connect tells us the same in a few seconds. HF_HUB_OFFLINE=1 is honoured at once.
    """
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        raise WeightsError(
            "cannot get the model from the Hugging Face hub: HF_HUB_OFFLINE=1 "
            "is set and it is not in the local cache"
        )
    url = urlparse(constants.ENDPOINT)
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as e:
        raise WeightsError(
            f"cannot get the model from the Hugging Face hub: {host} is not "
            f"reachable ({e.strerror or e})"
        ) from e


def _tqdm_for(progress: Progress, what: str):
    from tqdm.auto import tqdm

    class _Report(tqdm):  # type: ignore[misc]
        def update(self, n: int | float | None = 1):
            out = super().update(n)
            progress(what, int(self.n), int(self.total or 0))
            return out

    return _Report


def load_model(
    source: str | os.PathLike = DEFAULT_SOURCE, progress: Progress | None = None
) -> tuple[MimiModel, str]:
    """(model on CPU, description) for any supported source.

    "auto" tries Mimi from the hub (cache first; an unreachable hub fails within seconds)
    and falls back to the bundled demo; the description then says why.
    """
    s = str(source)
    if s == "auto":
        try:
            return load_model(HUB_REPO, progress)
        except WeightsError as hub_error:
            try:
                model, desc = load_model("demo")
            except WeightsError as demo_error:
                raise WeightsError(f"{hub_error}; and {demo_error}") from hub_error
            return model, f"{desc} — Mimi unavailable: {hub_error}"
    if s == "demo":
        if not (DEMO_DIR / "config.json").is_file():
            raise WeightsError("the bundled demo codec is missing (resources/demo)")
        return load_folder(DEMO_DIR), "demo codec (bundled, small; not Mimi quality)"
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
        revision = rev or (HUB_REVISION if repo == HUB_REPO else None)
        folder = hub_download(repo, revision, progress)
        label = "Mimi" if repo == HUB_REPO else repo
        return load_folder(folder), f"{label} ({repo}@{(revision or 'main')[:7]})"
    raise WeightsError(
        f"unknown model source {s!r}: use a hub repo id, a folder, a "
        f".safetensors file, 'demo' or 'random:tiny'"
    )


def load_codec(
    source: str | os.PathLike = DEFAULT_SOURCE,
    device: str | torch.device = "auto",
    progress: Progress | None = None,
) -> MimiCodec:
    """Load a codec from any supported source onto `device` ('auto', 'cpu', 'cuda', ...)."""
    dev = resolve_device(device)
    model, desc = load_model(source, progress)
    return MimiCodec(model.to(dev), description=desc, source=str(source))


def is_fallback(codec: MimiCodec) -> bool:
    """True when "auto" resolution fell back from the hub to the demo."""
    return "Mimi unavailable:" in codec.description


def save_codec(codec: MimiCodec | MimiModel, path: str | Path, fmt: str = "native") -> Path:
    """Write weights as safetensors with the config in the metadata and in config.json.

    `path` is a `.safetensors` file (config.json goes beside it) or a folder (then
    `model.safetensors` + `config.json`). `fmt` is 'native' (Kyutai names) or 'hf'.
    The files are written to a temporary name first and then renamed.
    """
    model = codec.model if isinstance(codec, MimiCodec) else codec
    p = Path(path)
    if p.suffix != ".safetensors":
        p.mkdir(parents=True, exist_ok=True)
        p = p / "model.safetensors"
    p.parent.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    cfg = model.cfg
    if fmt == "hf":
        sd = native_to_hf(sd, cfg.num_heads)
        cfg_dict = cfg.to_hf_dict()
    elif fmt == "native":
        cfg_dict = cfg.to_dict()
    else:
        raise ValueError(f"fmt must be 'native' or 'hf', not {fmt!r}")
    # each file appears complete or not at all (temporary beside it, then renamed)
    with atomic_write(p) as tmp:
        meta = {CONFIG_META_KEY: json.dumps(cfg.to_dict()), "format": fmt}
        save_file(sd, str(tmp), metadata=meta)
    with atomic_write(p.parent / "config.json") as tmp:
        tmp.write_text(json.dumps(cfg_dict, indent=2) + "\n")
    return p
