"""``run_cleaning``: embed, project, score outliers, group duplicates, in one call.

The app and the CLI both call this; every step is pure (indices, scores and reasons
come back, nothing is deleted).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from autobot.cleaning.duplicates import NEAR_THRESHOLD, find_duplicates
from autobot.cleaning.embed import Progress, embed
from autobot.cleaning.masks import borrowed_masks
from autobot.cleaning.outliers import find_outliers
from autobot.cleaning.project import project
from autobot.cleaning.report import CleaningReport
from autobot.data.cache import cache_key, load_arrays, save_arrays
from autobot.data.dataset import Dataset


@dataclass(frozen=True)
class CleaningConfig:
    """Knobs of a cleaning run; the defaults are what the CLI uses.

    Args:
        method: ``"tsne"`` or ``"umap"``.
        features: ``"pixels"`` or ``"model"``.
        model_path: ``.keras`` file for ``features="model"``.
        eps: DBSCAN radius; from the k-distance curve when None.
        near_threshold: Shift-tolerant correlation above which two rows are near duplicates.
        seed: Seed of every random step.
        use_cache: Cache embeddings and projections on disk.
    """

    method: str = "tsne"
    features: str = "pixels"
    model_path: str | None = None
    eps: float | None = None
    near_threshold: float = NEAR_THRESHOLD
    seed: int = 0
    use_cache: bool = True


def _projection(dataset: Dataset, embedding: np.ndarray, config: CleaningConfig) -> np.ndarray:
    key = cache_key("project", dataset.fingerprint(), config.features, config.model_path, config.method,
                    config.seed, embedding.shape)
    if config.use_cache and (hit := load_arrays("projections", key)) is not None:
        return hit["coords"]
    coords = project(embedding, config.method, seed=config.seed)
    if config.use_cache:
        save_arrays("projections", key, {"coords": coords})
    return coords


def run_cleaning(dataset: Dataset, config: CleaningConfig | None = None,
                 progress: Progress | None = None) -> CleaningReport:
    """Find outliers and duplicates in ``dataset``.

    Args:
        dataset: Rows to check (blood images or Mars pairs).
        config: Run options; defaults when None.
        progress: ``progress(fraction, message)`` callback (0..1 over the whole run).

    Returns:
        A :class:`CleaningReport` whose indices are rows of ``dataset``.
    """
    config = config or CleaningConfig()
    # BLAS may see more cores than the process may use; oversubscription made runs 10x slower.
    with threadpool_limits(limits=len(os.sched_getaffinity(0))):
        return _run(dataset, config, progress)


#: Score of a row flagged only for carrying another image's mask: a structural finding, twice the
#: flagging threshold.
BORROWED_MASK_SCORE = 2.0


def _run(dataset: Dataset, config: CleaningConfig, progress: Progress | None) -> CleaningReport:
    start = time.perf_counter()

    def step(lo: float, hi: float) -> Progress | None:
        return None if progress is None else (lambda f, msg: progress(lo + (hi - lo) * f, msg))

    embedding = embed(dataset, config.features, model_path=config.model_path, seed=config.seed,
                      use_cache=config.use_cache, progress=step(0.0, 0.15))
    if progress:
        progress(0.15, f"projecting ({config.method})")
    coords = _projection(dataset, embedding, config)
    if progress:
        progress(0.6, "scoring outliers")
    labels = dataset.targets if dataset.task.kind == "classification" else None
    found = find_outliers(dataset.images, coords, task=dataset.task.name, labels=labels, embedding=embedding,
                          eps=config.eps, seed=config.seed)
    if progress:
        progress(0.85, "finding duplicates")
    dups = find_duplicates(dataset.images, dataset.targets, near_threshold=config.near_threshold)
    flagged = set(found.flagged.tolist())
    groups = []
    for group in dups.groups:
        if all(i in flagged for i in group):
            continue  # crops of one foreign picture: outliers, dropped as such
        flagged -= set(group)  # a copy of a normal image is a duplicate, not foreign content
        groups.append(group)
    conflicts = [dups.groups[k] for k in dups.conflicts if dups.groups[k] in groups]
    score, reasons = found.score.copy(), dict(found.reasons)
    if dataset.task.kind == "segmentation" and dataset.labelled:
        for row, other in borrowed_masks(dataset.targets, found.score, groups).items():
            why = f"mask identical to row {other}'s, whose image is different: the mask belongs to another image"
            reasons[row] = f"{reasons[row]}; {why}" if row in flagged else why
            score[row] = max(score[row], BORROWED_MASK_SCORE)
            flagged.add(row)
    if progress:
        progress(1.0, "done")
    outliers = [{"index": int(i), "score": round(float(score[i]), 4), "reason": reasons[int(i)]}
                for i in sorted(flagged, key=lambda i: -score[i])]
    return CleaningReport(
        n=len(dataset),
        outliers=outliers,
        duplicate_groups=groups,
        exact_groups=dups.exact_groups,
        conflicts=conflicts,
        coords=coords,
        clusters=found.clusters,
        scores=score,
        seconds=time.perf_counter() - start,
        params={**asdict(config), "eps_used": found.eps, "task": dataset.task.name},
        fingerprint=dataset.fingerprint(),
    )
