"""Shared by the engines: decoding uploads with a note, and fixed-shape forward passes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from autobot.data.images import decode_image
from autobot.ensemble.bagging import Ensemble
from autobot.ensemble.combine import accumulate, entropy, finish

#: A batch is padded up to the next of these sizes (and chunked at the largest), so each member
#: traces its predict function at most 9 times, never once per request size, while padding
#: wastes at most 7 images (the 50-image occlusion batch runs as 56, not 64).
BUCKETS = (1, 8, 16, 24, 32, 40, 48, 56, 64)


def _bucket(n: int) -> int:
    return next((b for b in BUCKETS if b >= n), BUCKETS[-1])


def _padded_chunks(x: np.ndarray):
    """``(start, rows, chunk)`` for model-ready uint8 ``x``: chunks of at most the largest bucket, each
    padded with zeros up to its bucket (``rows`` of it are real)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    for start in range(0, len(x), BUCKETS[-1]):
        chunk = x[start : start + BUCKETS[-1]]
        n, size = len(chunk), _bucket(len(chunk))
        if size > n:
            chunk = np.concatenate([chunk, np.zeros((size - n, *chunk.shape[1:]), np.float32)])
        yield start, n, chunk


def forward(ensemble: Ensemble, x: np.ndarray) -> np.ndarray:
    """Member probabilities ``(M, N, ...)`` for model-ready uint8 ``x`` ``(N, H, W, C)``.

    Batches are padded to one of :data:`BUCKETS` (and chunked at the largest), so repeated
    calls of any size reuse the same few traced functions.
    """
    out = None  # filled in place: no concatenate or stack copies of (M, N, H, W, K) probabilities
    for m, model in enumerate(ensemble.members):
        for start, n, chunk in _padded_chunks(x):
            probs = np.asarray(model.predict_on_batch(chunk))[:n]
            if out is None:
                out = np.empty((len(ensemble.members), len(x), *probs.shape[1:]), np.float32)
            out[m, start : start + n] = probs
    return out if out is not None else np.zeros((len(ensemble.members), 0), np.float32)


def forward_combined(ensemble: Ensemble, x: np.ndarray) -> np.ndarray:
    """The ensemble's probabilities ``(N, ...)`` for model-ready uint8 ``x``, members streamed into one array.

    The same numbers as ``ensemble.combine_probs(forward(ensemble, x))``, without the ``(M, N, ...)``
    array of member probabilities, which for a batch of Mars tiles is most of the memory written:
    batches of 256 frames segment about 10% faster.
    """
    total = scratch = None
    for start, n, chunk in _padded_chunks(x):
        for model in ensemble.members:
            probs = np.asarray(model.predict_on_batch(chunk), np.float32)[:n]
            if total is None:
                total = np.zeros((len(x), *probs.shape[1:]), np.float32)
                scratch = np.empty_like(total[:n])
            accumulate(total[start : start + n], probs, ensemble.combine, scratch[:n])
    if total is None:
        return np.zeros((0,), np.float32)
    return finish(total, len(ensemble.members), ensemble.combine)


def load_upload(source: str | Path | bytes, channels: int, name: str | None = None) -> tuple[np.ndarray, str, str]:
    """Decode an upload to uint8 ``(H, W, channels)``.

    Returns:
        The image, the file's PIL mode (``"RGBA"``, ``"I;16"``, ...) and its format (``"PNG"``).

    Raises:
        DataError: Not an image, damaged, empty, or larger than ``MAX_PIXELS``.
    """
    if name is None and isinstance(source, (str, Path)):
        name = Path(source).name
    image = decode_image(source, channels, name=name)
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as header:
            mode, fmt = header.mode, header.format or "image"
    except Exception:  # noqa: BLE001  (decoding succeeded above; the header only feeds the note)
        mode, fmt = "?", "image"
    return image, mode, fmt

def colormap(values: np.ndarray, name: str = "viridis") -> np.ndarray:
    """uint8 RGB for ``values`` in [0, 1] through one of plotly's sequential colour scales.

    Plotly is already a dependency; its scales (viridis, inferno, ...) are the matplotlib ones,
    sampled at 10 stops and interpolated linearly here.
    """
    import plotly.colors

    stops = getattr(plotly.colors.sequential, name.capitalize())
    anchors = np.array([plotly.colors.hex_to_rgb(c) for c in stops], dtype=np.float64)
    grid = np.linspace(0, 1, len(anchors))
    ramp = np.linspace(0, 1, 256)
    lut = np.stack([np.interp(ramp, grid, anchors[:, k]) for k in range(3)], axis=1).round().astype(np.uint8)
    return lut[np.clip(np.nan_to_num(values) * 255, 0, 255).astype(np.uint8)]


def write_examples(data: str | Path, task: str, out_dir: str | Path, n: int = 4) -> list[str]:
    """PNG files of the first image of up to ``n`` classes (or the first ``n`` rows) of a dataset.

    Returns an empty list when ``data`` is not a dataset of ``task``.
    """
    from autobot.data import load_dataset
    from autobot.data.images import encode_png
    from autobot.errors import DataError

    try:
        dataset = load_dataset(Path(data))
    except (DataError, OSError):
        return []
    if dataset.task.name != task:
        return []
    rows = list(range(min(n, len(dataset))))
    if dataset.labelled and dataset.task.kind == "classification":
        labels = np.asarray(dataset.targets)
        rows = [int(np.flatnonzero(labels == k)[0]) for k in np.unique(labels)][:n]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for row in rows:
        # named by the true class where there is one, so a demo shows whether the prediction is right
        by_class = dataset.labelled and dataset.task.kind == "classification"
        name = dataset.task.class_names[int(dataset.targets[row])] if by_class else task
        file = out / f"{name}_{row}.png"
        file.write_bytes(encode_png(dataset.images[row]))
        files.append(str(file))
    return files
