"""What the app was launched with, shared by every tab."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AppConfig:
    """Launch settings.

    Args:
        data: Dataset path offered by default (server side; ignored in public mode).
        models: Folder of ensembles to serve instead of the shipped ones.
        runs: Training jobs folder (default ``$AUTOBOT_RUNS`` or ``./runs``).
        public: Public mode: no server paths, no training, size-limited uploads.
        max_upload_mb: Largest upload accepted.
    """

    data: Path | None = None
    models: Path | None = None
    runs: Path | None = None
    public: bool = False
    max_upload_mb: int = 200


def running_on_space() -> bool:
    """Hugging Face Spaces set SPACE_ID; there the app is always public."""
    return bool(os.environ.get("SPACE_ID"))
