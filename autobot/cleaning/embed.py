"""Embeddings of a dataset's images: downsampled pixels + PCA, or a trained model's features.

Both are computed in batches with a progress callback and cached on disk (keyed by the
data's fingerprint and every parameter), so a second run or the app opens instantly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA

from autobot.data.cache import cache_key, load_arrays, save_arrays
from autobot.data.dataset import Dataset
from autobot.errors import DataError

Progress = Callable[[float, str], None]

FEATURES = ("pixels", "model")


def downsample(images: np.ndarray, factor: int) -> np.ndarray:
    """Area-average ``uint8`` NHWC images by an integer ``factor``; float32 in ``[0, 1]``."""
    n, h, w, c = images.shape
    h2, w2 = h // factor, w // factor
    x = images[:, : h2 * factor, : w2 * factor].astype(np.float32) / 255.0
    return x.reshape(n, h2, factor, w2, factor, c).mean((2, 4))


def pixel_embedding(images: np.ndarray, *, factor: int = 3, n_components: int = 50, seed: int = 0,
                    batch: int = 1024, progress: Progress | None = None) -> np.ndarray:
    """Downsampled pixels reduced with PCA, shape ``(N, n_components)``."""
    parts = []
    for start in range(0, len(images), batch):
        parts.append(downsample(images[start : start + batch], factor).reshape(min(batch, len(images) - start), -1))
        if progress:
            progress(min(1.0, (start + batch) / len(images)) * 0.8, "embedding pixels")
    flat = np.concatenate(parts)
    k = int(min(n_components, flat.shape[0] - 1, flat.shape[1]))
    out = PCA(k, svd_solver="randomized", random_state=seed).fit_transform(flat)
    if progress:
        progress(1.0, "embedding pixels")
    return out.astype(np.float32)


def model_embedding(images: np.ndarray, model_path: str | Path, *, batch: int = 256,
                    progress: Progress | None = None) -> np.ndarray:
    """Penultimate-layer features of a saved ``.keras`` model (an ensemble member).

    The model receives float pixels in ``[0, 255]``: shipped models preprocess inside.
    """
    import keras  # imported lazily: pixel embeddings never pay TensorFlow's start-up

    try:
        model = keras.saving.load_model(model_path, compile=False)
    except (OSError, ValueError) as err:
        raise DataError(model_path, None, "a readable .keras model", f"{type(err).__name__}: {err}") from None
    features = keras.Model(model.inputs, model.layers[-2].output)
    parts = []
    for start in range(0, len(images), batch):
        chunk = images[start : start + batch].astype("float32")
        out = keras.ops.convert_to_numpy(features(chunk, training=False))
        parts.append(out.reshape(len(chunk), -1))
        if progress:
            progress(min(1.0, (start + batch) / len(images)), "embedding with model")
    return np.concatenate(parts).astype(np.float32)


def _file_digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def embed(dataset: Dataset, features: str = "pixels", *, model_path: str | Path | None = None,
          factor: int = 3, n_components: int = 50, seed: int = 0, use_cache: bool = True,
          progress: Progress | None = None) -> np.ndarray:
    """Embedding of every row, from the on-disk cache when the same call ran before.

    Args:
        dataset: Rows to embed.
        features: ``"pixels"`` (downsampled + PCA) or ``"model"`` (penultimate layer).
        model_path: The ``.keras`` file, required for ``features="model"``.
        factor: Pixel downsampling factor.
        n_components: PCA dimensions for pixel embeddings.
        seed: PCA seed.
        use_cache: Read and write the cache.
        progress: ``progress(fraction, message)`` callback.

    Returns:
        float32 array ``(N, D)``.
    """
    if features not in FEATURES:
        raise DataError(None, "features", f"one of {FEATURES}", repr(features))
    if features == "model" and model_path is None:
        raise DataError(None, "model", "a .keras model path for features='model'", "none")
    params = (("pixels", factor, n_components, seed) if features == "pixels"
              else ("model", _file_digest(model_path)))
    key = cache_key("embed", dataset.fingerprint(), params)
    if use_cache:
        hit = load_arrays("embeddings", key)
        if hit is not None:
            if progress:
                progress(1.0, "embedding (cached)")
            return hit["embedding"]
    if features == "pixels":
        out = pixel_embedding(dataset.images, factor=factor, n_components=n_components, seed=seed,
                              progress=progress)
    else:
        out = model_embedding(dataset.images, model_path, progress=progress)
    if use_cache:
        save_arrays("embeddings", key, {"embedding": out})
    return out
