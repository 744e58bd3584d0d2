"""Hand-made image statistics that separate a task's own pictures from foreign content.

Outliers in course data are foreign pictures: whole frames, or "stickers" pasted over part
of a real image. Their colour, brightness and texture statistics differ from the data's
bulk, so robust statistics of the data itself (no labels, no reference set) find them,
whatever the foreign source is.
"""

from __future__ import annotations

import numpy as np


def as_float(images: np.ndarray) -> np.ndarray:
    """``uint8`` NHWC to float32 in ``[0, 1]``."""
    return images.astype(np.float32) / 255.0


def global_stats(images: np.ndarray, batch: int = 512) -> np.ndarray:
    """Per-image colour, brightness-histogram and gradient statistics, shape ``(N, F)``."""
    return np.concatenate([_global_stats(as_float(images[i : i + batch])) for i in range(0, len(images), batch)])


def _global_stats(x: np.ndarray) -> np.ndarray:
    n, channels = len(x), x.shape[-1]
    flat = x.reshape(n, -1, channels)
    feats = [x.mean((1, 2)), x.std((1, 2)),
             np.percentile(flat, [5, 50, 95], axis=1).transpose(1, 0, 2).reshape(n, -1)]
    if channels == 3:
        sat = x.max(-1) - x.min(-1)
        feats += [sat.mean((1, 2))[:, None], sat.std((1, 2))[:, None],
                  np.percentile(sat.reshape(n, -1), [50, 95], axis=1).T]
    gray = x.mean(-1)
    gx = np.abs(np.diff(gray, axis=1))
    gy = np.abs(np.diff(gray, axis=2))
    feats += [gx.mean((1, 2))[:, None], gy.mean((1, 2))[:, None],
              np.percentile(gx.reshape(n, -1), [50, 90, 99], axis=1).T]
    hist = np.stack([np.histogram(g, bins=8, range=(0, 1))[0] for g in gray]) / gray[0].size
    feats.append(np.sqrt(hist))
    return np.concatenate(feats, 1).astype(np.float32)


def patch_stats(images: np.ndarray, patch: int = 16, batch: int = 512) -> np.ndarray:
    """Statistics of each ``patch``-sized tile, shape ``(N, tiles, F)``.

    A sticker changes a few tiles completely, which a whole-image statistic dilutes.
    """
    return np.concatenate([_patch_stats(as_float(images[i : i + batch]), patch)
                           for i in range(0, len(images), batch)])


def _patch_stats(x: np.ndarray, p: int) -> np.ndarray:
    n, h, w, c = x.shape
    gh, gw = h // p, w // p
    tiles = x[:, : gh * p, : gw * p].reshape(n, gh, p, gw, p, c).transpose(0, 1, 3, 2, 4, 5)
    q = p // 4
    small = tiles.reshape(n, gh, gw, 4, q, 4, q, c).mean((4, 6)).reshape(n, gh, gw, -1)
    std = tiles.std((3, 4))
    gx = np.abs(np.diff(tiles, axis=3)).mean((3, 4))
    gy = np.abs(np.diff(tiles, axis=4)).mean((3, 4))
    out = [small, std, gx, gy]
    if c == 3:
        sat = tiles.max(-1) - tiles.min(-1)
        out += [sat.mean((3, 4))[..., None], sat.std((3, 4))[..., None]]
    return np.concatenate(out, -1).reshape(n, gh * gw, -1).astype(np.float32)
