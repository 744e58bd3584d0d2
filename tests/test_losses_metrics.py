"""Loss and metric math on hand-made arrays; the Keras mIoU matches the numpy one."""

from __future__ import annotations

import numpy as np
import pytest

from autobot.evaluate.metrics import (
    MaskedMeanIoU,
    classification_report,
    miou,
    per_class_iou,
    pixel_accuracy,
    scored_argmax,
    segmentation_report,
)
from autobot.train.losses import make_loss


def _probs(labels, k, hit=0.97):
    p = np.full((*labels.shape, k), (1 - hit) / (k - 1), dtype="float32")
    np.put_along_axis(p, labels[..., None], hit, axis=-1)
    return p


def test_cross_entropy_matches_hand_value():
    y = np.array([0, 1])
    p = np.array([[0.8, 0.2], [0.4, 0.6]], dtype="float32")
    expected = -(np.log(0.8) + np.log(0.6)) / 2
    assert float(make_loss("ce")(y, p)) == pytest.approx(expected, rel=1e-5)
    # one-hot soft labels give the same value as sparse labels
    assert float(make_loss("ce")(np.eye(2)[y], p)) == pytest.approx(expected, rel=1e-5)


def test_focal_is_below_ce_and_matches_formula():
    y = np.array([0, 1])
    p = np.array([[0.8, 0.2], [0.4, 0.6]], dtype="float32")
    expected = -((0.2**2) * np.log(0.8) + (0.4**2) * np.log(0.6)) / 2
    assert float(make_loss("focal", gamma=2)(y, p)) == pytest.approx(expected, rel=1e-5)


def test_dice_perfect_is_zero_and_wrong_is_one():
    y = np.array([[0, 1], [2, 1]])
    assert float(make_loss("dice", dice_smooth=0)(y, np.eye(3, dtype="float32")[y])) == pytest.approx(0, abs=1e-6)
    wrong = np.eye(3, dtype="float32")[(y + 1) % 3]
    assert float(make_loss("dice", dice_smooth=0)(y, wrong)) == pytest.approx(1, abs=1e-6)


def test_class_weights_scale_cross_entropy():
    y = np.array([1, 1])
    p = np.array([[0.5, 0.5], [0.5, 0.5]], dtype="float32")
    base = float(make_loss("ce")(y, p))
    assert float(make_loss("ce", class_weights=[1.0, 3.0])(y, p)) == pytest.approx(3 * base, rel=1e-5)


@pytest.mark.parametrize("spec", ["ce", "focal", "dice", "lovasz", "focal+dice", "ce+dice", "focal+lovasz"])
def test_background_pixels_carry_no_loss(spec):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, (2, 8, 8))
    p = rng.dirichlet(np.ones(5), (2, 8, 8)).astype("float32")
    changed = p.copy()
    changed[y == 0] = np.eye(5, dtype="float32")[3]  # anything at all on background pixels
    loss = make_loss(spec, ignore_label=0, class_weights=[1, 1, 2, 3, 4])
    assert float(loss(y, p)) == pytest.approx(float(loss(y, changed)), rel=1e-6)
    only_background = np.zeros_like(y)
    assert np.isfinite(float(loss(only_background, p)))


def test_lovasz_is_one_minus_miou_for_hard_predictions():
    """On one-hot predictions the Lovasz extension is exactly the Jaccard loss it extends."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 5, (3, 16, 32))
    predicted = rng.integers(1, 5, (3, 16, 32))
    predicted[truth == 4] = 4  # some classes nearly right, others not
    loss = make_loss("lovasz", ignore_label=0)
    report = segmentation_report(truth, predicted, ["background", "soil", "bedrock", "sand", "big_rock"], 0)
    assert float(loss(truth, np.eye(5, dtype="float32")[predicted])) == pytest.approx(1 - report["miou"], abs=1e-5)
    assert float(loss(truth, np.eye(5, dtype="float32")[np.where(truth == 0, 2, truth)])) == pytest.approx(0, abs=1e-6)


def test_lovasz_falls_as_probabilities_move_toward_the_truth():
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 5, (2, 8, 8))
    noise = rng.dirichlet(np.ones(5), (2, 8, 8)).astype("float32")
    loss = make_loss("lovasz", ignore_label=0)
    values = [float(loss(truth, (1 - a) * noise + a * _probs(truth, 5))) for a in (0.0, 0.3, 0.6, 0.9)]
    assert values == sorted(values, reverse=True) and values[0] - values[-1] > 0.3


def test_label_smoothing_raises_loss_of_confident_right_answer():
    y = np.array([0, 1])
    p = np.array([[0.99, 0.01], [0.01, 0.99]], dtype="float32")
    assert float(make_loss("ce", label_smoothing=0.1)(y, p)) > float(make_loss("ce")(y, p))


def test_bad_loss_spec():
    with pytest.raises(ValueError, match="expected terms"):
        make_loss("ce+hinge")


def test_miou_hand_example():
    truth = np.array([[0, 1, 1, 2], [2, 2, 3, 4]])
    pred = np.array([[4, 1, 2, 2], [2, 2, 3, 3]])
    # class 1: tp 1, fn 1 -> 1/2; class 2: tp 3, fp 1 -> 3/4; class 3: tp 1, fp 1 -> 1/2;
    # class 4: its one pixel missed, and the 4 predicted on background does not count -> 0
    iou = per_class_iou(truth, pred)
    np.testing.assert_allclose(iou[1:], [0.5, 0.75, 0.5, 0.0])
    assert miou(truth, pred) == pytest.approx((0.5 + 0.75 + 0.5 + 0) / 4)
    assert pixel_accuracy(truth, pred) == pytest.approx(5 / 7)


def test_keras_metric_equals_numpy_miou():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 5, (6, 16, 32))
    probs = rng.dirichlet(np.ones(5) * 0.5, (6, 16, 32)).astype("float32")
    metric = MaskedMeanIoU(num_classes=5, ignore_label=0)
    for i in range(0, 6, 2):  # accumulates across batches like fit() does
        metric.update_state(truth[i : i + 2], probs[i : i + 2])
    expected = miou(truth, scored_argmax(probs, 0))
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_scored_argmax_never_returns_background():
    probs = np.array([[0.9, 0.05, 0.05], [0.1, 0.2, 0.7]])
    np.testing.assert_array_equal(scored_argmax(probs, 0), [1, 2])


def test_classification_report():
    truth = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 2, 0])
    r = classification_report(truth, pred, ["a", "b", "c"])
    assert r["accuracy"] == pytest.approx(4 / 6)
    assert r["per_class_recall"] == pytest.approx({"a": 0.5, "b": 1.0, "c": 0.5})
    # f1: a p=.5 r=.5 -> .5; b p=2/3 r=1 -> .8; c p=1 r=.5 -> 2/3
    assert r["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert r["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
