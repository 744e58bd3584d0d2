"""Synthetic contamination from the clean references, to check that thresholds generalise.

The outlier sources here (noise, gradients, stripes, text, checkerboards, Mars terrain in
blood; blood cells, noise, gradients and text in Mars) differ from the truth files' sources
(sklearn's china/flower pictures, Mars frames in blood). Bench code, never product code.
"""

from __future__ import annotations

from collections.abc import Callable

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def _foreign(rng: np.random.Generator, h: int, w: int, kind: str, mars: np.ndarray | None, blood: np.ndarray | None) -> np.ndarray:
    """A foreign RGB picture ``(h, w, 3)`` of the given kind."""
    if kind == "noise":
        return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    if kind == "gradient":
        a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        t = np.linspace(0, 1, w)[None, :, None] * np.ones((h, 1, 1))
        return (a * (1 - t) + b * t).astype(np.uint8)
    if kind == "stripes":
        period = rng.integers(4, 16)
        c = rng.integers(0, 256, (2, 3))
        return c[((np.arange(w) // period) % 2)][None].repeat(h, 0).astype(np.uint8)
    if kind == "checker":
        s = rng.integers(4, 12)
        c = rng.integers(0, 256, (2, 3))
        yy, xx = np.mgrid[:h, :w]
        return c[((yy // s + xx // s) % 2)].astype(np.uint8)
    if kind == "text":
        im = Image.new("RGB", (w, h), tuple(int(v) for v in rng.integers(150, 256, 3)))
        draw = ImageDraw.Draw(im)
        for y in range(0, h, 10):
            draw.text((2, y), "".join(rng.choice(list("ABCDEFGHXYZ0123456789"), 12)), fill=(0, 0, 0))
        return np.asarray(im)
    if kind == "mars":
        g = mars[rng.integers(len(mars))]
        im = np.asarray(Image.fromarray(g).resize((w, h)))
        return np.repeat(im[..., None], 3, -1)
    if kind == "blood":
        return np.asarray(Image.fromarray(blood[rng.integers(len(blood))]).resize((w, h)))
    raise ValueError(kind)


def load_pbc(shared: Path, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from autobot.data import load_dataset

    ds = load_dataset(shared / "data" / "blood" / "pbc96")
    rows = np.random.default_rng(seed).choice(len(ds), n, replace=False)
    return ds.images[rows], ds.targets[rows]


def contaminate(images: np.ndarray, n_sticker: int, n_frame: int, kinds: list[str], *, seed: int = 0,
                mars: np.ndarray | None = None, blood: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Append stickers (foreign patch over a real image) and whole foreign frames.

    Returns:
        ``(images, is_outlier)``.
    """
    rng = np.random.default_rng(seed)
    n, h, w, c = images.shape
    extra = []
    for k in range(n_sticker + n_frame):
        kind = kinds[k % len(kinds)]
        if k < n_sticker:
            base = images[rng.integers(n)].copy()
            sh, sw = int(h * rng.uniform(0.35, 0.6)), int(w * rng.uniform(0.35, 0.6))
            y, x = rng.integers(0, h - sh), rng.integers(0, w - sw)
            patch = _foreign(rng, sh, sw, kind, mars, blood)
            base[y : y + sh, x : x + sw] = patch.mean(-1, keepdims=True).astype(np.uint8) if c == 1 else patch
            extra.append(base)
        else:
            frame = _foreign(rng, h, w, kind, mars, blood)
            extra.append(frame.mean(-1, keepdims=True).astype(np.uint8) if c == 1 else frame)
    out = np.concatenate([images, np.stack(extra)])
    return out, np.r_[np.zeros(n, bool), np.ones(len(extra), bool)]


def add_duplicates(images: np.ndarray, n_exact: int, n_near: int, seed: int = 0,
                   near_copy: Callable[[np.ndarray, int, np.random.Generator], np.ndarray] | None = None,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Append exact copies and near copies of clean rows (``near_copy(image, k, rng)``; by default
    shift, JPEG, brightness or blur, in turn).

    Returns:
        ``(images, duplicate_of)`` with -1 for original rows.
    """
    near_copy = near_copy or _near_copy
    rng = np.random.default_rng(seed)
    n = len(images)
    src = rng.choice(n, n_exact + n_near, replace=False)
    extra = [images[i] for i in src[:n_exact]]
    extra += [near_copy(images[i], k, rng) for k, i in enumerate(src[n_exact:])]
    return np.concatenate([images, np.stack(extra)]), np.r_[np.full(n, -1), src]


def _near_copy(im: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    import io

    from PIL import ImageFilter

    gray = im.shape[-1] == 1
    pil = Image.fromarray(im[..., 0] if gray else im)
    mode = k % 4
    if mode == 0:
        pil = Image.fromarray(np.roll(np.asarray(pil), (rng.integers(-3, 4), rng.integers(-3, 4)), axis=(0, 1)))
    elif mode == 1:
        buf = io.BytesIO()
        pil.save(buf, "JPEG", quality=int(rng.integers(60, 90)))
        pil = Image.open(buf)
    elif mode == 2:
        pil = Image.fromarray(np.clip(np.asarray(pil).astype(int) + rng.integers(-25, 26), 0, 255).astype(np.uint8))
    else:
        pil = pil.filter(ImageFilter.GaussianBlur(0.8))
    arr = np.asarray(pil)
    return arr[..., None] if gray else arr
