"""Every kind of bad input fails with one DataError naming the file, the key, expected and found."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
from PIL import Image

from autobot import DataError
from autobot.data import decode_image, load_dataset
from conftest import BLOOD_FOLDERS

GOOD = np.zeros((4, 96, 96, 3), np.uint8)
LABELS = np.array([[0], [1], [2], [7]], np.uint8)
MARS = np.zeros((3, 2, 64, 128), np.uint8)


def savez(path, **arrays):
    np.savez(path, **arrays)
    return path


BAD_NPZ = {
    # name: (arrays, key named in the message, words the message must contain)
    "no known keys": (dict(pictures=GOOD), None, "found keys ['pictures']"),
    "blood images not NHWC": (dict(images=GOOD[..., 0], labels=LABELS), "images", "(N, 96, 96, 3)"),
    "blood images with 4 channels": (dict(images=np.zeros((4, 96, 96, 4), np.uint8), labels=LABELS), "images", "shape (4, 96, 96, 4)"),
    "blood images as strings": (dict(images=np.full((4, 96, 96, 3), "a"), labels=LABELS), "images", "dtype <U1"),
    "blood pixels above 255": (dict(images=GOOD + 300.0, labels=LABELS), "images", "values from 300 to 300"),
    "blood pixels NaN": (dict(images=np.full((4, 96, 96, 3), np.nan), labels=LABELS), "images", "NaN"),
    "labels out of range": (dict(images=GOOD, labels=np.array([0, 1, 8, 9])), "labels", "2 values outside"),
    "negative labels": (dict(images=GOOD, labels=np.array([0, -1, 2, 3])), "labels", "[-1]"),
    "fractional labels": (dict(images=GOOD, labels=np.array([0.5, 1, 2, 3])), "labels", "fractional"),
    "labels too short": (dict(images=GOOD, labels=LABELS[:3]), "labels", "shape (3, 1)"),
    "empty blood file": (dict(images=GOOD[:0], labels=LABELS[:0]), "images", "0 images"),
    "mars wrong pair axis": (dict(training_set=np.zeros((3, 3, 64, 128), np.uint8)), "training_set", "(N, 2, 64, 128)"),
    "mars mask values unknown": (dict(training_set=np.concatenate([MARS[:, :1], MARS[:, 1:] + 7], 1)),
                                 "training_set[:, 1] (masks)", "values outside that range, e.g. [7]"),
    "mars empty": (dict(training_set=MARS[:0]), "training_set", "0 pairs"),
    "mars test_set wrong shape": (dict(training_set=MARS, test_set=np.zeros((2, 5), np.uint8)), "test_set", "(M, 64, 128)"),
}


@pytest.mark.parametrize("case", sorted(BAD_NPZ))
def test_bad_npz_contents(tmp_path, case):
    arrays, key, words = BAD_NPZ[case]
    path = savez(tmp_path / "bad.npz", **arrays)
    split = "test" if "test_set" in case else None
    with pytest.raises(DataError) as caught:
        load_dataset(path, split=split)
    message = str(caught.value)
    assert message.startswith(str(path)) and "expected" in message and "found" in message
    if key:
        assert f"[{key}]" in message, message
    assert words in message, message


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_dataset(tmp_path / "nope.npz")


def test_text_file_is_not_an_npz(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("hello")
    with pytest.raises(DataError, match=r"notes.npz: expected an .npz \(zip\) file; found a file starting with bytes b'hello'"):
        load_dataset(path)


def test_empty_file(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(DataError, match="found an empty file"):
        load_dataset(tmp_path / "empty.npz")


def test_npy_instead_of_npz(tmp_path):
    np.save(tmp_path / "images.npy", GOOD)
    with pytest.raises(DataError, match="a single .npy array"):
        load_dataset(tmp_path / "images.npy")


@pytest.mark.parametrize("keep", [0.05, 0.5, 0.97])
def test_truncated_npz(tmp_path, blood_subset_npz, keep):
    data = blood_subset_npz.read_bytes()
    path = tmp_path / "truncated.npz"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(DataError, match="damaged or truncated"):
        load_dataset(path)


def test_corrupted_member_names_the_key(tmp_path, blood_subset_npz):
    data = bytearray(blood_subset_npz.read_bytes())
    start = data.find(b"images.npy") + 200  # inside the compressed images member
    data[start:start + 400] = bytes(400)
    path = tmp_path / "corrupt.npz"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"\[images\]"):
        load_dataset(path)


def test_pickled_objects_are_never_loaded(tmp_path):
    path = tmp_path / "pickled.npz"
    labels = np.empty(4, dtype=object)
    labels[:] = [0, 1, 2, {"evil": True}]
    np.savez(path, images=GOOD, labels=labels)
    with pytest.raises(DataError, match=r"\[labels\].*object array \(pickled Python objects are never loaded\)"):
        load_dataset(path)


def test_wrong_task_is_refused(blood_subset_npz):
    with pytest.raises(DataError, match="expected a mars dataset; found a blood dataset"):
        load_dataset(blood_subset_npz, task="mars")


def test_unknown_split(blood_subset_npz, tmp_path):
    path = savez(tmp_path / "m.npz", training_set=MARS)
    with pytest.raises(DataError, match=r"\[split\]: expected one of \('train', 'test'\); found 'val'"):
        load_dataset(path, split="val")


def test_folder_with_unknown_class_names(tmp_path):
    for name in ("basophil", "dogs"):
        (tmp_path / name).mkdir()
        shutil.copy(next((BLOOD_FOLDERS / "basophil").iterdir()), tmp_path / name / "a.jpg")
    with pytest.raises(DataError, match=r"\[class folders\].*found images in 'dogs' \(1\)"):
        load_dataset(tmp_path)


def test_folder_without_images(tmp_path):
    (tmp_path / "basophil").mkdir()
    (tmp_path / "basophil" / "readme.txt").write_text("no images")
    with pytest.raises(DataError, match="no image files"):
        load_dataset(tmp_path)


def test_folder_with_undecodable_image(tmp_path):
    (tmp_path / "basophil").mkdir()
    (tmp_path / "basophil" / "broken.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(DataError, match=r"basophil/broken.jpg: expected a decodable image"):
        load_dataset(tmp_path)


def test_zip_without_images_or_arrays(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "docs.zip", "w") as archive:
        archive.writestr("readme.txt", "hi")
    with pytest.raises(DataError, match="a zip holding neither"):
        load_dataset(tmp_path / "docs.zip")


def png_bytes(array, mode=None):
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, "PNG")
    return buffer.getvalue()


def test_decode_truncated_png():
    data = png_bytes(np.full((64, 64, 3), 120, np.uint8))
    with pytest.raises(DataError, match="upload: expected a complete, decodable image"):
        decode_image(data[: len(data) // 2], 3, name="upload")


def test_decode_refuses_huge_images_before_decoding():
    data = png_bytes(np.zeros((600, 700), np.uint8))
    with pytest.raises(DataError, match=r"at most 100,000 pixels; found 700x600 \(420,000 pixels\)"):
        decode_image(data, 3, name="big.png", max_pixels=100_000)


def test_decode_16bit_tiff_rescales_to_8bit(tmp_path):
    ramp = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16)
    Image.fromarray(ramp).save(tmp_path / "ramp.tif")
    image = decode_image(tmp_path / "ramp.tif", 1)
    assert image.shape == (64, 64, 1) and image.dtype == np.uint8
    assert image.min() == 0 and image.max() == 255


def test_decode_rgba_composites_over_white():
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:4, :, 3] = 255  # top half opaque red, bottom half transparent
    image = decode_image(png_bytes(rgba), 3)
    assert image[0, 0].tolist() == [255, 0, 0] and image[-1, -1].tolist() == [255, 255, 255]


def test_missing_key_lists_the_keys_found(tmp_path):
    path = savez(tmp_path / "bloodmnist.npz", train_images=GOOD, val_images=GOOD, val_labels=LABELS)
    with pytest.raises(DataError, match=r"\[train_labels\]: expected a key named 'train_labels'; found keys "
                                        r"\['train_images', 'val_images', 'val_labels'\]"):
        load_dataset(path)


def test_missing_test_set(tmp_path):
    path = savez(tmp_path / "mars.npz", training_set=MARS)
    with pytest.raises(DataError, match=r"\[test_set\]: expected a key named 'test_set'"):
        load_dataset(path, split="test")
