"""The review store: one SQLite file of human decisions, safe for concurrent writers.

Decisions are appended (never updated), so the latest one per row wins and the history
stays. WAL journaling lets the app and a CLI write at the same time. The source dataset
is never touched: export reads decisions from here.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from autobot.data.cache import cache_dir
from autobot.errors import DataError

ACTIONS = ("outlier", "keep", "relabel", "drop_duplicate")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL,
    row INTEGER NOT NULL,
    row_id TEXT,
    action TEXT NOT NULL,
    label INTEGER,
    time REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_row ON decisions (fingerprint, row);
"""


def default_store_path(fingerprint: str) -> Path:
    """Beside the dataset's cache: ``<cache>/reviews/<fingerprint>.sqlite``."""
    return cache_dir() / "reviews" / f"{fingerprint}.sqlite"


class ReviewStore:
    """Decisions about one dataset's rows (confirmed outlier, kept, relabelled, duplicate dropped).

    Args:
        path: SQLite file; created with its folder when missing.
        fingerprint: The dataset's ``Dataset.fingerprint()``, so one file may hold several datasets.
    """

    def __init__(self, path: str | Path, fingerprint: str):
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "ReviewStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def decide(self, row: int, action: str, label: int | None = None, row_id: str | None = None) -> None:
        """Record one decision; ``label`` is required for ``relabel`` only."""
        if action not in ACTIONS:
            raise DataError(self.path, "action", f"one of {ACTIONS}", repr(action))
        if (action == "relabel") != (label is not None):
            raise DataError(self.path, "label", "a label for 'relabel' only", repr(label))
        # The time is read after taking the write lock, so the order of ids (commits) is the order of times:
        # with concurrent reviewers, the latest decision by time is the one that wins.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                "INSERT INTO decisions (fingerprint, row, row_id, action, label, time) VALUES (?, ?, ?, ?, ?, ?)",
                (self.fingerprint, int(row), row_id, action, label, time.time()),
            )
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def decisions(self) -> dict[int, tuple[str, int | None]]:
        """Latest ``(action, label)`` per row."""
        rows = self._db.execute(
            "SELECT row, action, label FROM decisions WHERE fingerprint = ? ORDER BY id", (self.fingerprint,)
        ).fetchall()
        return {row: (action, label) for row, action, label in rows}

    def history(self) -> list[tuple[int, str, int | None, float]]:
        """Every decision, oldest first: ``(row, action, label, time)``."""
        return self._db.execute(
            "SELECT row, action, label, time FROM decisions WHERE fingerprint = ? ORDER BY id", (self.fingerprint,)
        ).fetchall()
