"""Masks that belong to another image: the same mask on two different pictures.

The course's Mars outliers were foreign frames carrying a mask copied from elsewhere. A
crowd-sourced mask of real terrain is close to unique, so when two rows whose images are
not duplicates carry the same non-trivial mask, one of them is not its own. The copy is
the row that looks less like the rest of the data (higher outlier score): in every one of
the 60 such pairs of ``mars_challenge_like.npz`` the foreign frame scored higher than the
row it borrowed from.

Simple masks do repeat among genuine frames: a straight horizon band over one terrain class
is the same mask on many photographs (84 identical-mask groups in ``mars_dev.npz``, all but
two made of at most 8 distinct rows and columns). Such masks, and groups of three or more
different images, prove nothing and are left alone.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

#: A mask with at most this many distinct rows plus distinct columns (a few straight bands) may
#: legitimately repeat.
SIMPLE_MASK_LINES = 8


def mask_lines(mask: np.ndarray) -> int:
    """Distinct rows plus distinct columns: 2 for a uniform mask, a handful for straight bands."""
    return len({row.tobytes() for row in mask}) + len({col.tobytes() for col in np.ascontiguousarray(mask.T)})


def borrowed_masks(masks: np.ndarray, scores: np.ndarray,
                   duplicate_groups: Sequence[Sequence[int]] = ()) -> dict[int, int]:
    """``{row carrying a borrowed mask: the row it matches}``.

    Args:
        masks: ``(N, H, W)`` integer masks.
        scores: Outlier score per row (higher = less like the rest); picks the copy in a pair.
        duplicate_groups: Rows whose images are copies of each other count as one image.
    """
    same_image = {}
    for group in duplicate_groups:
        for row in group:
            same_image[int(row)] = int(min(group))
    by_mask: dict[bytes, list[int]] = defaultdict(list)
    for row, mask in enumerate(masks):
        by_mask[hashlib.blake2b(np.ascontiguousarray(mask).tobytes(), digest_size=16).digest()].append(row)
    found: dict[int, int] = {}
    for rows in by_mask.values():
        images: dict[int, list[int]] = defaultdict(list)
        for row in rows:
            images[same_image.get(row, row)].append(row)
        if len(images) != 2 or mask_lines(masks[rows[0]]) <= SIMPLE_MASK_LINES:
            continue
        first, second = images.values()
        copy, original = (first, second) if scores[first].max() > scores[second].max() else (second, first)
        for row in copy:
            found[int(row)] = int(original[0])
    return found
