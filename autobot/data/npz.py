"""Safe reading of ``.npz`` files: no pickles, and damage reported per key."""

from __future__ import annotations

import os
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
            self._check_header(key)
            array = self._npz[key]
        except DataError:
            raise
        except ValueError as err:
            if "pickle" in str(err).lower() or "object" in str(err).lower():
                raise DataError(self.path, key, "a numeric array",
                                "an object array (pickled Python objects are never loaded)") from None
            raise DataError(self.path, key, "a readable array", f"a damaged entry ({err})") from None
        except (zipfile.BadZipFile, OSError, EOFError, Exception) as err:  # zlib.error is not an OSError
            raise DataError(self.path, key, "a readable array",
                            f"a damaged or truncated entry ({type(err).__name__}: {err})") from None
        if not isinstance(array, np.ndarray):  # numpy hands back the raw bytes of a member that is no .npy
            raise DataError(self.path, key, "a .npy array", f"{len(array):,} bytes of something else")
        if array.dtype.hasobject:
            raise DataError(self.path, key, "a numeric array", "an object array")
        return array

    def _check_header(self, key: str) -> None:
        """Refuse, before reading any data, a member that is no .npy array, holds objects, or declares
        more bytes than it stores or than this machine has memory (a forged header or a zip bomb)."""
        archive = self._npz.zip
        member = f"{key}.npy" if f"{key}.npy" in archive.namelist() else key
        info = archive.getinfo(member)
        with archive.open(member) as stream:
            head = stream.read(len(NPY_MAGIC))
            if head != NPY_MAGIC:
                kind = "a Python pickle" if head[:1] == b"\x80" else f"data starting with bytes {head!r}"
                raise DataError(self.path, key, "a .npy array",
                                f"{kind} ({info.file_size:,} bytes; pickled Python objects are never loaded)")
            stream.seek(0)
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                return  # a newer header: numpy's own reader checks it
            stored = info.file_size - stream.tell()
        if dtype.hasobject:
            raise DataError(self.path, key, "a numeric array",
                            "an object array (pickled Python objects are never loaded)")
        declared = dtype.itemsize
        for size in shape:
            declared *= int(size)
        described = f"shape {tuple(shape)} dtype {dtype}, {declared:,} bytes"
        if declared > stored:
            raise DataError(self.path, key, f"the data its header declares ({described})",
                            f"only {stored:,} bytes stored: a truncated or forged entry")
        if declared > memory_bytes():
            raise DataError(self.path, key, f"an array that fits in this machine's memory ({memory_bytes():,} bytes)",
                            f"{described} (a zip bomb?)")


def memory_bytes() -> int:
    """Physical memory of this machine (no array larger than this is ever read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 62
