"""Corrupted-copy evaluation and held-out scoring."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from autobot.data import load_dataset
from autobot.evaluate.corruptions import corrupt
from conftest import BLOOD_NPZ, MARS_NPZ, ROOT


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


def run_evaluate(*args):
    return subprocess.run([sys.executable, "-m", "autobot", "evaluate", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_evaluate_on_corrupted_copies(tiny_models, tmp_path):
    subset = tmp_path / "blood.npz"
    with np.load(BLOOD_NPZ) as data:
        np.savez(subset, images=data["images"][:40], labels=data["labels"][:40])
    result = run_evaluate("--task", "blood", "--data", str(subset), "--models", str(tiny_models / "blood"),
                          "--corrupt", "2")
    assert result.returncode == 0, result.stderr[-1500:]
    report = json.loads(result.stdout)
    assert report["corruption_severity"] == 2 and report["n"] == 40


def test_heldout_refuses_data_the_ensemble_was_not_trained_on(tiny_models):
    result = run_evaluate("--task", "blood", "--data", str(BLOOD_NPZ), "--models", str(tiny_models / "blood"),
                          "--heldout")
    assert result.returncode == 2 and "[--heldout]" in result.stderr and "Traceback" not in result.stderr


def test_predict_refuses_an_ensemble_of_the_other_task(tiny_models, tmp_path):
    result = subprocess.run([sys.executable, "-m", "autobot", "predict", "--task", "blood", "--data", str(BLOOD_NPZ),
                             "--models", str(tiny_models / "mars"), "--out", str(tmp_path / "p.npz")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "[task]: expected 'blood'; found 'mars'" in result.stderr
    assert not (tmp_path / "p.npz").exists()
