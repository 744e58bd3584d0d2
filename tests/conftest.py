"""Shared fixtures: where ../shared lives, and a private cache per test session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AUTOBOT_SHARED", ROOT.parent / "shared"))
BLOOD_NPZ = SHARED / "data" / "blood" / "challenge_like.npz"
BLOOD_FOLDERS = SHARED / "data" / "blood" / "pbc96"
MARS_NPZ = SHARED / "data" / "mars" / "mars_dev.npz"
MARS_CHALLENGE = SHARED / "data" / "mars" / "mars_challenge_like.npz"


def pytest_configure(config):
    if not BLOOD_NPZ.exists():
        raise pytest.UsageError(f"the tests read real data from {SHARED} (set AUTOBOT_SHARED); it is missing")


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Never read or write the user's ~/.cache from tests."""
    monkeypatch.setenv("AUTOBOT_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def blood_raw():
    with np.load(BLOOD_NPZ) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="session")
def mars_raw():
    with np.load(MARS_NPZ) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="session")
def blood_subset_npz(tmp_path_factory, blood_raw):
    """The first 64 rows of the real course file, written as the course wrote it."""
    path = tmp_path_factory.mktemp("blood") / "blood_subset.npz"
    np.savez_compressed(path, images=blood_raw["images"][:64], labels=blood_raw["labels"][:64])
    return path
