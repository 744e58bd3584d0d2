"""Exact and near duplicates, grouped, with label conflicts inside each group.

Exact: a hash of the pixels. Near: neighbours in a small brightness-normalised thumbnail
space, confirmed by normalised cross-correlation that tolerates a few pixels of shift,
so re-encoded, shifted, brightness-jittered and slightly blurred copies are caught.

Two independent measures must agree for a near pair: the pictures correlate (raw pixels,
or after a 1-px Gaussian blur, which blurred and re-encoded copies need) *and* their detail
(a band-pass: blur 0.7 px minus blur 2 px) correlates too. Smooth, low-information pictures
(gradients, flat frames, out-of-focus shots) correlate with one another whatever they show;
their detail does not.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter
from sklearn.neighbors import NearestNeighbors

from autobot.cleaning.embed import downsample

#: Minimum shift-tolerant correlation of two thumbnails to call them near duplicates.
NEAR_THRESHOLD = 0.975
#: ... or minimum correlation after a 1-px blur (clean Mars frames reach 0.986, copies 0.994).
SMOOTH_THRESHOLD = 0.99
#: ... and in both cases minimum correlation of the band-pass detail (copies: 0.91 and up;
#: smooth synthetic frames that correlate at 0.999: 0.4 and below).
DETAIL_THRESHOLD = 0.7


@dataclass
class DuplicateResult:
    """Duplicate groups (row indices, sorted, first = the one kept).

    Args:
        exact_groups: Groups of pixel-identical rows.
        near_groups: Groups joined by near-duplicate pairs (exact groups merged in).
        pairs: ``(i, j, similarity)`` near-duplicate pairs found.
        conflicts: Indices of groups in ``groups`` whose rows disagree on their target.
    """

    exact_groups: list[list[int]]
    near_groups: list[list[int]]
    pairs: list[tuple[int, int, float]]
    groups: list[list[int]] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)


def pixel_hashes(images: np.ndarray) -> list[str]:
    return [hashlib.blake2b(np.ascontiguousarray(im).tobytes(), digest_size=16).hexdigest() for im in images]


def exact_groups(images: np.ndarray) -> list[list[int]]:
    """Groups of rows with identical pixels."""
    seen: dict[str, list[int]] = {}
    for i, h in enumerate(pixel_hashes(images)):
        seen.setdefault(h, []).append(i)
    return [g for g in seen.values() if len(g) > 1]


def _thumbnails(images: np.ndarray, size: int = 32) -> np.ndarray:
    """Grayscale thumbnails about ``size`` px high, float32 ``(N, h, w)``."""
    factor = max(1, images.shape[1] // size)
    return downsample(images, factor).mean(-1)


def _normalise(x: np.ndarray) -> np.ndarray:
    x = x.reshape(len(x), -1)
    x = x - x.mean(1, keepdims=True)
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-6)


def shifted_correlation(a: np.ndarray, b: np.ndarray, max_shift: int = 2, batch: int = 2048) -> np.ndarray:
    """Highest normalised correlation of paired images over shifts up to ``max_shift`` px.

    Args:
        a: ``(P, H, W)`` or ``(P, H, W, C)`` images.
        b: Their partners, same shape.
        max_shift: Largest shift tried in each direction.
        batch: Pairs per vectorised step (bounds memory).

    Returns:
        ``(P,)`` best correlation per pair, in ``[-1, 1]``.
    """
    out = np.full(len(a), -1.0, np.float32)
    h, w = a.shape[1:3]
    m = max_shift
    for s in range(0, len(a), batch):
        core = _normalise(a[s : s + batch, m : h - m, m : w - m])
        for dy in range(-m, m + 1):
            for dx in range(-m, m + 1):
                window = _normalise(b[s : s + batch, m + dy : h - m + dy, m + dx : w - m + dx])
                out[s : s + batch] = np.maximum(out[s : s + batch], (core * window).sum(1))
    return out


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of NHWC float images over height and width only."""
    return gaussian_filter(x, (0, sigma, sigma, 0), mode="nearest")


def near_pairs(images: np.ndarray, threshold: float = NEAR_THRESHOLD, k: int = 8,
               coarse_threshold: float = 0.85, smooth_threshold: float = SMOOTH_THRESHOLD,
               detail_threshold: float = DETAIL_THRESHOLD) -> list[tuple[int, int, float]]:
    """Pairs of rows that are near copies (shifted, re-encoded, brightness-jittered, blurred).

    Neighbours in a 16-px thumbnail space are candidates; a coarse shift-tolerant check on
    32-px thumbnails prunes them, and full-resolution colour correlation with up to 4 px of
    shift decides: raw correlation ``>= threshold`` or correlation after a 1-px blur
    ``>= smooth_threshold``, and band-pass detail correlation ``>= detail_threshold``.
    Correlation ignores brightness and contrast changes by construction. The similarity
    reported is the larger of the raw and blurred correlations.
    """
    n = len(images)
    if n < 2:
        return []
    thumbs = _thumbnails(images)
    small = _normalise(downsample(thumbs[..., None], 2)[..., 0])
    _, idx = NearestNeighbors(n_neighbors=min(k + 1, n)).fit(small).kneighbors(small)
    cand = {(min(i, int(j)), max(i, int(j))) for i in range(n) for j in idx[i, 1:] if i != j}
    if not cand:
        return []
    pa, pb = np.array(sorted(cand)).T
    coarse = shifted_correlation(thumbs[pa], thumbs[pb], 2)
    keep = coarse >= coarse_threshold
    pa, pb = pa[keep], pb[keep]
    digest = np.array(pixel_hashes(images))
    differ = digest[pa] != digest[pb]  # pixel-identical pairs are exact duplicates, found by hash
    pa, pb = pa[differ], pb[differ]
    if not len(pa):
        return []
    rows = np.unique(np.r_[pa, pb])
    at = np.full(n, -1)
    at[rows] = np.arange(len(rows))
    full = images[rows].astype(np.float32)
    qa, qb = at[pa], at[pb]
    raw = shifted_correlation(full[qa], full[qb], 4, batch=256)
    smooth = _blur(full, 1.0)
    blurred = shifted_correlation(smooth[qa], smooth[qb], 4, batch=256)
    detail = _blur(full, 0.7) - _blur(full, 2.0)
    agree = shifted_correlation(detail[qa], detail[qb], 4, batch=256)
    ok = ((raw >= threshold) | (blurred >= smooth_threshold)) & (agree >= detail_threshold)
    found = [(int(a), int(b), float(max(r, s))) for a, b, r, s, keep in zip(pa, pb, raw, blurred, ok) if keep]
    return sorted(found, key=lambda p: -p[2])


def _union(n: int, links: list[tuple[int, int]]) -> list[list[int]]:
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in links:
        parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for i in {x for link in links for x in link}:
        groups.setdefault(root(i), []).append(i)
    return sorted((sorted(g) for g in groups.values() if len(g) > 1), key=lambda g: g[0])


def _disagree(targets: np.ndarray | None, group: list[int]) -> bool:
    if targets is None:
        return False
    first = targets[group[0]]
    return any(not np.array_equal(first, targets[i]) for i in group[1:])


def find_duplicates(images: np.ndarray, targets: np.ndarray | None = None, *,
                    near_threshold: float = NEAR_THRESHOLD, exclude=None) -> DuplicateResult:
    """Exact and near duplicate groups, with the groups whose targets conflict.

    Args:
        images: ``uint8`` NHWC images.
        targets: Labels or masks, to report conflicts inside groups.
        near_threshold: Minimum shift-tolerant correlation of near duplicates.
        exclude: Rows left out of near-duplicate pairs (flagged outliers: crops of one
            foreign picture look alike, and they are dropped anyway). Exact groups keep them.
    """
    exact = exact_groups(images)
    skip = set() if exclude is None else {int(i) for i in exclude}
    pairs = [p for p in near_pairs(images, near_threshold)
             if p[0] not in skip and p[1] not in skip and not np.array_equal(images[p[0]], images[p[1]])]
    links = [(g[0], i) for g in exact for i in g[1:]] + [(a, b) for a, b, _ in pairs]
    groups = _union(len(images), links)
    near = [g for g in groups if g not in exact]
    conflicts = [k for k, g in enumerate(groups) if _disagree(targets, g)]
    return DuplicateResult(exact, near, pairs, groups, conflicts)
