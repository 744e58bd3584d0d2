"""A second, independent contamination generator, for evaluation only (never for tuning).

``bench/synthetic.py`` was looked at while the cleaning thresholds were set; this one was
written before the naturalness features and is only run to report, so its outlier sources
stand in for the "sources you have not seen" of issue 8. Sources (none of them in the truth
files or in ``synthetic.py``): crops of a portrait photograph and of an MRI slice
(matplotlib's sample data), shaded elevation models (terrain-like, the hardest), procedural
clouds with random spectral slopes, random shapes, sums of sinusoids, pixelated blocks,
near-blank frames, and inverted/flipped/contrast-stretched blood frames. Near copies use
transforms unlike ``synthetic.py``'s: gamma, contrast stretch, mild noise, low JPEG quality,
edge-padded shifts. Bench code, never product code.
"""

from __future__ import annotations

import gzip
import io

import numpy as np
from PIL import Image, ImageDraw

SOURCES = ("photo", "mri", "dem", "clouds", "shapes", "sinus", "pixelated", "blank", "blood_inv")


def _sample(name: str):
    import matplotlib.cbook as cbook

    return cbook.get_sample_data(name, asfileobj=False)


def _crop_resize(img: np.ndarray, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A random crop of ``img`` (2-D or RGB) with the target aspect, resized to ``(h, w)``."""
    H, W = img.shape[:2]
    scale = rng.uniform(0.3, 0.9)
    ch = int(min(H, W * h / w) * scale)
    cw = int(ch * w / h)
    y, x = rng.integers(0, H - ch + 1), rng.integers(0, W - cw + 1)
    crop = np.ascontiguousarray(img[y : y + ch, x : x + cw])
    return np.asarray(Image.fromarray(crop).resize((w, h), Image.BILINEAR))


def _to_uint8(x: np.ndarray) -> np.ndarray:
    x = (x - x.min()) / (x.max() - x.min() + 1e-9)
    return (x * 255).astype(np.uint8)


def _rgb(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Tint a grayscale picture with a random colour map (two random endpoint colours)."""
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = gray.astype(np.float32)[..., None] / 255.0
    return (a * (1 - t) + b * t).astype(np.uint8)


def foreign(rng: np.random.Generator, h: int, w: int, kind: str, blood: np.ndarray | None = None) -> np.ndarray:
    """A foreign RGB picture ``(h, w, 3)`` of one of :data:`SOURCES`."""
    if kind == "photo":
        img = np.asarray(Image.open(_sample("grace_hopper.jpg")).convert("RGB"))
        return _crop_resize(img, rng, h, w)
    if kind == "mri":
        raw = np.frombuffer(gzip.open(_sample("s1045.ima.gz")).read(), np.uint16).reshape(256, 256)
        g = _crop_resize(_to_uint8(raw.astype(np.float32)), rng, h, w)
        return np.repeat(g[..., None], 3, -1)
    if kind == "dem":
        z = np.load(_sample("jacksboro_fault_dem.npz"))["elevation"].astype(np.float32)
        gy, gx = np.gradient(z)
        az = rng.uniform(0, 2 * np.pi)
        shade = np.cos(az) * gx + np.sin(az) * gy
        g = _crop_resize(_to_uint8(shade), rng, h, w)
        lo, hi = rng.uniform(0, 80), rng.uniform(120, 255)
        g = (lo + g.astype(np.float32) / 255 * (hi - lo)).astype(np.uint8)
        return np.repeat(g[..., None], 3, -1)
    if kind == "clouds":
        beta = rng.uniform(1.0, 3.5)
        fy, fx = np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")
        f = np.sqrt(fx**2 + fy**2)
        f[0, 0] = 1.0
        spec = (rng.normal(size=(h, w)) + 1j * rng.normal(size=(h, w))) / f ** (beta / 2)
        g = _to_uint8(np.fft.ifft2(spec).real)
        lo, hi = rng.uniform(0, 100), rng.uniform(100, 255)
        g = (lo + g.astype(np.float32) / 255 * (hi - lo)).astype(np.uint8)
        return _rgb(g, rng) if rng.random() < 0.5 else np.repeat(g[..., None], 3, -1)
    if kind == "shapes":
        im = Image.new("RGB", (w, h), tuple(int(v) for v in rng.integers(0, 256, 3)))
        draw = ImageDraw.Draw(im)
        for _ in range(rng.integers(3, 12)):
            x0, y0 = rng.integers(-10, w), rng.integers(-10, h)
            x1, y1 = x0 + rng.integers(5, w // 2), y0 + rng.integers(5, h // 2)
            fill = tuple(int(v) for v in rng.integers(0, 256, 3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=fill)
        return np.asarray(im)
    if kind == "sinus":
        yy, xx = np.mgrid[:h, :w].astype(np.float32)
        g = sum(np.sin(rng.uniform(0.02, 0.4) * (np.cos(a) * xx + np.sin(a) * yy) + rng.uniform(0, 6))
                for a in rng.uniform(0, np.pi, rng.integers(2, 5)))
        return _rgb(_to_uint8(g), rng)
    if kind == "pixelated":
        small = rng.integers(0, 256, (rng.integers(3, 9), rng.integers(3, 9), 3), dtype=np.uint8)
        return np.asarray(Image.fromarray(small).resize((w, h), Image.NEAREST))
    if kind == "blank":
        c = rng.integers(0, 256, 3)
        return np.clip(c + rng.normal(0, rng.uniform(0, 3), (h, w, 1)), 0, 255).astype(np.uint8)
    if kind == "blood_inv":
        im = blood[rng.integers(len(blood))].astype(np.float32)
        im = 255 - im if rng.random() < 0.5 else im
        im = im[::-1] if rng.random() < 0.5 else im[:, ::-1]
        lo, hi = np.percentile(im, [2, 98])
        im = np.clip((im - lo) / (hi - lo + 1e-6) * 255, 0, 255).astype(np.uint8)
        return np.asarray(Image.fromarray(np.ascontiguousarray(im)).resize((w, h), Image.BILINEAR))
    raise ValueError(kind)


def contaminate(images: np.ndarray, n_sticker: int, n_frame: int, *, seed: int = 0,
                blood: np.ndarray | None = None, kinds=SOURCES) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Append stickers (foreign patch, 30-55% of each side) and whole foreign frames.

    Returns:
        ``(images, is_outlier, source name per appended row)``.
    """
    rng = np.random.default_rng(seed)
    n, h, w, c = images.shape
    extra, names = [], []
    for k in range(n_sticker + n_frame):
        kind = kinds[int(rng.integers(len(kinds)))]
        if k < n_sticker:
            base = images[rng.integers(n)].copy()
            sh, sw = int(h * rng.uniform(0.3, 0.55)), int(w * rng.uniform(0.3, 0.55))
            y, x = rng.integers(0, h - sh), rng.integers(0, w - sw)
            patch = foreign(rng, sh, sw, kind, blood)
            base[y : y + sh, x : x + sw] = patch.mean(-1, keepdims=True).astype(np.uint8) if c == 1 else patch
            extra.append(base)
            names.append(f"outlier_sticker:{kind}")
        else:
            frame = foreign(rng, h, w, kind, blood)
            extra.append(frame.mean(-1, keepdims=True).astype(np.uint8) if c == 1 else frame)
            names.append(f"outlier_frame:{kind}")
    out = np.concatenate([images, np.stack(extra)])
    return out, np.r_[np.zeros(n, bool), np.ones(len(extra), bool)], names


def add_duplicates(images: np.ndarray, n_exact: int, n_near: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``synthetic.add_duplicates`` with other near copies (gamma, contrast, noise, JPEG q40-60, padded shift)."""
    from synthetic import add_duplicates as add

    return add(images, n_exact, n_near, seed, near_copy=_near_copy)


def _near_copy(image: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    im = image.astype(np.float32)
    mode = k % 5
    if mode == 0:
        im = 255 * (im / 255) ** rng.uniform(0.8, 1.25)
    elif mode == 1:
        m = im.mean()
        im = m + (im - m) * rng.uniform(0.85, 1.15)
    elif mode == 2:
        im = im + rng.normal(0, 2.0, im.shape)
    elif mode == 3:
        gray = im.shape[-1] == 1
        pil = Image.fromarray(im[..., 0].astype(np.uint8) if gray else im.astype(np.uint8))
        buf = io.BytesIO()
        pil.save(buf, "JPEG", quality=int(rng.integers(40, 61)))
        im = np.asarray(Image.open(buf)).astype(np.float32)
        im = im[..., None] if gray else im
    else:
        dy, dx = rng.integers(-3, 4, 2)
        im = np.pad(im, ((3, 3), (3, 3), (0, 0)), mode="edge")[3 + dy : 3 + dy + im.shape[0], 3 + dx : 3 + dx + im.shape[1]]
    return np.clip(np.round(im), 0, 255).astype(np.uint8)
