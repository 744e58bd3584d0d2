"""Half-precision storage of served members: half the download, the same predictions.

Keras writes weights as float32. A served member needs no more than float16 keeps (3 significant
digits): Keras casts the stored arrays to each variable's dtype as it loads them, so a halved file
loads with plain ``keras.models.load_model`` and computes in float32 exactly as before. That halves
the models a Space downloads and lets more members fit the size budget. Training checkpoints under
``runs/`` stay float32, so resuming is unaffected.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from autobot.atomic import atomic_path
from autobot.errors import DataError

__all__ = ["WEIGHTS_DTYPES", "store_weights_as", "stored_weights_dtype"]

WEIGHTS_DTYPES = ("float32", "float16")
_WEIGHTS = "model.weights.h5"
_FLOAT16_MAX = float(np.finfo(np.float16).max)


def store_weights_as(path: str | Path, dtype: str = "float16") -> Path:
    """Rewrite the float32 weights of the ``.keras`` file ``path`` as ``dtype``, in place.

    An array that float16 cannot hold (beyond +-65504) stays float32; other arrays keep their dtype.
    """
    import h5py

    path = Path(path)
    if dtype not in WEIGHTS_DTYPES:
        raise DataError(path, "weights_dtype", f"one of {', '.join(WEIGHTS_DTYPES)}", repr(dtype))
    if dtype == "float32":
        return path
    try:
        with zipfile.ZipFile(path) as archive:
            entries = [(info, archive.read(info.filename)) for info in archive.infolist()]
    except zipfile.BadZipFile as err:
        raise DataError(path, None, "a Keras 3 .keras archive (a zip file)", str(err)) from err
    contents = {info.filename: data for info, data in entries}
    if _WEIGHTS not in contents:
        raise DataError(path, _WEIGHTS, "a Keras 3 .keras archive with its weights file", "no weights file")
    weights = io.BytesIO()
    with h5py.File(io.BytesIO(contents[_WEIGHTS]), "r") as fin, h5py.File(weights, "w") as fout:
        _copy_group(fin, fout, np.dtype(dtype))
    halved = weights.getvalue()
    with atomic_path(path) as temporary, zipfile.ZipFile(temporary, "w", zipfile.ZIP_STORED) as archive:
        for info, data in entries:
            archive.writestr(info, halved if info.filename == _WEIGHTS else data)
    return path


def stored_weights_dtype(path: str | Path) -> str:
    """The widest float dtype among the weights stored in the ``.keras`` file ``path``."""
    import h5py

    with zipfile.ZipFile(path) as archive:
        stored = io.BytesIO(archive.read(_WEIGHTS))
    found: set[str] = set()
    with h5py.File(stored, "r") as weights:
        weights.visititems(lambda _, item: found.add(item.dtype.name)
                           if isinstance(item, h5py.Dataset) and item.dtype.kind == "f" else None)
    return "float32" if "float32" in found or not found else "float16"


def _copy_group(source, target, dtype: np.dtype) -> None:
    import h5py

    target.attrs.update(dict(source.attrs))
    for name, item in source.items():
        if isinstance(item, h5py.Group):
            _copy_group(item, target.create_group(name), dtype)
            continue
        data = item[()]
        if isinstance(data, np.ndarray) and data.dtype == np.float32 and np.all(np.abs(data) <= _FLOAT16_MAX):
            data = data.astype(dtype)
        target.create_dataset(name, data=data).attrs.update(dict(item.attrs))
