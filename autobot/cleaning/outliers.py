"""Outlier scores and reasons: robust statistics, texture, patch density and DBSCAN on the projection.

Six views, each fitted on the data itself (no reference set, no truth), so they do
not depend on where foreign pictures come from:

* ``global``: a robust distance of each image's colour, brightness and texture statistics
  from their median. Whole foreign frames stand out. For blood it is a minimum covariance
  determinant (MCD) Mahalanobis distance, as calibrated; elsewhere the plain distance in
  robust (IQR) units: on Mars, MCD's fit of these 18 partly degenerate columns (bright
  histogram bins empty in most frames) was unstable, and random clean 1,000-row samples of
  mars_dev had from 0 to 83 rows above threshold depending on the sample and MCD's seed.
* ``texture``: the same robust distance on scale-free "naturalness" statistics
  (:func:`~autobot.cleaning.features.texture_stats`: power-spectrum slope and peaks, detail
  at three scales, flat area, gradient tails, gray levels). Frames that are not photographs
  of the data's kind (gradients, patterns, text, noise, drawings) stand out even when their
  brightness and contrast look like the data's. The reason names the statistic that
  deviates most ("texture unlike the rest of the set: no fine detail").
* ``patch``: a trimmed Gaussian mixture over 16x16 tiles; an image scores by its second
  most unusual tile. A sticker pasted over part of a cell stands out.
* ``edges``: a pasted rectangle's straight, sharp, axis-aligned edges
  (:func:`~autobot.cleaning.features.straight_edge_scores`), scored as an absolute ratio,
  not a robust z: clean cells reach 2.6 and Mars frames 3.3, pasted stickers 4.0 and more,
  whatever they show, so this view does not depend on where the pasted picture comes from.
* ``labels`` (classification only): outliers carry labels unrelated to what they show, so
  among look-alike candidates labels agree no better than chance. Candidates whose
  neighbourhood of candidates is labelled like real data (a staining batch, say) are
  unflagged unless their own score is very high.
* ``dbscan``: clusters of the 2-D projection, with ``eps`` from the k-distance curve.
  A cluster mostly made of flagged images is flagged whole ("far from every class").

Scores are robust z-scores (median/MAD of the log) divided by the view's threshold, so a
final score above 1 means flagged. The thresholds were chosen while measuring on the
challenge-like files and checked on synthetic contamination with other foreign sources
(``bench/synthetic.py``). Blood's staining batches give whole-image statistics a heavier
natural tail than Mars, hence a higher global threshold; the z scale also moves with the
robust fit, which is the weakest part of this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import DBSCAN
from sklearn.covariance import MinCovDet
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors

from autobot.cleaning.features import TEXTURE_NAMES, global_stats, patch_stats, straight_edge_scores, texture_stats

#: ``task name -> (global threshold, patch threshold)`` in robust-z units.
#: Mars's global 3.7 leaves 0-4 (mean 2) rows above it in random clean 1,000-row mars_dev samples.
THRESHOLDS = {"blood": (10.0, 5.0), "mars": (3.7, 6.0)}
#: Candidates scoring above this many thresholds stay flagged whatever their labels say.
SURE = 2.0
DEFAULT_THRESHOLDS = (6.0, 6.0)
#: ``task name -> texture threshold`` (robust z), set from the tails of clean data alone:
#: the largest texture z of mars_dev's 10,024 rows is 4.0 and of pbc96's 12,514 rows 5.3
#: (of random 1,000-row Mars samples 4.1, of 2,400-row pbc96 samples 5.5).
TEXTURE_THRESHOLDS = {"blood": 6.0, "mars": 4.5}
DEFAULT_TEXTURE_THRESHOLD = 6.0
#: Straight-edge ratio above which an image holds a pasted rectangle (both tasks): between the
#: clean maxima (2.6 pbc96, 3.3 mars_dev) and the stickers' minimum (4.0).
EDGE_THRESHOLD = 3.6
#: Tasks whose global view uses an MCD covariance (calibrated so); others use robust units alone.
GLOBAL_COVARIANCE = {"blood"}

#: ``(column of texture_stats, sign) -> what a deviation that way means``, for reasons.
TEXTURE_WORDS = {
    ("spectral slope", 1): "noise-like: as much fine as coarse detail",
    ("spectral slope", -1): "too smooth: little fine detail",
    ("spectral curvature", 1): "unnatural spectrum",
    ("spectral curvature", -1): "unnatural spectrum",
    ("spectral peak", 1): "a regular pattern (sharp spectral peak)",
    ("spectral peak", -1): "an unusually even spectrum",
    ("fine detail", 1): "too much fine detail (noise-like)",
    ("fine detail", -1): "no fine detail",
    ("mid detail", 1): "too much mid-scale detail",
    ("mid detail", -1): "no mid-scale detail",
    ("coarse detail", 1): "too much coarse structure",
    ("coarse detail", -1): "no coarse structure",
    ("flat area", 1): "large perfectly flat areas",
    ("flat area", -1): "no flat areas",
    ("gradient tail", 1): "sharp edges on flat ground (text or drawing)",
    ("gradient tail", -1): "uniform gradients everywhere (noise-like)",
    ("detail patchiness", 1): "detail confined to a few spots",
    ("detail patchiness", -1): "detail spread evenly (no structure)",
    ("gray levels", 1): "more grey levels than usual",
    ("gray levels", -1): "few grey levels",
    ("orientation", 1): "mostly vertical edges",
    ("orientation", -1): "mostly horizontal edges",
}


@dataclass
class OutlierResult:
    """Per-row outlier scores and flags.

    Args:
        flagged: Row indices flagged as outliers, most confident first.
        score: Final score per row (>1 means flagged).
        reasons: Human-readable reason per flagged row.
        global_z: Robust z of whole-image statistics.
        patch_z: Robust z of the most unusual tiles.
        texture_z: Robust z of the texture ("naturalness") statistics.
        edge_ratio: Straight-edge ratio (pasted rectangles), see ``EDGE_THRESHOLD``.
        clusters: DBSCAN cluster id per row (-1 = noise).
        eps: DBSCAN radius used.
    """

    flagged: np.ndarray
    score: np.ndarray
    reasons: dict[int, str]
    global_z: np.ndarray
    patch_z: np.ndarray
    clusters: np.ndarray
    eps: float
    texture_z: np.ndarray | None = None
    edge_ratio: np.ndarray | None = None


def robust_z(values: np.ndarray) -> np.ndarray:
    """(log v - median) / (1.4826 MAD): scale-free and insensitive to the outliers themselves."""
    v = np.log(np.maximum(values, 1e-9))
    med = np.median(v)
    mad = 1.4826 * np.median(np.abs(v - med)) + 1e-9
    return (v - med) / mad


def _scale(features: np.ndarray, fallback: bool = False) -> np.ndarray:
    """Centre on the median and divide by the IQR; with ``fallback``, columns whose IQR is
    zero (mostly constant: e.g. a bright-histogram bin on dark Mars frames) are divided by
    their standard deviation instead of by ~0."""
    q1, med, q3 = np.percentile(features, [25, 50, 75], axis=0)
    spread = q3 - q1
    if fallback:
        spread = np.where(spread > 1e-6, spread, 1.349 * features.std(0))
    return (features - med) / (spread + 1e-6)


def robust_distance(features: np.ndarray, seed: int = 0) -> np.ndarray:
    """Robust (MCD) Mahalanobis distance of each row of ``features`` (rows, columns) from their bulk."""
    feats = _scale(features)
    feats = feats[:, feats.std(0) > 1e-6]
    fit_rows = np.arange(0, len(feats), max(1, len(feats) // 4000))  # row order kept: MCD is order-sensitive
    mcd = MinCovDet(random_state=seed, support_fraction=0.75).fit(feats[fit_rows])
    return np.sqrt(mcd.mahalanobis(feats))


def global_scores(images: np.ndarray, seed: int = 0, covariance: bool = True) -> np.ndarray:
    """Robust distance of whole-image statistics: MCD Mahalanobis, or (``covariance=False``)
    Euclidean in robust units, which has no fit to go wrong."""
    if covariance:
        return robust_distance(global_stats(images), seed)
    feats = _scale(global_stats(images), fallback=True)
    return np.sqrt((feats[:, feats.std(0) > 1e-6] ** 2).sum(1))


def texture_scores(images: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Robust Mahalanobis distance of texture statistics, and the statistics robust-scaled (for reasons)."""
    feats = texture_stats(images)
    return robust_distance(feats, seed), _scale(feats)


def texture_reason(scaled: np.ndarray) -> str:
    """What is most unusual in one row of robust-scaled texture statistics, in words: the
    statistic furthest from the set's median, and the next one too when it is 3 IQRs out."""
    order = np.argsort(-np.abs(scaled))
    words = []
    for k, j in enumerate(order[:2]):
        phrase = TEXTURE_WORDS[(TEXTURE_NAMES[j], 1 if scaled[j] > 0 else -1)]
        if (k == 0 or abs(scaled[j]) >= 3) and phrase not in words:
            words.append(phrase)
    return ", ".join(words)


def patch_scores(images: np.ndarray, seed: int = 0, components: int = 6) -> np.ndarray:
    """Second-highest tile negative log-likelihood under a trimmed Gaussian mixture."""
    tiles = patch_stats(images)
    n, t, d = tiles.shape
    flat = tiles.reshape(n * t, d)
    flat = (flat - np.median(flat, 0)) / (flat.std(0) + 1e-6)
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(flat), min(len(flat), 30000), replace=False)
    z = PCA(min(16, d), random_state=seed).fit(flat[sample]).transform(flat)
    keep = np.ones(len(z), bool)
    for _ in range(2):  # refit without the least likely 10%, so foreign tiles do not shape the model
        rows = np.flatnonzero(keep)
        rows = rng.choice(rows, min(len(rows), 20000), replace=False)
        gmm = GaussianMixture(components, covariance_type="full", reg_covar=1e-3, max_iter=60,
                              random_state=seed).fit(z[rows])
        nll = -gmm.score_samples(z)
        keep = nll < np.quantile(nll, 0.9)
    per_image = np.sort(nll.reshape(n, t), axis=1)[:, -2 if t > 1 else -1]
    return per_image - per_image.min() + 1.0


def kdistance_eps(coords: np.ndarray, k: int) -> float:
    """DBSCAN radius from the k-distance curve: its knee, estimated by the max distance to the chord."""
    dist = NearestNeighbors(n_neighbors=k + 1).fit(coords).kneighbors(coords)[0][:, -1]
    curve = np.sort(dist)
    x = np.linspace(0, 1, len(curve))
    y = (curve - curve[0]) / (curve[-1] - curve[0] + 1e-12)
    knee = int(np.argmax(x - y))
    return float(max(curve[knee], 1e-6))


def dbscan_clusters(coords: np.ndarray, eps: float | None = None, min_samples: int = 10) -> tuple[np.ndarray, float]:
    """DBSCAN labels of the 2-D projection and the ``eps`` used."""
    if len(coords) <= min_samples:
        return np.zeros(len(coords), np.int64), 0.0
    eps = kdistance_eps(coords, min_samples) if eps is None else float(eps)
    return DBSCAN(eps=eps, min_samples=min_samples).fit_predict(coords).astype(np.int64), eps


def label_agreement(embedding: np.ndarray, labels: np.ndarray, k: int = 10) -> tuple[np.ndarray, float, float]:
    """Share of each row's ``k`` nearest neighbours (cosine, in ``embedding``) with its label.

    Returns:
        ``(agreement per row, chance level sum(prior**2), mean agreement)``.
    """
    e = embedding / (np.linalg.norm(embedding, axis=1, keepdims=True) + 1e-12)
    k = min(k, len(e) - 1)
    idx = NearestNeighbors(n_neighbors=k + 1).fit(e).kneighbors(e)[1][:, 1:]
    agree = (labels[idx] == labels[:, None]).mean(1)
    prior = np.bincount(labels) / len(labels)
    return agree, float((prior**2).sum()), float(agree.mean())


def label_purity_filter(embedding: np.ndarray, labels: np.ndarray, candidates: np.ndarray,
                        k: int = 15) -> tuple[np.ndarray, float]:
    """Local label purity of each candidate: mean agreement over it and its ``k`` nearest candidates.

    Returns:
        ``(purity per candidate (same order), cut)``: above ``cut`` (halfway between chance
        and the data's typical agreement), a candidate's look-alikes are labelled like real data.
    """
    agree, chance, typical = label_agreement(embedding, labels)
    e = embedding[candidates] / (np.linalg.norm(embedding[candidates], axis=1, keepdims=True) + 1e-12)
    kk = min(k, len(candidates) - 1)
    if kk < 1:
        return agree[candidates], chance + 0.5 * (typical - chance)
    nn = NearestNeighbors(n_neighbors=kk + 1).fit(e).kneighbors(e)[1]
    return agree[candidates][nn].mean(1), chance + 0.5 * (typical - chance)


def find_outliers(images: np.ndarray, coords: np.ndarray, *, task: str = "blood", labels: np.ndarray | None = None,
                  embedding: np.ndarray | None = None, eps: float | None = None,
                  thresholds: tuple[float, float] | None = None, texture_threshold: float | None = None,
                  seed: int = 0) -> OutlierResult:
    """Score every row and flag outliers with a reason.

    Args:
        images: ``uint8`` NHWC images.
        coords: 2-D projection of the same rows (for DBSCAN).
        task: Task name, which picks the calibrated thresholds.
        labels: Class labels ``(N,)`` (classification), for the label-purity check; None skips it.
        embedding: Features for the label-purity neighbours (e.g. pixel PCA).
        eps: DBSCAN radius; chosen from the k-distance curve when None.
        thresholds: ``(global, patch)`` robust-z thresholds overriding the task's.
        texture_threshold: Texture robust-z threshold overriding the task's.
        seed: Seed of the robust fits.
    """
    t_global, t_patch = thresholds or THRESHOLDS.get(task, DEFAULT_THRESHOLDS)
    gz = robust_z(global_scores(images, seed, covariance=task in GLOBAL_COVARIANCE))
    pz = robust_z(patch_scores(images, seed))
    t_texture = texture_threshold or TEXTURE_THRESHOLDS.get(task, DEFAULT_TEXTURE_THRESHOLD)
    tdist, tscaled = texture_scores(images, seed)
    tz = robust_z(tdist)
    edges = straight_edge_scores(images)
    views = np.stack([gz / t_global, pz / t_patch, tz / t_texture, edges / EDGE_THRESHOLD])
    score = views.max(0)
    clusters, eps_used = dbscan_clusters(coords, eps)
    flags = score > 1.0
    purity: dict[int, float] = {}
    cut = 0.0
    if labels is not None and embedding is not None and np.asarray(labels).ndim == 1 and flags.sum() > 1:
        cand = np.flatnonzero(flags)
        values, cut = label_purity_filter(embedding, np.asarray(labels, np.int64), cand)
        purity = dict(zip(cand.tolist(), values.tolist()))
        real = cand[(values > cut) & (score[cand] < SURE)]
        flags[real] = False
    reasons: dict[int, str] = {}
    for i in np.flatnonzero(flags):
        view = int(np.argmax(views[:, i]))
        if view == 0:
            reasons[int(i)] = f"whole image unlike the rest (robust z {gz[i]:.1f})"
        elif view == 1:
            reasons[int(i)] = f"part of the image unlike any cell/terrain (tile z {pz[i]:.1f})"
        elif view == 3:
            reasons[int(i)] = f"a straight-edged patch pasted over the image (edge ratio {edges[i]:.1f})"
        else:
            reasons[int(i)] = f"texture unlike the rest of the set: {texture_reason(tscaled[i])} (texture z {tz[i]:.1f})"
        if int(i) in purity and purity[int(i)] <= cut:
            reasons[int(i)] += f"; labels of look-alikes near chance (purity {purity[int(i)]:.2f} < {cut:.2f})"
        if clusters[i] == -1:
            reasons[int(i)] += "; dbscan noise"
    for c in np.unique(clusters[clusters >= 0]):
        members = np.flatnonzero(clusters == c)
        share = flags[members].mean()
        if share >= 0.8 and len(members) < 0.2 * len(images):
            for i in members[~flags[members]]:
                reasons[int(i)] = f"cluster {c}: {len(members)} images far from every class"
                score[i] = max(score[i], 1.0 + 1e-3)
                flags[i] = True
    order = np.flatnonzero(flags)
    order = order[np.argsort(-score[order])]
    return OutlierResult(order, score, reasons, gz, pz, clusters, eps_used, tz, edges)
