"""Multi-scale Mars inference: ``Ensemble.predict(..., scales=...)`` and ``--scales``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from autobot.cli import main
from autobot.data import load_dataset
from autobot.ensemble import load_ensemble
from autobot.ensemble.bagging import multi_scale_size
from autobot.ensemble.combine import combine_probs
from autobot.errors import DataError
from conftest import BLOOD_NPZ, MARS_NPZ


@pytest.fixture(scope="module")
def mars_rows():
    """Real rows with both halves of several photographs and some rows on their own."""
    dataset = load_dataset(MARS_NPZ).take(np.arange(24))
    return dataset, dataset.photograph_halves()[:8]


def test_multi_scale_sizes_round_to_sixteen():
    assert multi_scale_size((64, 128), 1.25) == (80, 160)
    assert multi_scale_size((128, 128), 1.5) == (192, 192)
    assert multi_scale_size((64, 128), 0.1) == (16, 16)


def test_scales_are_combined_like_members_whether_streamed_or_not(tiny_models, mars_rows):
    ensemble = load_ensemble(tiny_models / "mars", precision="float32")
    dataset, halves = mars_rows
    assert 0 < 2 * len(halves) < len(dataset)  # whole photographs and single halves both take the scaled path
    plain = ensemble.predict(dataset.images, halves=halves)
    same = ensemble.predict(dataset.images, halves=halves, scales=(1.0,))
    assert np.array_equal(plain.probs, same.probs)

    larger = ensemble.predict(dataset.images, halves=halves, scales=(1.5,), keep_members=False)
    assert larger.probs.shape == plain.probs.shape and larger.member_probs is None
    assert not np.allclose(larger.probs, plain.probs, atol=1e-3)
    both = ensemble.predict(dataset.images, halves=halves, scales=(1.0, 1.5))
    assert both.member_probs.shape == plain.member_probs.shape
    expected = combine_probs(np.stack([plain.probs, larger.probs]), ensemble.combine)
    np.testing.assert_allclose(both.probs, expected, atol=1e-5)
    # resizing in the rule's own space lets members be resized one by one or combined first
    np.testing.assert_allclose(combine_probs(both.member_probs, ensemble.combine), both.probs, atol=1e-5)
    streamed = ensemble.predict(dataset.images, halves=halves, scales=(1.0, 1.5), keep_members=False)
    np.testing.assert_allclose(streamed.probs, both.probs, atol=1e-5)
    np.testing.assert_allclose(both.probs.sum(-1), 1.0, atol=1e-4)
    assert (both.labels != 0).all()

    ensemble.combine = "geometric" if ensemble.combine == "mean" else "mean"
    other_rule = ensemble.predict(dataset.images, halves=halves, scales=(1.0, 1.5))
    streamed = ensemble.predict(dataset.images, halves=halves, scales=(1.0, 1.5), keep_members=False)
    np.testing.assert_allclose(streamed.probs, other_rule.probs, atol=1e-5)


def test_scales_are_refused_for_blood_and_out_of_range(tiny_models, mars_rows):
    blood = load_ensemble(tiny_models / "blood")
    images = load_dataset(BLOOD_NPZ).images[:2]
    with pytest.raises(DataError, match=r"\[scales\]: expected 1 for task 'blood'"):
        blood.predict(images, scales=(1.0, 1.25))
    mars = load_ensemble(tiny_models / "mars")
    with pytest.raises(DataError, match=r"\[scales\]: expected one or more factors in \(0, 4\]"):
        mars.predict(mars_rows[0].images, scales=(1.0, -2.0))


def test_evaluate_reports_the_scales_it_used_and_refuses_bad_ones(tiny_models, tmp_path, capsys):
    data = tmp_path / "mars_rows.npz"
    with np.load(MARS_NPZ) as raw:
        np.savez_compressed(data, training_set=raw["training_set"][:24], source_id=raw["source_id"][:24])
    common = ["evaluate", "--task", "mars", "--data", str(data), "--models", str(tiny_models / "mars"),
              "--precision", "float32"]
    assert main(common + ["--scales", "1,1.5"]) == 0
    scaled = json.loads(capsys.readouterr().out)
    assert scaled["scales"] == [1.0, 1.5] and scaled["n"] == 24
    ensemble = load_ensemble(tiny_models / "mars", precision="float32")
    dataset = load_dataset(data, "mars")
    expected = ensemble.evaluate(dataset, halves=ensemble.whole_photographs(dataset), scales=(1.0, 1.5))
    assert scaled["miou"] == pytest.approx(expected["miou"], abs=1e-9)
    assert scaled["pixel_accuracy"] == pytest.approx(expected["pixel_accuracy"], abs=1e-9)
    with pytest.raises(SystemExit) as stopped:
        main(common + ["--scales", "1,big"])
    assert stopped.value.code == 2 and "--scales: expected numbers separated by commas" in capsys.readouterr().err
