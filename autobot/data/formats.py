"""One loader per file layout, chosen by looking at the file.

Layouts:
    ``blood_npz``   the course's blood file: ``images`` (N, 96, 96, 3), ``labels`` (N, 1) or (N,).
    ``mars_npz``    the course's Mars file: ``training_set`` (N, 2, 64, 128), optional ``test_set``.
    ``medmnist``    ``bloodmnist*.npz``: ``{train,val,test}_{images,labels}``, any size, resized to 96.
    ``class_folders`` a folder (or .zip) of class-named subfolders of image files.
    ``ai4mars``     ``images/edr/*.JPG`` with ``labels/train/*.png`` (and ``labels/test/**``).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from autobot.data import cache
from autobot.data.dataset import Dataset
from autobot.data.images import IMAGE_SUFFIXES, decode_image, resize, resize_batch
from autobot.data.npz import NpzReader, is_zip
from autobot.data.validate import (
    as_labels,
    as_uint8_images,
    check_images,
    check_label_range,
    describe,
)
from autobot.errors import DataError
from autobot.tasks import BLOOD, MARS, TaskSpec, get_task

MEDMNIST_SPLITS = ("train", "val", "test")
#: AI4Mars halves with less labelled area than this are dropped, as in ../shared's copy.
AI4MARS_MIN_LABELLED = 0.10
#: Layouts made of image files, whose decoded arrays are worth caching.
DECODED_LAYOUTS = ("class_folders", "ai4mars")


@dataclass(frozen=True)
class Layout:
    """A file layout: which task it holds, how to recognise it, how to load it."""

    name: str
    task: TaskSpec
    description: str
    splits: tuple[str, ...]
    matches: Callable[[Path], bool]
    load: Callable[[Path, str | None], Dataset]


# ----------------------------------------------------------------------------- detection


def _npz_keys(path: Path) -> tuple[str, ...] | None:
    if path.is_dir() or not is_zip(path):
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return None
    if not any(name.endswith(".npy") for name in names):
        return None
    return tuple(name[: -len(".npy")] for name in names if name.endswith(".npy"))


def detect_layout(path: str | Path) -> Layout:
    """Return the layout of ``path`` or raise a DataError saying what was looked for."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, None, "an existing .npz file, .zip file or folder", "no such file or folder")
    for layout in LAYOUTS.values():
        if layout.matches(path):
            return layout
    if path.is_dir():
        raise DataError(path, None,
                        "a folder of class-named subfolders of images, or an AI4Mars folder (images/edr + labels/train)",
                        f"a folder holding {sorted(p.name for p in path.iterdir())[:10]}")
    keys = _npz_keys(path)
    if keys is not None:
        raise DataError(path, None,
                        "keys images+labels (blood), training_set (Mars) or train_images/train_labels (MedMNIST)",
                        f"keys {list(keys)}")
    if is_zip(path):
        try:
            with zipfile.ZipFile(path) as archive:
                archive.namelist()
        except (zipfile.BadZipFile, OSError) as err:
            raise DataError(path, None, "a complete .npz or .zip file",
                            f"a damaged or truncated archive ({err})") from None
        raise DataError(path, None, "an .npz of arrays, or a .zip of class-named folders of images",
                        "a zip holding neither")
    NpzReader(path)  # raises the precise "not an npz" / "truncated" error
    raise DataError(path, None, "a dataset file", "an unrecognised file")


def load_dataset(
    path: str | Path,
    task: str | TaskSpec | None = None,
    *,
    split: str | None = None,
    use_cache: bool = True,
) -> Dataset:
    """Load any supported layout into a :class:`Dataset`.

    Args:
        path: An ``.npz``, a ``.zip`` or a folder.
        task: Expected task; a file of the other task is refused (``None`` accepts either).
        split: A part of the file (``"test"`` for the Mars ``test_set``; ``train``/``val``/``test``
            for MedMNIST). ``None`` gives the labelled rows (all MedMNIST splits together).
        use_cache: Reuse decoded arrays for folders of image files.
    """
    path = Path(path)
    layout = detect_layout(path)
    if task is not None and get_task(task).name != layout.task.name:
        raise DataError(path, None, f"a {get_task(task).name} dataset",
                        f"a {layout.task.name} dataset ({layout.description})")
    if split is not None and split not in layout.splits:
        raise DataError(path, "split", f"one of {layout.splits}", repr(split))
    if use_cache and layout.name in DECODED_LAYOUTS:
        return _load_cached(layout, path, split)
    return layout.load(path, split)


def _load_cached(layout: Layout, path: Path, split: str | None) -> Dataset:
    """Folders of image files: decode once, then reload the arrays from the cache."""
    listing = _listing_signature(path)
    key = cache.cache_key("dataset-v1", layout.name, str(path.resolve()), split, listing)
    arrays = cache.load_arrays("decoded", key)
    if arrays is not None:
        targets = arrays.pop("targets", None)
        ids = arrays.pop("ids")
        images = arrays.pop("images")
        notes = tuple(str(n) for n in arrays.pop("notes", np.array([], dtype=str)))
        return Dataset(layout.task, images, targets, ids, str(path), layout.name, arrays, notes)
    dataset = layout.load(path, split)
    arrays = {"images": dataset.images, "ids": dataset.ids, "notes": np.array(dataset.notes, dtype=str)}
    if dataset.targets is not None:
        arrays["targets"] = dataset.targets
    arrays.update(dataset.metadata)
    cache.save_arrays("decoded", key, arrays)
    return dataset


def _listing_signature(path: Path) -> str:
    if path.is_file():
        stat = path.stat()
        return f"{stat.st_size}:{stat.st_mtime_ns}"
    entries = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            stat = os.stat(os.path.join(root, name))
            entries.append(f"{os.path.relpath(os.path.join(root, name), path)}:{stat.st_size}:{stat.st_mtime_ns}")
    return cache.cache_key(*entries)


def _metadata(reader: NpzReader, used: set[str], n: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """Extra per-row numeric arrays are kept as metadata; anything else is noted and skipped."""
    metadata, notes = {}, []
    for key in reader.keys:
        if key in used:
            continue
        try:
            array = reader.read(key)
        except DataError as err:
            notes.append(f"ignored key {key!r}: {err.found}")
            continue
        if array.ndim >= 1 and len(array) == n and array.dtype.kind in "iufbU":
            metadata[key] = array
        else:
            notes.append(f"ignored key {key!r} ({describe(array)}): not one value per row")
    return metadata, notes


def _resize_note(images: np.ndarray, task: TaskSpec) -> list[str]:
    if images.shape[1:3] == task.image_size:
        return []
    h, w = task.image_size
    return [f"resized images from {images.shape[1]}x{images.shape[2]} to {h}x{w}"]


# ----------------------------------------------------------------------------- blood npz


def _load_blood_npz(path: Path, split: str | None) -> Dataset:
    with NpzReader(path) as reader:
        images = as_uint8_images(reader.read("images"), str(path), "images")
        check_images(images, BLOOD, str(path), "images", allow_resize=True)
        notes = _resize_note(images, BLOOD)
        images = resize_batch(images, BLOOD.image_size)
        labels = None
        if "labels" in reader:
            labels = as_labels(reader.read("labels"), BLOOD, str(path), "labels", len(images))
        else:
            notes.append("no 'labels' key: images are unlabelled")
        metadata, extra = _metadata(reader, {"images", "labels"}, len(images))
    ids = np.array([str(i) for i in range(len(images))])
    return Dataset(BLOOD, images, labels, ids, str(path), "blood_npz", metadata, tuple(notes + extra))


def _is_blood_npz(path: Path) -> bool:
    keys = _npz_keys(path)
    return keys is not None and "images" in keys and not any(k.endswith("_images") for k in keys)


# ----------------------------------------------------------------------------- mars npz


def _mask_values(masks: np.ndarray, path: str, key: str) -> np.ndarray:
    if masks.dtype.kind == "f" and not (np.all(np.isfinite(masks)) and np.all(masks == np.round(masks))):
        raise DataError(path, key, "whole-number mask values", "fractional, NaN or infinite values")
    check_label_range(masks.astype(np.int64), MARS, path, key)
    return masks.astype(np.uint8)


def _load_mars_npz(path: Path, split: str | None) -> Dataset:
    where = str(path)
    height, width = MARS.image_size
    with NpzReader(path) as reader:
        if split == "test":
            raw = reader.read("test_set")
            if raw.ndim == 4 and raw.shape[-1] == 1:
                raw = raw[..., 0]
            if raw.ndim != 3:
                raise DataError(where, "test_set", f"images of shape (M, {height}, {width})", describe(raw))
            images = as_uint8_images(raw, where, "test_set")[..., None]
            check_images(images, MARS, where, "test_set", allow_resize=True)
            notes = _resize_note(images, MARS)
            images = resize_batch(images, MARS.image_size)
            ids = np.array([f"test/{i}" for i in range(len(images))])
            return Dataset(MARS, images, None, ids, where, "mars_npz", {}, tuple(notes))
        raw = reader.read("training_set")
        if raw.ndim != 4 or raw.shape[1] != 2:
            raise DataError(where, "training_set", f"image+mask pairs of shape (N, 2, {height}, {width})",
                            describe(raw))
        if len(raw) == 0:
            raise DataError(where, "training_set", "at least one image+mask pair", "an empty array (0 pairs)")
        images = as_uint8_images(raw[:, 0], where, "training_set[:, 0] (images)")[..., None]
        masks = _mask_values(raw[:, 1], where, "training_set[:, 1] (masks)")
        notes = _resize_note(images, MARS)
        images = resize_batch(images, MARS.image_size)
        masks = resize_batch(masks, MARS.image_size, nearest=True)
        metadata, extra = _metadata(reader, {"training_set", "test_set"}, len(images))
        if "test_set" in reader:
            extra.append("holds a test_set of unlabelled images (load it with split='test')")
    ids = np.array([str(i) for i in range(len(images))])
    return Dataset(MARS, images, masks, ids, where, "mars_npz", metadata, tuple(notes + extra))


def _is_mars_npz(path: Path) -> bool:
    keys = _npz_keys(path)
    return keys is not None and "training_set" in keys


# ----------------------------------------------------------------------------- medmnist


def _load_medmnist(path: Path, split: str | None) -> Dataset:
    where = str(path)
    parts = [split] if split else [s for s in MEDMNIST_SPLITS if f"{s}_images" in _npz_keys(path)]
    images_parts, label_parts, ids, split_names, notes = [], [], [], [], []
    with NpzReader(path) as reader:
        for part in parts:
            images = as_uint8_images(reader.read(f"{part}_images"), where, f"{part}_images")
            if images.ndim == 3:  # grayscale MedMNIST sets; blood is RGB but be lenient
                images = np.repeat(images[..., None], 3, axis=-1)
            check_images(images, BLOOD, where, f"{part}_images", allow_resize=True)
            if not notes:
                notes = _resize_note(images, BLOOD)
            images_parts.append(resize_batch(images, BLOOD.image_size))
            label_parts.append(as_labels(reader.read(f"{part}_labels"), BLOOD, where, f"{part}_labels", len(images)))
            ids.extend(f"{part}/{i}" for i in range(len(images)))
            split_names.extend([part] * len(images))
    metadata = {"split": np.array(split_names)}
    return Dataset(BLOOD, np.concatenate(images_parts), np.concatenate(label_parts), np.array(ids),
                   where, "medmnist", metadata, tuple(notes))


def _is_medmnist(path: Path) -> bool:
    keys = _npz_keys(path)
    return keys is not None and any(f"{s}_images" in keys for s in MEDMNIST_SPLITS)


# ----------------------------------------------------------------------------- class folders


@dataclass(frozen=True)
class _ImageFile:
    relative: str
    open: Callable[[], bytes]


def _iter_image_files(path: Path) -> Iterator[_ImageFile]:
    """Image files under a folder or inside a zip, skipping hidden files and macOS debris."""
    def wanted(relative: str) -> bool:
        parts = PurePosixPath(relative).parts
        return (relative.lower().endswith(IMAGE_SUFFIXES)
                and not any(p.startswith(".") or p == "__MACOSX" for p in parts))

    if path.is_dir():
        for file in sorted(path.rglob("*")):
            relative = file.relative_to(path).as_posix()
            if file.is_file() and wanted(relative):
                yield _ImageFile(relative, file.read_bytes)
        return
    archive = zipfile.ZipFile(path)
    for info in sorted(archive.infolist(), key=lambda i: i.filename):
        if not info.is_dir() and wanted(info.filename):
            yield _ImageFile(info.filename, lambda name=info.filename: archive.read(name))


def _load_class_folders(path: Path, split: str | None) -> Dataset:
    where = str(path)
    try:
        files = list(_iter_image_files(path))
    except zipfile.BadZipFile as err:
        raise DataError(where, None, "a complete .zip file", f"a damaged archive ({err})") from None
    if not files:
        raise DataError(where, None, "image files inside class-named folders", "no image files")
    images, labels, notes, resized = [], [], [], 0
    unknown: dict[str, int] = {}
    for file in files:
        parent = PurePosixPath(file.relative).parent.name
        label = BLOOD.class_index(parent) if parent else None
        if label is None:
            unknown[parent or "(top level)"] = unknown.get(parent or "(top level)", 0) + 1
            continue
        try:
            data = file.open()
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise DataError(where, file.relative, "a readable file", f"a damaged entry ({err})") from None
        image = decode_image(data, BLOOD.channels, name=f"{where}/{file.relative}")
        if image.shape[:2] != BLOOD.image_size:
            resized += 1
            image = resize(image, BLOOD.image_size)
        images.append(image)
        labels.append(label)
    if unknown:
        raise DataError(where, "class folders", f"folders named after classes ({', '.join(BLOOD.class_names)})",
                        f"images in {', '.join(f'{k!r} ({v})' for k, v in sorted(unknown.items()))}",
                        "Rename those folders, or move their images into a class folder.")
    if resized:
        notes.append(f"resized {resized} images to {BLOOD.image_size[0]}x{BLOOD.image_size[1]}")
    ids = np.array([f.relative for f in files])
    return Dataset(BLOOD, np.stack(images), np.array(labels, dtype=np.int64), ids, where,
                   "class_folders", {}, tuple(notes))


def _is_class_folders(path: Path) -> bool:
    if path.is_dir():
        if _find_ai4mars_root(path):
            return False
        for _, dirs, _ in os.walk(path):
            if any(BLOOD.class_index(name) is not None for name in dirs):
                return True
        return False
    return is_zip(path) and _npz_keys(path) is None and _zip_has_images(path)


def _zip_has_images(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.lower().endswith(IMAGE_SUFFIXES) for name in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


# ----------------------------------------------------------------------------- ai4mars


def _find_ai4mars_root(path: Path) -> Path | None:
    for candidate in (path, path / "msl", *path.glob("*/msl"), *path.glob("*")):
        if (candidate / "images" / "edr").is_dir() and (candidate / "labels").is_dir():
            return candidate
    return None


def _ai4mars_label(values: np.ndarray, where: str) -> np.ndarray:
    """AI4Mars labels: 0..3 soil, bedrock, sand, big_rock; 255 unlabelled -> ours 1..4 and 0."""
    unknown = ~np.isin(values, (0, 1, 2, 3, 255))
    if unknown.any():
        raise DataError(where, None, "AI4Mars label values 0, 1, 2, 3 or 255",
                        f"values {sorted(np.unique(values[unknown]).tolist())[:8]}")
    return np.where(values == 255, 0, values.astype(np.int16) + 1).astype(np.uint8)


def _load_ai4mars(path: Path, split: str | None) -> Dataset:
    root = _find_ai4mars_root(path)
    split = split or "train"
    label_dir = root / "labels" / split
    if not label_dir.is_dir():
        raise DataError(path, f"labels/{split}", "a folder of label PNGs", "no such folder")
    label_files = {}
    for file in sorted(label_dir.rglob("*.png")):
        stem = file.stem.removesuffix("_merged")
        label_files.setdefault(stem, file)
    image_files = {f.stem: f for f in sorted((root / "images" / "edr").glob("*")) if f.suffix.lower() in IMAGE_SUFFIXES}
    pairs = [(stem, image_files[stem], label) for stem, label in label_files.items() if stem in image_files]
    if not pairs:
        raise DataError(path, f"labels/{split}", "label PNGs whose names match images in images/edr",
                        f"{len(label_files)} labels and {len(image_files)} images with no name in common")
    height, width = MARS.image_size
    images, masks, ids, source_ids, dropped = [], [], [], [], 0
    for number, (stem, image_file, label_file) in enumerate(pairs):
        image = decode_image(image_file, 1)
        label = decode_image(label_file, 1)[..., 0]
        if label.shape != image.shape[:2]:
            label = resize(label, image.shape[:2], nearest=True)
        label = _ai4mars_label(label, str(label_file))
        half = image.shape[0] // 2
        for name, rows in (("top", slice(0, half)), ("bottom", slice(half, 2 * half))):
            mask = resize(label[rows], (height, width), nearest=True)
            if (mask != 0).mean() < AI4MARS_MIN_LABELLED:
                dropped += 1
                continue
            images.append(resize(image[rows], (height, width)))
            masks.append(mask)
            ids.append(f"{stem}/{name}")
            source_ids.append(number)
    if not images:
        raise DataError(path, f"labels/{split}", "at least one image half with 10% labelled pixels", "none")
    notes = (f"split {len(pairs)} images into top and bottom halves resized to {height}x{width}",
             f"dropped {dropped} halves less than {AI4MARS_MIN_LABELLED:.0%} labelled")
    return Dataset(MARS, np.stack(images), np.stack(masks), np.array(ids), str(path), "ai4mars",
                   {"source_id": np.array(source_ids, dtype=np.int32)}, notes)


def _is_ai4mars(path: Path) -> bool:
    return path.is_dir() and _find_ai4mars_root(path) is not None


# ----------------------------------------------------------------------------- the table

#: Detection order matters: the first layout whose ``matches`` is true wins.
LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout("mars_npz", MARS, "course Mars npz (training_set, test_set)", ("train", "test"),
               _is_mars_npz, _load_mars_npz),
        Layout("medmnist", BLOOD, "MedMNIST bloodmnist npz", MEDMNIST_SPLITS, _is_medmnist, _load_medmnist),
        Layout("blood_npz", BLOOD, "course blood npz (images, labels)", (), _is_blood_npz, _load_blood_npz),
        Layout("ai4mars", MARS, "AI4Mars folder (images/edr, labels/train)", ("train", "test"),
               _is_ai4mars, _load_ai4mars),
        Layout("class_folders", BLOOD, "class-named folders of images", (),
               _is_class_folders, _load_class_folders),
    )
}
