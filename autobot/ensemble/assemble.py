"""Assemble an ensemble folder from members of other ensemble folders.

Members trained by different runs (another width, more epochs, a later session) can be served
together when they share the task, the input shape and the train/validation split of the same
data: then the held-out rows are held out for every member, and ``evaluate --heldout`` stays honest.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from autobot import __version__
from autobot.ensemble.bagging import (MANIFEST, _member_val_metrics, _read_manifest, check_lone_half_padding,
                                     load_ensemble, split_rows)
from autobot.ensemble.combine import check_rule
from autobot.ensemble.storage import WEIGHTS_DTYPES, store_weights_as, stored_weights_dtype
from autobot.errors import DataError
from autobot.train.member import _write_json

__all__ = ["assemble_ensemble", "parse_pick"]

#: What every source must agree on, as (where in the manifest, what it means).
_MUST_MATCH = (
    (("task",), "the task"),
    (("classes",), "the class list"),
    (("input_shape",), "the input shape"),
    (("data", "fingerprint"), "the training data"),
    (("config", "val_fraction"), "the validation split"),
    (("config", "seed"), "the validation split"),
)


def parse_pick(text: str) -> tuple[Path, int]:
    """``"runs/ens:2"`` -> member 2 of ``runs/ens``; ``"runs/ens"`` alone means member 0."""
    folder, _, index = text.rpartition(":") if ":" in text else (text, "", "0")
    if not index.isdigit():
        raise DataError(text, None, "FOLDER or FOLDER:MEMBER_INDEX (e.g. runs/ens:2)", repr(text))
    return Path(folder), int(index)


def _get(manifest: dict[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        manifest = manifest.get(key, {}) if isinstance(manifest, dict) else {}
    return manifest if manifest != {} else None


def assemble_ensemble(picks: Sequence[tuple[str | Path, int]], out_dir: str | Path, dataset=None,
                      weights_dtype: str = "float32", combine: str | None = None,
                      lone_half_padding: int | None = None) -> Path:
    """Copy the picked members into a new ensemble folder with one manifest.

    Args:
        picks: ``(ensemble folder, member index)`` pairs, in the order they are served.
        out_dir: The new folder (must not hold a manifest yet).
        dataset: The data they were trained on; when given, the manifest's ``val_metrics``
            (ensemble and each member) are recomputed on the shared held-out rows, Mars halves of
            one photograph segmented whole, as ``evaluate --heldout`` does.
        weights_dtype: ``"float16"`` stores the members' weights at half the size (they still
            compute in float32; see :mod:`autobot.ensemble.storage`).
        combine: How the new ensemble combines member probabilities (:mod:`autobot.ensemble.combine`);
            default: the first source's rule.
        lone_half_padding: Rows mirrored below a Mars half segmented on its own
            (:meth:`autobot.ensemble.Ensemble.predict`); default: the first source's.

    Returns:
        ``out_dir``.
    """
    if not picks:
        raise DataError(out_dir, "members", "at least one FOLDER:INDEX to assemble", "none")
    out = Path(out_dir)
    if weights_dtype not in WEIGHTS_DTYPES:
        raise DataError(out_dir, "weights_dtype", f"one of {', '.join(WEIGHTS_DTYPES)}", repr(weights_dtype))
    if combine is not None:
        check_rule(combine, out_dir, "combine")
    if lone_half_padding is not None:
        check_lone_half_padding(lone_half_padding, out_dir)
    if (out / MANIFEST).exists():
        raise DataError(out / MANIFEST, None, "a new folder for the assembled ensemble", "an existing ensemble")
    sources = [(Path(folder), index, _read_manifest(Path(folder))) for folder, index in picks]
    first_folder, _, first = sources[0]
    for folder, index, manifest in sources:
        for keys, meaning in _MUST_MATCH:
            if _get(manifest, keys) != _get(first, keys):
                raise DataError(folder / MANIFEST, ".".join(keys), f"{_get(first, keys)!r} as in {first_folder} "
                                f"(members must share {meaning})", repr(_get(manifest, keys)))
        if index >= len(manifest["members"]):
            raise DataError(folder / MANIFEST, "members", f"a member {index}", f"{len(manifest['members'])} members")
    out.mkdir(parents=True, exist_ok=True)
    members = []
    for i, (folder, index, manifest) in enumerate(sources):
        entry = dict(manifest["members"][index])
        shutil.copyfile(folder / entry["file"], out / f"member_{i}.keras")
        store_weights_as(out / f"member_{i}.keras", weights_dtype)
        source = {"ensemble": str(folder), "member": index, "recipe": manifest.get("recipe", {})}
        if "source" in entry:  # re-assembled from an assembled ensemble: keep where the member was trained
            source["origin"] = entry["source"]
        entry.update(file=f"member_{i}.keras", weights_dtype=stored_weights_dtype(out / f"member_{i}.keras"),
                     source=source)
        members.append(entry)
    assembled = {key: value for key, value in first.items() if key not in ("members", "val_metrics", "train_seconds")}
    assembled.update(members=members, assembled_from=[f"{folder}:{index}" for folder, index, _ in sources],
                     created=datetime.now(timezone.utc).isoformat(timespec="seconds"), autobot_version=__version__)
    if combine is not None:
        assembled["combine"] = combine
    if lone_half_padding is not None:
        assembled["lone_half_padding"] = lone_half_padding
    _write_json(out / MANIFEST, assembled)
    if dataset is not None:
        ensemble = load_ensemble(out, precision="float32")  # the manifest's scores are the same on every machine
        rows = split_rows(ensemble, dataset, "heldout")
        halves = ensemble.whole_photographs(rows) if ensemble.task.kind == "segmentation" else None
        prediction = ensemble.predict(rows.images, halves=halves)  # scored as `evaluate --heldout` scores them
        for entry, probs in zip(members, prediction.member_probs):
            entry["val_metrics"] = _member_val_metrics(ensemble.task, probs, rows.targets)
        assembled["val_metrics"] = _member_val_metrics(ensemble.task, np.asarray(prediction.probs), rows.targets)
        if halves is not None:
            assembled["val_metrics"]["whole_photographs"] = len(halves)
        _write_json(out / MANIFEST, assembled)
    return out
