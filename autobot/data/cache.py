"""On-disk cache of decoded arrays, so a folder of 12k JPEGs is decoded once."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from autobot.atomic import atomic_path
from autobot.errors import DataError


def cache_dir() -> Path:
    """``$AUTOBOT_CACHE``, else ``~/.cache/autobot``."""
    root = os.environ.get("AUTOBOT_CACHE") or Path.home() / ".cache" / "autobot"
    return Path(root)


def cache_key(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def load_arrays(kind: str, key: str) -> dict[str, np.ndarray] | None:
    path = cache_dir() / kind / f"{key}.npz"
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError):
        return None


def save_arrays(kind: str, key: str, arrays: dict[str, np.ndarray]) -> Path | None:
    """Best effort: a cache that cannot be written only costs time."""
    folder = cache_dir() / kind
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{key}.npz"
        write_npz_atomic(path, arrays, compress=False)
        return path
    except (OSError, DataError):
        return None


def write_npz_atomic(path: Path, arrays: dict[str, np.ndarray], *, compress: bool) -> None:
    """Write to a temporary file beside ``path`` and rename, so readers never see half a file.

    Raises:
        DataError: The disk is full or the write was refused (naming ``path``); a previous file is kept.
    """
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as stream:
            (np.savez_compressed if compress else np.savez)(stream, **arrays)
