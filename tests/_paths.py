"""Where the shared data lives, for tests (never copied into the repo)."""

from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BLOOD_DIR = SHARED / "data" / "blood" / "pbc96"
MARS_NPZ = SHARED / "data" / "mars" / "mars_dev.npz"
