"""Writing files so that a crash or a full disk never leaves half a file at the final path.

Every file the project writes for keeps (exported datasets, reports, checkpoints, ensembles) goes
through :func:`atomic_path`: the data goes to a temporary file in the same folder, is flushed to
disk, and is renamed over the final path only when complete. A failed write removes the temporary
file, leaves any previous version untouched, and raises a :class:`DataError` naming the file.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from autobot.errors import DataError


def write_error(path: str | Path, err: OSError) -> DataError:
    """A full disk, a file-size limit or a permission problem, said in one paragraph."""
    reason = err.strerror or str(err) or type(err).__name__
    code = f" [Errno {err.errno}]" if err.errno else ""
    return DataError(path, None, "to write this file (free disk space, the file-size limit, permissions, "
                     "an existing folder)", f"the write refused: {reason}{code}",
                     "Any previous version of the file is unchanged.")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; it replaces ``path`` only if the block succeeds.

    The temporary name keeps the suffix (Keras insists on ``.keras``) and starts with a dot.

    Raises:
        DataError: The write failed with an OSError (disk full, EFBIG, EACCES, ...).
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # umask applies, unlike mkstemp
    except OSError as err:
        raise write_error(path, err) from err
    try:
        yield temporary
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as err:
        temporary.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise write_error(path, err) from err
        raise
    _fsync_folder(path.parent)


def write_text(path: str | Path, text: str) -> Path:
    """``Path.write_text``, atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text)
    return Path(path)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every filesystem allows it)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
