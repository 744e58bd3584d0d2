"""Find the two halves of one photograph in a file that does not say which they are.

The course's files keep each photograph's top half just before its bottom half but carry no
``source_id`` (its ``test_set`` has none), and not every photograph kept both halves. Where the
top half's last row continues into the next row's first, the two were one photograph: on
``mars_dev.npz`` (where ``source_id`` tells) this finds 95% of the pairs and 99% of what it finds
are pairs (``tests/test_whole_photographs.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_SEAM_MSE", "seam_mse", "adjacent_halves"]

#: Mean squared grey-level step across the seam (0-255 scale) below which two adjacent rows are
#: taken for one photograph. Halves of one photograph on mars_dev.npz: median 88, 75th percentile
#: 151; adjacent rows of two photographs: 10th percentile 377, median 1523.
MAX_SEAM_MSE = 300.0


def seam_mse(images: np.ndarray) -> np.ndarray:
    """``(N-1,)``: how far row i's last pixel row is from row i+1's first (mean squared step)."""
    x = np.asarray(images, np.float32)
    x = x.reshape(x.shape[0], x.shape[1], -1)
    return ((x[:-1, -1] - x[1:, 0]) ** 2).mean(axis=1)


def adjacent_halves(images: np.ndarray, max_seam: float = MAX_SEAM_MSE) -> np.ndarray:
    """``(P, 2)`` row pairs (top, bottom): adjacent rows whose seam matches, each row in one pair.

    Reading the rows in order, a row pairs with the next one when their seam is under
    ``max_seam``, unless the next row matches the row after it better still (then the next row
    is the top of that pair instead).
    """
    if len(images) < 2:
        return np.zeros((0, 2), np.int64)
    steps = seam_mse(images)
    pairs, i = [], 0
    while i < len(steps):
        ahead = steps[i + 1] if i + 1 < len(steps) else np.inf
        if steps[i] < max_seam and not ahead < steps[i]:
            pairs.append((i, i + 1))
            i += 2
        else:
            i += 1
    return np.asarray(pairs, np.int64).reshape(-1, 2)
