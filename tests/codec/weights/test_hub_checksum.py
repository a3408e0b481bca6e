"""A corrupted weights file in the hub cache is detected by its sha256 and fetched again."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import codec.weights.hub as weights
from codec.errors import WeightsError


@pytest.fixture(autouse=True)
def _own_verified_dir(monkeypatch, tmp_path):
    monkeypatch.setattr(weights, "VERIFIED_DIR", tmp_path / "verified")


def _cache_entry(root: Path, name: str, content: bytes, blob_name: str | None = None) -> Path:
    """A hub-cache-like layout: blobs/<sha256> and snapshots/<rev>/<name> linking to it."""
    blob = root / "blobs" / (blob_name or hashlib.sha256(content).hexdigest())
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(content)
    link = root / "snapshots" / "rev" / name
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(blob)
    return link


def test_blob_check(tmp_path):
    good = _cache_entry(tmp_path / "a", "model.safetensors", b"weights" * 1000)
    assert not weights.blob_is_corrupt(good)
    assert not weights.blob_is_corrupt(good)  # remembered, and still fine
    sha = hashlib.sha256(b"weights" * 1000).hexdigest()
    bad = _cache_entry(tmp_path / "b", "model.safetensors", b"weighTs" * 1000, blob_name=sha)
    assert weights.blob_is_corrupt(bad)
    # a file changed after it was verified is hashed again
    blob = Path(good).resolve()
    blob.write_bytes(b"weights" * 999 + b"xxxxxxx")
    assert weights.blob_is_corrupt(good)
    # git-etag files (40 hex digits) cannot be checked and pass
    cfg = _cache_entry(tmp_path / "c", "config.json", b"{}", blob_name="a" * 40)
    assert not weights.blob_is_corrupt(cfg)


def _fake_hub(monkeypatch, tmp_path, repair: bool) -> list:
    content = b"weights" * 1000
    sha = hashlib.sha256(content).hexdigest()
    calls = []

    def download(repo, name, revision=None, force_download=False, **kwargs):
        calls.append((name, force_download))
        if name == "config.json":
            return str(_cache_entry(tmp_path, name, b"{}", blob_name="b" * 40))
        data = content if (force_download and repair) else b"damaged" * 1000
        return str(_cache_entry(tmp_path, name, data, blob_name=sha))

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    monkeypatch.setattr(weights, "_cached", lambda repo, rev: True)
    return calls


def test_corrupt_cached_weights_are_downloaded_again(monkeypatch, tmp_path):
    calls = _fake_hub(monkeypatch, tmp_path, repair=True)
    folder = weights.hub_download("kyutai/mimi", weights.HUB_REVISION)
    assert ("model.safetensors", True) in calls
    assert not weights.blob_is_corrupt(folder / "model.safetensors")


def test_weights_still_corrupt_after_a_new_download_are_refused(monkeypatch, tmp_path):
    _fake_hub(monkeypatch, tmp_path, repair=False)
    with pytest.raises(WeightsError, match=r"corrupted .*sha256"):
        weights.hub_download("kyutai/mimi", weights.HUB_REVISION)
