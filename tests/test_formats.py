"""Every layout loads from real data (or small files written from it) into one Dataset type."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autobot import BLOOD, MARS
from autobot.data import Dataset, detect_layout, load_dataset
from conftest import BLOOD_FOLDERS, BLOOD_NPZ, MARS_CHALLENGE, MARS_NPZ


def check_dataset(dataset: Dataset, task, n: int | None = None):
    assert isinstance(dataset, Dataset) and dataset.task is task
    assert dataset.images.dtype == np.uint8 and dataset.images.shape[1:] == task.input_shape
    assert len(set(dataset.ids.tolist())) == len(dataset), "ids must be unique"
    if n is not None:
        assert len(dataset) == n
    if dataset.targets is not None and task.kind == "segmentation":
        assert dataset.targets.shape == (len(dataset), *task.image_size)


def test_course_blood_file(blood_raw):
    dataset = load_dataset(BLOOD_NPZ)
    check_dataset(dataset, BLOOD, n=len(blood_raw["images"]))
    assert dataset.format == "blood_npz"
    np.testing.assert_array_equal(dataset.images, blood_raw["images"])
    np.testing.assert_array_equal(dataset.targets, blood_raw["labels"][:, 0])
    assert dataset.targets.dtype == np.int64


def test_course_mars_file_keeps_source_id_and_test_set(mars_raw):
    dataset = load_dataset(MARS_NPZ, "mars")
    check_dataset(dataset, MARS, n=len(mars_raw["training_set"]))
    np.testing.assert_array_equal(dataset.images[..., 0], mars_raw["training_set"][:, 0])
    np.testing.assert_array_equal(dataset.targets, mars_raw["training_set"][:, 1])
    np.testing.assert_array_equal(dataset.groups, mars_raw["source_id"])
    test = load_dataset(MARS_NPZ, split="test")
    check_dataset(test, MARS, n=len(mars_raw["test_set"]))
    assert test.targets is None and test.ids[0] == "test/0"


def test_mars_file_without_source_id_loads():
    dataset = load_dataset(MARS_CHALLENGE)
    check_dataset(dataset, MARS)
    assert dataset.groups is None and dataset.metadata == {}


@pytest.mark.parametrize("scale, dtype", [(1 / 255, np.float32), (1.0, np.float64), (1.0, np.int32)])
def test_blood_npz_float_and_flat_labels(tmp_path, blood_raw, scale, dtype):
    images = blood_raw["images"][:20]
    path = tmp_path / "b.npz"
    np.savez(path, images=(images.astype(np.float64) * scale).astype(dtype), labels=blood_raw["labels"][:20, 0])
    dataset = load_dataset(path)
    np.testing.assert_array_equal(dataset.images, images)
    np.testing.assert_array_equal(dataset.targets, blood_raw["labels"][:20, 0])


def test_blood_npz_one_hot_labels_and_unlabelled(tmp_path, blood_raw):
    labels = blood_raw["labels"][:30, 0]
    np.savez(tmp_path / "onehot.npz", images=blood_raw["images"][:30], labels=np.eye(8, dtype=np.uint8)[labels])
    np.testing.assert_array_equal(load_dataset(tmp_path / "onehot.npz").targets, labels)
    np.savez(tmp_path / "test.npz", images=blood_raw["images"][:30])
    unlabelled = load_dataset(tmp_path / "test.npz")
    assert unlabelled.targets is None and any("unlabelled" in note for note in unlabelled.notes)


@pytest.mark.parametrize("size", [28, 64, 128, 224])
def test_medmnist_any_size_is_resized_to_96(tmp_path, blood_raw, size):
    small = np.stack([np.asarray(Image.fromarray(im).resize((size, size))) for im in blood_raw["images"][:24]])
    labels = blood_raw["labels"][:24]
    path = tmp_path / f"bloodmnist_{size}.npz"
    np.savez(path, train_images=small[:12], train_labels=labels[:12], val_images=small[12:18],
             val_labels=labels[12:18], test_images=small[18:], test_labels=labels[18:])
    dataset = load_dataset(path)
    check_dataset(dataset, BLOOD, n=24)
    assert dataset.format == "medmnist"
    assert dataset.ids[0] == "train/0" and dataset.ids[-1] == "test/5"
    np.testing.assert_array_equal(dataset.targets, labels[:, 0])
    assert (size == 96) or any("resized" in note for note in dataset.notes)
    test = load_dataset(path, split="test")
    assert len(test) == 6 and set(test.metadata["split"]) == {"test"}


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory):
    """Real pbc96 files under folder names as people write them, plus odd image modes and sizes."""
    root = tmp_path_factory.mktemp("folders") / "cells"
    names = {"basophil": "Basophils", "eosinophil": "EOSINOPHIL", "erythroblast": "erythroblast",
             "ig": "IG", "lymphocyte": "lymphocyte", "monocyte": "Monocytes",
             "neutrophil": "neutrophil", "platelet": "thrombocyte"}
    for source in sorted(BLOOD_FOLDERS.iterdir()):
        target = root / names.get(source.name, names.get("ig"))
        target.mkdir(parents=True)
        for file in sorted(source.iterdir())[:3]:
            shutil.copy(file, target / file.name)
    rgb = np.asarray(Image.open(next((BLOOD_FOLDERS / "platelet").iterdir())).convert("RGB"))
    Image.fromarray(rgb).convert("RGBA").save(root / "thrombocyte" / "rgba.png")
    Image.fromarray(rgb).convert("L").save(root / "thrombocyte" / "gray.png")
    Image.fromarray(rgb).resize((360, 363)).save(root / "thrombocyte" / "big.jpg")
    (root / ".DS_Store").write_bytes(b"junk")
    return root


def test_class_folders_with_aliases_modes_and_sizes(class_folder):
    dataset = load_dataset(class_folder)
    check_dataset(dataset, BLOOD, n=8 * 3 + 3)
    assert dataset.format == "class_folders"
    assert dataset.class_counts().tolist() == [3, 3, 3, 3, 3, 3, 3, 6]
    assert "IG/" in "".join(dataset.ids) and any("resized 1" in note for note in dataset.notes)
    gray = dataset.images[list(dataset.ids).index("thrombocyte/gray.png")]
    assert np.array_equal(gray[..., 0], gray[..., 1]), "grayscale becomes 3 equal channels"
    again = load_dataset(class_folder)  # second load comes from the decoded cache
    np.testing.assert_array_equal(again.images, dataset.images)
    np.testing.assert_array_equal(again.ids, dataset.ids)


def test_zip_of_class_folders_matches_the_folder(class_folder, tmp_path):
    archive = tmp_path / "cells.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in sorted(class_folder.rglob("*")):
            if file.is_file():
                zf.write(file, Path("cells") / file.relative_to(class_folder))
        zf.writestr("__MACOSX/cells/IG/._x.jpg", b"resource fork")
    from_zip = load_dataset(archive)
    from_folder = load_dataset(class_folder)
    np.testing.assert_array_equal(from_zip.images, from_folder.images)
    np.testing.assert_array_equal(from_zip.targets, from_folder.targets)


def write_ai4mars(root: Path, mars_raw, rows: list[tuple[int, int]], scale: int = 1) -> None:
    """Build AI4Mars-style files from pairs of real Mars rows stacked as top and bottom halves."""
    (root / "msl" / "images" / "edr").mkdir(parents=True)
    (root / "msl" / "labels" / "train").mkdir(parents=True)
    (root / "msl" / "labels" / "test" / "masked-gold-min3-100agree").mkdir(parents=True)
    pairs = mars_raw["training_set"]
    for number, (top, bottom) in enumerate(rows):
        image = np.concatenate([pairs[top, 0], pairs[bottom, 0]]).repeat(scale, 0).repeat(scale, 1)
        ours = np.concatenate([pairs[top, 1], pairs[bottom, 1]]).repeat(scale, 0).repeat(scale, 1)
        theirs = np.where(ours == 0, 255, ours.astype(np.int16) - 1).astype(np.uint8)
        Image.fromarray(image).save(root / "msl" / "images" / "edr" / f"NLA_{number}EDR_F0.JPG", quality=98)
        Image.fromarray(theirs).save(root / "msl" / "labels" / "train" / f"NLA_{number}EDR_F0.png")
        if number == 0:
            Image.fromarray(theirs).save(
                root / "msl" / "labels" / "test" / "masked-gold-min3-100agree" / f"NLA_{number}EDR_F0_merged.png")


@pytest.mark.parametrize("scale", [1, 4])
def test_ai4mars_layout_maps_labels_and_splits_halves(tmp_path, mars_raw, scale):
    rows = [(0, 1), (2, 3), (10, 11)]
    write_ai4mars(tmp_path, mars_raw, rows, scale)
    assert detect_layout(tmp_path).name == "ai4mars"
    dataset = load_dataset(tmp_path)
    check_dataset(dataset, MARS, n=6)
    expected = mars_raw["training_set"][[i for pair in rows for i in pair], 1]
    np.testing.assert_array_equal(dataset.targets, expected)  # 255 -> 0 and k -> k + 1, exactly
    images = mars_raw["training_set"][[i for pair in rows for i in pair], 0].astype(int)
    assert np.abs(dataset.images[..., 0].astype(int) - images).mean() < 4  # JPEG and resampling
    assert dataset.ids[:2].tolist() == ["NLA_0EDR_F0/top", "NLA_0EDR_F0/bottom"]
    assert dataset.groups.tolist() == [0, 0, 1, 1, 2, 2]
    test = load_dataset(tmp_path, split="test")
    assert len(test) == 2 and test.ids[0] == "NLA_0EDR_F0/top"
