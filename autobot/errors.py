"""The one exception type users see.

Every check on user input raises :class:`DataError`, whose message names the file,
the key (or member), what was expected and what was found, so the CLI can print it
as one paragraph and the app can show it without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Bad or unreadable input, described well enough to fix without a debugger."""

    def __init__(
        self,
        path: str | Path | None,
        key: str | None,
        expected: str,
        found: str,
        hint: str | None = None,
    ):
        self.path = str(path) if path is not None else None
        self.key = key
        self.expected = expected
        self.found = found
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        where = self.path or "<input>"
        if self.key:
            where += f" [{self.key}]"
        message = f"{where}: expected {self.expected}; found {self.found}."
        if self.hint:
            message += f" {self.hint}"
        return message
