"""Put Mars halves back together: one row per photograph, its top half over its bottom half.

The course cut each photograph into two 64x128 halves, so a model trained on them never sees the
context across the cut, yet a user's upload is a whole photograph. Training on the stitched
frames (``TrainConfig.whole_photographs``) trains on what the app serves.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from autobot.data.dataset import Dataset

__all__ = ["stitch_photographs", "photograph_rows"]


def stitch_photographs(dataset: Dataset) -> tuple[Dataset, np.ndarray]:
    """One ``(2H, W)`` row per photograph whose two halves are both in ``dataset``.

    Returns:
        The frames (images and masks stacked top over bottom; ids ``"top+bottom"``), and for each
        row of ``dataset`` the frame it went into (-1 for a half whose partner is missing).
    """
    pairs = dataset.photograph_halves()
    top, bottom = pairs[:, 0], pairs[:, 1]
    frames = replace(
        dataset,
        images=np.concatenate([dataset.images[top], dataset.images[bottom]], axis=1),
        targets=None if dataset.targets is None else np.concatenate([dataset.targets[top], dataset.targets[bottom]], axis=1),
        ids=np.array([f"{a}+{b}" for a, b in zip(dataset.ids[top], dataset.ids[bottom])]),
        metadata={key: values[top] for key, values in dataset.metadata.items()},
        notes=(*dataset.notes, f"stitched {len(pairs)} photographs from their top and bottom halves"),
    )
    frame_of = np.full(len(dataset), -1, np.int64)
    frame_of[top] = frame_of[bottom] = np.arange(len(pairs))
    return frames, frame_of


def photograph_rows(dataset: Dataset, frame_of: np.ndarray, rows: np.ndarray, sample: bool) -> np.ndarray:
    """The frames for rows of the halves' dataset.

    ``sample``: ``rows`` is a (bootstrap) sample: each draw of a photograph's top half draws its
    frame, so the frames keep the sample's repeats and about its number of pixels. Otherwise each
    photograph with a row in ``rows`` once. Halves without their partner are left out.
    """
    rows = np.asarray(rows, np.int64)
    if sample:
        tops = np.zeros(len(dataset), bool)
        tops[dataset.photograph_halves()[:, 0]] = True
        return frame_of[rows[tops[rows]]]
    frames = frame_of[rows]
    return np.unique(frames[frames >= 0])
