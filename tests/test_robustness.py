"""Corrupted-copy evaluation and held-out scoring."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from autobot.cli import main as cli_main
from autobot.data import load_dataset, train_val_indices
from autobot.ensemble import bootstrap_rows, load_ensemble, out_of_bag_rows, split_rows
from autobot.errors import DataError
from autobot.evaluate.corruptions import corrupt
from conftest import BLOOD_NPZ, MARS_NPZ


def test_corruption_is_seeded_and_keeps_shapes():
    images = load_dataset(BLOOD_NPZ).images[:12]
    first, _ = corrupt(images, severity=2, seed=3)
    again, _ = corrupt(images, severity=2, seed=3)
    other, _ = corrupt(images, severity=2, seed=4)
    assert first.shape == images.shape and first.dtype == np.uint8
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert np.abs(first.astype(int) - images).mean() > 5


def test_mars_corruption_moves_masks_with_images():
    mars = load_dataset(MARS_NPZ).take(np.arange(20))
    images, masks = corrupt(mars.images, mars.targets, severity=3, seed=0)
    assert images.shape == mars.images.shape and masks.shape == mars.targets.shape
    for original, moved in zip(mars.targets, masks):  # a mask is either unchanged or rotated by 180 degrees
        assert np.array_equal(moved, original) or np.array_equal(moved, np.rot90(original, 2))


def test_unknown_severity():
    with pytest.raises(ValueError, match="severity"):
        corrupt(np.zeros((1, 96, 96, 3), np.uint8), severity=7)


def test_evaluate_on_corrupted_copies(tiny_models, tmp_path, capsys):
    subset = tmp_path / "blood.npz"
    with np.load(BLOOD_NPZ) as data:
        np.savez(subset, images=data["images"][:40], labels=data["labels"][:40])
    assert cli_main(["evaluate", "--task", "blood", "--data", str(subset), "--models", str(tiny_models / "blood"),
                     "--corrupt", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["corruption_severity"] == 2 and report["n"] == 40


def test_heldout_refuses_data_the_ensemble_was_not_trained_on(tiny_models, capsys):
    assert cli_main(["evaluate", "--task", "blood", "--data", str(BLOOD_NPZ), "--models", str(tiny_models / "blood"),
                     "--heldout"]) == 2
    assert "[--heldout]" in capsys.readouterr().err


def test_trained_and_heldout_rows_partition_the_file_the_ensemble_was_trained_on(tiny_models, mars_raw, tmp_path,
                                                                                 capsys):
    rows = np.arange(0, 640, 10)  # the rows of tiny_models' Mars ensemble, in the course's layout
    data = tmp_path / "mars_rows.npz"
    np.savez_compressed(data, training_set=mars_raw["training_set"][rows], source_id=mars_raw["source_id"][rows])
    common = ["evaluate", "--task", "mars", "--data", str(data), "--models", str(tiny_models / "mars")]
    reports = {}
    for part in ("--heldout", "--trained", "--out-of-bag"):  # in-process: the command-line path, one TensorFlow start
        assert cli_main(common + [part]) == 0
        reports[part] = json.loads(capsys.readouterr().out)
    assert reports["--heldout"]["n"] + reports["--trained"]["n"] == len(rows)
    assert 0 < reports["--heldout"]["n"] < reports["--trained"]["n"]
    manifest = load_ensemble(tiny_models / "mars").manifest
    assert reports["--out-of-bag"]["n"] == len(out_of_bag_rows(manifest, load_dataset(data, "mars"))) > 0
    assert reports["--out-of-bag"]["n"] < reports["--trained"]["n"]
    with pytest.raises(SystemExit) as stopped:
        cli_main(common + ["--heldout", "--out-of-bag"])
    assert stopped.value.code == 2 and "not allowed with" in capsys.readouterr().err


def test_out_of_bag_rows_leave_out_every_photograph_a_member_drew_a_half_of():
    dataset = load_dataset(MARS_NPZ).take(np.arange(400))
    config = {"val_fraction": 0.15, "seed": 1337}
    manifest = {"config": config, "bootstrap": True, "members": [{"seed": 1338}, {"seed": 1339}]}
    train_idx, val_idx = train_val_indices(dataset, 0.15, 1337)
    sampled = np.concatenate([bootstrap_rows(train_idx, 1337, seed) for seed in (1338, 1339)])
    oob = out_of_bag_rows(manifest, dataset)
    assert len(dataset.photograph_halves()) > 100  # the rows come in photographs, so groups matter
    drawn_photographs = set(dataset.groups[sampled])
    expected = [row for row in train_idx if dataset.groups[row] not in drawn_photographs]
    assert len(oob) > 0 and sorted(oob) == sorted(expected)
    # stricter than rows outside every sample: a row whose other half was drawn is left out
    assert len(oob) < len(np.setdiff1d(train_idx, sampled))
    assert not set(oob) & set(val_idx)
    one_member = out_of_bag_rows({**manifest, "members": [{"seed": 1338}]}, dataset)
    assert set(oob) < set(one_member)
    assert len(out_of_bag_rows({**manifest, "bootstrap": False}, dataset)) == 0
    # an ensemble with no such rows is refused by the flag's name, not scored on nothing
    unbagged = SimpleNamespace(manifest={**manifest, "bootstrap": False, "data": {"fingerprint": dataset.fingerprint()}})
    with pytest.raises(DataError, match=r"mars_rows.npz \[--out-of-bag\]: expected training rows outside"):
        split_rows(unbagged, dataset, "outofbag", source="mars_rows.npz")
    assert len(split_rows(SimpleNamespace(manifest=unbagged.manifest | {"bootstrap": True}), dataset, "outofbag")) == len(oob)


def test_predict_refuses_an_ensemble_of_the_other_task(tiny_models, tmp_path, capsys):
    assert cli_main(["predict", "--task", "blood", "--data", str(BLOOD_NPZ), "--models", str(tiny_models / "mars"),
                     "--out", str(tmp_path / "p.npz")]) == 2
    assert "[task]: expected 'blood'; found 'mars'" in capsys.readouterr().err
    assert not (tmp_path / "p.npz").exists()
