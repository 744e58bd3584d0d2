"""The photograph bootstrap behind bench/mars_compare.py's intervals scores as ``miou`` does."""

from __future__ import annotations

import numpy as np
import pytest

from autobot.evaluate.interval import group_confusions, interval, miou_of_confusions, resampled_mious
from autobot.evaluate.metrics import miou


def _masks(seed=1, rows=24):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, (rows, 6, 8))  # class 4 never in the truth
    pred = np.where(rng.random(truth.shape) < 0.7, truth, rng.integers(1, 5, truth.shape))
    groups = rng.permutation(np.arange(rows) % 6) + 100  # six photographs, ids not 0..5
    return truth, pred, groups


def test_summed_group_confusions_score_as_miou():
    truth, pred, groups = _masks()
    confusions = group_confusions(truth, pred, groups)
    assert confusions.shape == (6, 5, 5)
    assert miou_of_confusions(confusions.sum(0)) == pytest.approx(miou(truth, pred))


def test_each_resample_is_the_miou_of_the_drawn_photographs():
    truth, pred, groups = _masks(seed=2)
    ids = np.unique(groups)
    got = resampled_mious(group_confusions(truth, pred, groups), resamples=5, seed=7)
    rng = np.random.default_rng(7)  # the same draws, scored the slow way
    for value in got:
        drawn = rng.integers(0, len(ids), len(ids))
        rows = np.concatenate([np.flatnonzero(groups == ids[g]) for g in drawn])
        assert value == pytest.approx(miou(truth[rows], pred[rows]))


def test_paired_gain_of_an_ensemble_with_itself_is_zero_and_a_better_one_positive():
    truth, pred, groups = _masks(seed=3, rows=60)
    same = resampled_mious(group_confusions(truth, pred, groups), 200)
    assert interval(same - same) == (0.0, 0.0)
    better = np.where(np.random.default_rng(4).random(truth.shape) < 0.5, truth, pred)
    better[truth == 0] = pred[truth == 0]
    gain = resampled_mious(group_confusions(truth, better, groups), 200) - same
    low, high = interval(gain)
    assert 0 < low <= high


def test_rows_that_do_not_line_up_are_refused():
    truth, pred, groups = _masks()
    with pytest.raises(ValueError, match="rows differ"):
        group_confusions(truth, pred[:-1], groups)
