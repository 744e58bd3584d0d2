"""Find the two halves of one photograph in a file that does not say which they are.

The course's files keep each photograph's top half just before its bottom half but carry no
``source_id`` (its ``test_set`` has none), and not every photograph kept both halves. Where the
top half's last pixel rows continue into the next row's first ones, the two were one photograph.
A grey-level step alone misses textured seams (where each half is already steep at its edge),
so a logistic score weighs it against how steep each half is there and how well the rows
correlate and extrapolate. Fitted and measured by ``python bench/mars_seams.py`` (five folds of
500-row blocks of ``mars_dev.npz``, each scored by a fit on the other four): it finds 99.9% of the
pairs and 99.8% of what it finds are pairs, where the step alone (mean squared step under 300)
found 94.8% and 99.3%.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SEAM_FEATURES", "seam_features", "seam_scores", "seam_mse", "adjacent_halves"]

SEAM_FEATURES = ("log_step", "correlation", "log_extrapolation", "log_edge_top", "log_edge_bottom",
                 "log_abs_step", "log_median_step")

#: Logistic weights over :data:`SEAM_FEATURES` and the intercept, fitted on all of mars_dev.npz
#: by ``python bench/mars_seams.py`` (which prints them).
SEAM_WEIGHTS = (6.0571, 4.6853, -7.7786, 1.4384, 1.572, -2.2537, -4.418)
SEAM_INTERCEPT = 13.6264
#: Scores above this pair two rows. Below 0 (probability 0.05): most adjacent rows with a
#: plausible seam are pairs, and a missed pair costs more than a wrong one; chosen by the same
#: blocked cross-validation as the weights.
SEAM_THRESHOLD = -3.0


def seam_mse(images: np.ndarray) -> np.ndarray:
    """``(N-1,)``: how far row i's last pixel row is from row i+1's first (mean squared step)."""
    x = np.asarray(images, np.float32)
    x = x.reshape(x.shape[0], x.shape[1], -1)
    return ((x[:-1, -1] - x[1:, 0]) ** 2).mean(axis=1)


def seam_features(images: np.ndarray) -> np.ndarray:
    """``(N-1, 7)``: :data:`SEAM_FEATURES` for each row and the next, on the 0-255 grey scale."""
    x = np.asarray(images, np.float32)
    x = x.reshape(x.shape[0], x.shape[1], -1)
    top_last, top_before = x[:-1, -1], x[:-1, -2]
    bottom_first, bottom_after = x[1:, 0], x[1:, 1]
    step = bottom_first - top_last
    centred_top = top_last - top_last.mean(axis=1, keepdims=True)
    centred_bottom = bottom_first - bottom_first.mean(axis=1, keepdims=True)
    correlation = (centred_top * centred_bottom).sum(axis=1) / np.sqrt(
        (centred_top ** 2).sum(axis=1) * (centred_bottom ** 2).sum(axis=1) + 1e-6)
    # each half's edge row continued one row across the seam, against the other half's edge row
    extrapolation = (((2 * top_last - top_before - bottom_first) ** 2).mean(axis=1)
                     + ((2 * bottom_first - bottom_after - top_last) ** 2).mean(axis=1)) / 2
    return np.stack([
        np.log1p((step ** 2).mean(axis=1)),
        correlation,
        np.log1p(extrapolation),
        np.log1p(((top_last - top_before) ** 2).mean(axis=1)),
        np.log1p(((bottom_after - bottom_first) ** 2).mean(axis=1)),
        np.log1p(np.abs(step).mean(axis=1)),
        np.log1p(np.median(np.abs(step), axis=1)),
    ], axis=1)


def seam_scores(images: np.ndarray) -> np.ndarray:
    """``(N-1,)`` log-odds that row i and row i+1 are the top and bottom of one photograph."""
    return seam_features(images) @ np.asarray(SEAM_WEIGHTS, np.float32) + SEAM_INTERCEPT


def adjacent_halves(images: np.ndarray, threshold: float = SEAM_THRESHOLD,
                    scores: np.ndarray | None = None) -> np.ndarray:
    """``(P, 2)`` row pairs (top, bottom): adjacent rows whose seam matches, each row in one pair.

    Reading the rows in order, a row pairs with the next one when their score is over
    ``threshold``, unless the next row matches the row after it better still (then the next row
    is the top of that pair instead). ``scores`` (from :func:`seam_scores`) lets a caller try
    other weights.
    """
    if len(images) < 2:
        return np.zeros((0, 2), np.int64)
    scores = seam_scores(images) if scores is None else np.asarray(scores)
    pairs, i = [], 0
    while i < len(scores):
        ahead = scores[i + 1] if i + 1 < len(scores) else -np.inf
        if scores[i] > threshold and not ahead > scores[i]:
            pairs.append((i, i + 1))
            i += 2
        else:
            i += 1
    return np.asarray(pairs, np.int64).reshape(-1, 2)
