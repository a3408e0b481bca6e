"""Weights from the Hugging Face hub: download into its cache, checked by content.

`hub_download` fails within seconds when the hub cannot be reached (huggingface_hub alone
retries for about 23 s) and honours HF_HUB_OFFLINE at once; a cached weights file whose
content does not match the sha256 its blob is named by is downloaded again.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from ..errors import WeightsError

HUB_REPO = "kyutai/mimi"
HUB_REVISION = "89091b3e466eb6a9d11e537bf26b144f194978f7"
# hub-cache files whose sha256 was checked, keyed by blob name, holding "size mtime_ns"
VERIFIED_DIR = Path(
    os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"), "mimi-explorer", "verified"
)

Progress = Callable[[str, int, int], None]  # (what, bytes done, bytes total)


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
