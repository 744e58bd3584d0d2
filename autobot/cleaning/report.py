"""The cleaning report: what ``run_cleaning`` found, as JSON and CSV."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autobot.atomic import atomic_path, write_text


@dataclass
class CleaningReport:
    """Everything a reviewer needs, with indices as rows of the input file.

    Args:
        n: Number of rows.
        outliers: ``{"index", "score", "reason"}`` per flagged row, most confident first.
        duplicate_groups: Groups of row indices (first kept, rest dropped by default).
        exact_groups: The pixel-identical groups among them.
        conflicts: Groups whose labels or masks disagree.
        coords: 2-D projection ``(N, 2)``.
        clusters: DBSCAN cluster id per row (-1 = noise).
        scores: Outlier score per row (>1 = flagged).
        seconds: Wall time of the run.
        params: The configuration used.
        fingerprint: The dataset's fingerprint.
    """

    n: int
    outliers: list[dict]
    duplicate_groups: list[list[int]]
    exact_groups: list[list[int]]
    conflicts: list[list[int]]
    coords: np.ndarray
    clusters: np.ndarray
    scores: np.ndarray
    seconds: float
    params: dict = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def outlier_indices(self) -> list[int]:
        return [o["index"] for o in self.outliers]

    def duplicate_drops(self) -> list[int]:
        """Rows the default export drops as duplicates: all but the first of each group."""
        return sorted({i for g in self.duplicate_groups for i in g[1:]})

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "outliers": self.outliers,
            "duplicate_groups": self.duplicate_groups,
            "exact_duplicate_groups": self.exact_groups,
            "label_conflicts": self.conflicts,
            "seconds": round(self.seconds, 3),
            "params": self.params,
            "fingerprint": self.fingerprint,
        }

    def write(self, folder: str | Path) -> Path:
        """``report.json`` plus ``points.csv`` (index, x, y, cluster, score, flagged) in ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        write_text(folder / "report.json", json.dumps(self.to_dict(), indent=1))
        flagged = set(self.outlier_indices)
        with atomic_path(folder / "points.csv") as temporary, open(temporary, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["index", "x", "y", "cluster", "score", "flagged"])
            for i in range(self.n):
                writer.writerow([i, f"{self.coords[i, 0]:.4f}", f"{self.coords[i, 1]:.4f}",
                                 int(self.clusters[i]), f"{self.scores[i]:.4f}", int(i in flagged)])
        return folder / "report.json"
