"""Seeded 2-D projections (t-SNE or UMAP) of an embedding, for plots and DBSCAN."""

from __future__ import annotations

import numpy as np

from autobot.errors import DataError

METHODS = ("tsne", "umap")


def project(embedding: np.ndarray, method: str = "tsne", *, seed: int = 0, n_jobs: int = 2) -> np.ndarray:
    """2-D coordinates of each row, float32 ``(N, 2)``, the same for the same seed.

    Args:
        embedding: ``(N, D)`` features.
        method: ``"tsne"`` (scikit-learn, Barnes-Hut) or ``"umap"`` (umap-learn).
        seed: Random state of the projection.
        n_jobs: Threads for neighbour searches.
    """
    if method not in METHODS:
        raise DataError(None, "method", f"one of {METHODS}", repr(method))
    n = len(embedding)
    if n < 5:
        return np.zeros((n, 2), np.float32)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30, max(2, (n - 1) / 3)))
        coords = TSNE(2, perplexity=perplexity, init="pca", random_state=seed, n_jobs=n_jobs,
                      max_iter=750).fit_transform(embedding)
    else:
        import umap  # slow import (numba): only when asked for

        coords = umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), random_state=seed,
                           n_jobs=1).fit_transform(embedding)
    return np.asarray(coords, np.float32)
