"""Safe reading of ``.npz`` files: no pickles, and damage reported per key."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from autobot.errors import DataError

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
NPY_MAGIC = b"\x93NUMPY"


def sniff(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(8)
    except FileNotFoundError:
        raise DataError(path, None, "an existing file or folder", "no such file") from None
    except IsADirectoryError:
        return b""
    except OSError as err:
        raise DataError(path, None, "a readable file", str(err)) from None


def is_zip(path: Path) -> bool:
    return sniff(path)[:4] in ZIP_MAGIC


class NpzReader:
    """Opens an npz once, lists its keys, and reads arrays one at a time with clear errors."""

    def __init__(self, path: Path):
        self.path = path
        head = sniff(path)
        if head.startswith(NPY_MAGIC):
            raise DataError(path, None, "an .npz archive of named arrays", "a single .npy array",
                            "Save with numpy.savez(path, images=..., labels=...).")
        if head[:4] not in ZIP_MAGIC:
            found = "an empty file" if not head else f"a file starting with bytes {head[:8]!r}"
            raise DataError(path, None, "an .npz (zip) file", found)
        try:
            self._npz = np.load(path, allow_pickle=False)
            self.keys = tuple(self._npz.files)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
            raise DataError(path, None, "a complete .npz (zip) file",
                            f"a damaged or truncated archive ({err})") from None

    def __contains__(self, key: str) -> bool:
        return key in self.keys

    def __enter__(self) -> "NpzReader":
        return self

    def __exit__(self, *exc) -> None:
        self._npz.close()

    def read(self, key: str) -> np.ndarray:
        if key not in self.keys:
            raise DataError(self.path, key, f"a key named {key!r}", f"keys {list(self.keys)}")
        try:
            array = self._npz[key]
        except ValueError as err:
            if "pickle" in str(err).lower() or "object" in str(err).lower():
                raise DataError(self.path, key, "a numeric array",
                                "an object array (pickled Python objects are never loaded)") from None
            raise DataError(self.path, key, "a readable array", f"a damaged entry ({err})") from None
        except (zipfile.BadZipFile, OSError, EOFError, Exception) as err:  # zlib.error is not an OSError
            raise DataError(self.path, key, "a readable array",
                            f"a damaged or truncated entry ({type(err).__name__}: {err})") from None
        if array.dtype.hasobject:
            raise DataError(self.path, key, "a numeric array", "an object array")
        return array
