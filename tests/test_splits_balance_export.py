"""Splits are stratified, seeded and leak-free; oversampling balances; npz export round-trips exactly."""

from __future__ import annotations

import numpy as np
import pytest

from autobot.data import load_dataset, oversample, oversample_indices, save_course_npz, strata, train_val_indices
from autobot.errors import DataError
from conftest import BLOOD_NPZ, MARS_NPZ


@pytest.fixture(scope="module")
def blood():
    return load_dataset(BLOOD_NPZ)


@pytest.fixture(scope="module")
def mars():
    return load_dataset(MARS_NPZ).take(np.arange(3000))


def test_blood_split_is_stratified_and_seeded(blood):
    train, val = train_val_indices(blood, 0.2, seed=7)
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == len(blood)
    assert abs(len(val) / len(blood) - 0.2) < 0.01
    overall = np.bincount(blood.targets, minlength=8) / len(blood)
    in_val = np.bincount(blood.targets[val], minlength=8) / len(val)
    assert np.abs(overall - in_val).max() < 0.01
    again, _ = train_val_indices(blood, 0.2, seed=7)
    other, _ = train_val_indices(blood, 0.2, seed=8)
    assert np.array_equal(train, again) and not np.array_equal(train, other)


def test_mars_split_keeps_both_halves_of_a_photograph_together(mars):
    train, val = train_val_indices(mars, 0.2, seed=1)
    assert set(mars.groups[train]).isdisjoint(mars.groups[val])
    assert 0.12 < len(val) / len(mars) < 0.28
    big_rock = strata(mars) == 4
    assert big_rock[val].sum() > 0 and big_rock[train].sum() > 0, "rare class on both sides"


def test_mars_split_can_ignore_groups(mars):
    train, val = train_val_indices(mars, 0.2, seed=1, groups=None)
    assert not set(mars.groups[train]).isdisjoint(mars.groups[val])


def test_oversampling_balances_and_keeps_every_row(blood):
    indices = oversample_indices(blood.targets, seed=3)
    counts = np.bincount(blood.targets[indices], minlength=8)
    assert (counts == np.bincount(blood.targets).max()).all()
    assert set(indices.tolist()) == set(range(len(blood)))
    balanced = oversample(blood, seed=3)
    assert len(balanced) == len(indices) and np.array_equal(balanced.targets, blood.targets[indices])


def test_mars_oversampling_lifts_the_rarest_class(mars):
    balanced = oversample(mars, seed=0)
    before = (mars.targets == 4).mean()
    after = (balanced.targets == 4).mean()
    assert after > 3 * before


def test_blood_round_trip_is_exact(tmp_path, blood_raw):
    dataset = load_dataset(BLOOD_NPZ)
    out = save_course_npz(dataset, tmp_path / "out" / "blood.npz")
    with np.load(out) as written:
        assert sorted(written.files) == ["images", "labels"]
        for key in ("images", "labels"):
            assert written[key].dtype == blood_raw[key].dtype and written[key].shape == blood_raw[key].shape
            np.testing.assert_array_equal(written[key], blood_raw[key])
    again = load_dataset(out)
    np.testing.assert_array_equal(again.images, dataset.images)
    np.testing.assert_array_equal(again.targets, dataset.targets)
    assert again.fingerprint() == dataset.fingerprint()
    assert [p.name for p in out.parent.iterdir()] == ["blood.npz"], "no temporary files left behind"


def test_mars_round_trip_is_exact(tmp_path, mars_raw):
    dataset = load_dataset(MARS_NPZ)
    out = save_course_npz(dataset, tmp_path / "mars.npz")
    with np.load(out) as written:
        np.testing.assert_array_equal(written["training_set"], mars_raw["training_set"])
        np.testing.assert_array_equal(written["source_id"], mars_raw["source_id"])
    test = save_course_npz(load_dataset(MARS_NPZ, split="test"), tmp_path / "test.npz")
    with np.load(test) as written:
        np.testing.assert_array_equal(written["test_set"], mars_raw["test_set"])


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    dataset = load_dataset(BLOOD_NPZ).take(np.arange(10))
    target = save_course_npz(dataset, tmp_path / "kept.npz")
    before = target.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", disk_full)
    with pytest.raises(DataError, match="kept.npz.*No space left"):  # names the file and the cause
        save_course_npz(dataset.take(np.arange(5)), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["kept.npz"]
