"""Augmentation pipelines: every transform runs, masks stay aligned, a grid PNG to look at."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autobot.augment import augment_config, build_augment, cutmix, mixup, one_hot
from autobot.tasks import MARS

from conftest import BLOOD_FOLDERS as BLOOD_DIR, MARS_NPZ

BLOOD_SINGLE = {
    "hflip": dict(hflip=1.0), "vflip": dict(vflip=1.0), "rot90": dict(rot90=1.0), "affine": dict(affine=1.0),
    "bright_contrast": dict(brightness_contrast=1.0), "hue_sat": dict(hue_saturation=1.0), "stain": dict(stain=1.0),
    "blur": dict(blur=1.0), "noise": dict(noise=1.0), "jpeg": dict(jpeg=1.0, jpeg_quality=10),
    "dropout": dict(dropout=1.0), "randaugment": dict(randaugment_n=2, randaugment_m=12), "default": {},
}
_OFF = dict(hflip=0, vflip=0, rot90=0, affine=0, brightness_contrast=0, hue_saturation=0, stain=0, blur=0,
            noise=0, jpeg=0, dropout=0)


def _out_dir(tmp_path: Path) -> Path:
    out = Path(os.environ.get("AUTOBOT_TEST_OUT", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    return out


def _blood_images(n=6):
    rng = np.random.default_rng(0)
    files = sorted(BLOOD_DIR.glob("*/*.jpg"))
    return np.stack([np.asarray(Image.open(files[i]).convert("RGB")) for i in rng.choice(len(files), n, replace=False)])


def _mars_pairs(n=4):
    with np.load(MARS_NPZ) as data:
        pairs = data["training_set"][:200:50][:n]
    return pairs[:, 0][..., None], pairs[:, 1]


def _colorize(mask):
    palette = np.array([MARS.color_rgb(i) for i in range(MARS.num_classes)], dtype=np.uint8)
    return palette[mask]


def test_blood_grid(tmp_path):
    images = _blood_images()
    rows = [np.concatenate(list(images), axis=1)]
    for name, opts in BLOOD_SINGLE.items():
        aug = build_augment(augment_config("blood", **{**(_OFF if name != "default" else {}), **opts}, seed=1))
        out = np.stack([aug(image=img)["image"] for img in images])
        assert out.shape == images.shape and out.dtype == np.uint8, name
        rows.append(np.concatenate(list(out), axis=1))
    path = _out_dir(tmp_path) / "augment_blood_grid.png"
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)
    assert path.stat().st_size > 0


def test_mars_joint_transforms_keep_alignment(tmp_path):
    images, masks = _mars_pairs()
    aug = build_augment(augment_config("mars", hflip=1.0, affine=0, brightness_contrast=0, noise=0, blur=0,
                                       dropout=0, seed=0))
    out = aug(image=images[0], mask=masks[0])
    np.testing.assert_array_equal(out["mask"], masks[0][:, ::-1])
    np.testing.assert_array_equal(out["image"], images[0][:, ::-1])
    drop = build_augment(augment_config("mars", hflip=0, affine=0, brightness_contrast=0, noise=0, blur=0,
                                        dropout=1.0, seed=0))
    out = drop(image=images[1], mask=masks[1])
    holes = out["image"][..., 0] != images[1][..., 0]
    assert holes.any() and (out["mask"][holes] == 0).all()
    tiles = []
    full = build_augment(augment_config("mars", hflip=0.5, affine=0.8, dropout=0.5, noise=0.5, seed=3))
    for img, m in zip(images, masks):
        o = full(image=img, mask=m)
        assert set(np.unique(o["mask"])) <= set(range(5))
        tiles.append(np.concatenate([np.repeat(img, 3, -1), _colorize(m), np.repeat(o["image"], 3, -1),
                                     _colorize(o["mask"])], axis=1))
    Image.fromarray(np.concatenate(tiles, axis=0)).save(_out_dir(tmp_path) / "augment_mars_grid.png")


def test_seeded_compose_is_reproducible():
    img = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    a = build_augment(augment_config("blood", randaugment_n=2, seed=7))
    b = build_augment(augment_config("blood", randaugment_n=2, seed=7))
    np.testing.assert_array_equal(a(image=img)["image"], b(image=img)["image"])


def test_cutmix_mixup_soft_labels():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (8, 16, 16, 3)).astype(np.uint8)
    y = one_hot(np.arange(8) % 4, 4)
    for fn in (cutmix, mixup):
        xm, ym = fn(x, y, 1.0, rng)
        assert xm.dtype == np.float32 and xm.shape == x.shape
        np.testing.assert_allclose(ym.sum(1), 1.0, rtol=1e-6)


def test_unknown_key_raises():
    with pytest.raises(ValueError, match="unknown keys"):
        augment_config("blood", flip=1.0)


def test_to_dict_round_trip_gives_same_output():
    import albumentations as A

    img = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    aug = build_augment(augment_config("blood", randaugment_n=2, seed=5))
    again = A.from_dict(A.to_dict(aug))
    again.set_random_seed(5)
    np.testing.assert_array_equal(aug(image=img)["image"], again(image=img)["image"])
