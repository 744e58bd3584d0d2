"""Cleaning: duplicates, outliers, report schema, review store, export, CLI, cache."""

from __future__ import annotations

import io
import json
import multiprocessing as mp
import os

import numpy as np
import pytest
from PIL import Image

from autobot.cleaning import (CleaningConfig, ReviewStore, embed, export_cleaned, find_duplicates,
                              run_cleaning)
from autobot.cli import main
from autobot.data import Dataset, load_dataset, save_course_npz
from autobot.tasks import BLOOD

from conftest import BLOOD_FOLDERS, BLOOD_NPZ


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOBOT_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def subset() -> Dataset:
    """The first 300 rows of challenge_like (mostly clean, with its own few outliers and copies)."""
    return load_dataset(BLOOD_NPZ).take(np.arange(300))


def _with_copies(ds: Dataset) -> tuple[Dataset, int, int, int]:
    """``ds`` plus an exact copy of row 3, a shifted JPEG copy of row 7 and a noise sticker on row 11."""
    near = np.roll(ds.images[7], (2, -3), axis=(0, 1))
    buf = io.BytesIO()
    Image.fromarray(near).save(buf, "JPEG", quality=85)
    near = np.asarray(Image.open(buf))
    sticker = ds.images[11].copy()
    sticker[20:70, 25:75] = np.random.default_rng(0).integers(0, 255, (50, 50, 3), dtype=np.uint8)
    images = np.concatenate([ds.images, ds.images[[3]], near[None], sticker[None]])
    targets = np.concatenate([ds.targets, [(ds.targets[3] + 1) % 8, ds.targets[7], ds.targets[11]]])
    n = len(ds)
    return Dataset(BLOOD, images, targets, np.array([str(i) for i in range(n + 3)]), "mem", "test"), n, n + 1, n + 2


@pytest.fixture(scope="module")
def cleaned(subset, tmp_path_factory):
    """One cleaning run on the planted file, shared by the tests that read its report."""
    folder = tmp_path_factory.mktemp("cleaned")
    os.environ["AUTOBOT_CACHE"] = str(folder / "cache")
    ds, exact, near, sticker = _with_copies(subset)
    source = save_course_npz(ds, folder / "src.npz")
    before = source.read_bytes()
    seen = []
    report = run_cleaning(load_dataset(source), CleaningConfig(), progress=lambda f, m: seen.append(f))
    del os.environ["AUTOBOT_CACHE"]
    return ds, source, before, report, seen, (exact, near, sticker)


def test_exact_and_near_duplicates_with_conflicts(subset):
    ds, exact, near, _ = _with_copies(subset)
    result = find_duplicates(ds.images, ds.targets)
    assert [3, exact] in result.exact_groups
    assert any(7 in g and near in g for g in result.groups)
    assert any(3 in result.groups[k] for k in result.conflicts)


def test_run_cleaning_flags_planted_outlier_and_report_schema(cleaned, tmp_path):
    ds, _, _, report, seen, (exact, near, sticker) = cleaned
    assert sticker in report.outlier_indices
    assert any(3 in g and exact in g for g in report.duplicate_groups)
    assert any(7 in g and near in g for g in report.duplicate_groups)
    assert seen[-1] == 1.0
    report.write(tmp_path)
    data = json.loads((tmp_path / "report.json").read_text())
    assert {"n", "outliers", "duplicate_groups", "seconds"} <= set(data)
    assert data["n"] == len(ds)
    assert all(set(o) >= {"index", "score", "reason"} and o["reason"] for o in data["outliers"])
    assert report.coords.shape == (len(ds), 2) and len(report.clusters) == len(ds)
    assert (tmp_path / "points.csv").read_text().count("\n") == len(ds) + 1


def test_embedding_cache_hit(subset, monkeypatch):
    first = embed(subset)
    import sys

    module = sys.modules["autobot.cleaning.embed"]

    monkeypatch.setattr(module, "pixel_embedding", lambda *a, **k: pytest.fail("cache missed"))
    np.testing.assert_array_equal(embed(subset), first)


def test_model_features_from_keras_file(subset, tmp_path):
    import keras

    inputs = keras.Input((96, 96, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    x = keras.layers.Dense(6, name="penultimate")(x)
    model = keras.Model(inputs, keras.layers.Dense(8)(x))
    model.save(tmp_path / "m.keras")
    out = embed(subset.take(np.arange(20)), "model", model_path=tmp_path / "m.keras")
    assert out.shape == (20, 6)


def _write_decisions(path: str, fingerprint: str, start: int) -> None:
    with ReviewStore(path, fingerprint) as store:
        for i in range(start, start + 50):
            store.decide(i, "keep")


def test_review_store_persists_and_survives_concurrent_writers(tmp_path):
    path = str(tmp_path / "review.sqlite")
    with ReviewStore(path, "fp") as store:
        store.decide(1, "outlier")
        store.decide(2, "relabel", label=4)
    procs = [mp.get_context("spawn").Process(target=_write_decisions, args=(path, "fp", s)) for s in (100, 200)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    with ReviewStore(path, "fp") as store:
        decisions = store.decisions()
    assert decisions[1] == ("outlier", None) and decisions[2] == ("relabel", 4)
    assert len(decisions) == 102


def test_export_applies_decisions_and_round_trips(cleaned, tmp_path):
    ds, source, before, report, _, (_, _, sticker) = cleaned
    with ReviewStore(tmp_path / "r.sqlite", report.fingerprint) as store:
        store.decide(0, "outlier")
        store.decide(5, "relabel", label=7)
        store.decide(sticker, "keep")
        decisions = store.decisions()
    out = export_cleaned(load_dataset(source), report, tmp_path / "clean.npz", decisions)
    cleaned_ds = load_dataset(out)
    assert source.read_bytes() == before
    expected = len(ds) - len(set(report.outlier_indices + report.duplicate_drops() + [0]) - {sticker})
    assert len(cleaned_ds) == expected
    assert cleaned_ds.targets[4] == 7  # row 0 dropped, so source row 5 is now row 4
    assert any((cleaned_ds.images == ds.images[sticker]).all((1, 2, 3)))


def test_cli_bad_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not an archive")
    assert main(["clean", "--data", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "bad.npz" in err and "expected" in err and "Traceback" not in err


def test_cli_writes_report_and_export(subset, tmp_path):
    source = save_course_npz(subset.take(np.arange(60)), tmp_path / "s.npz")
    assert main(["clean", "--data", str(source), "--out", str(tmp_path / "o"), "--export"]) == 0
    assert json.loads((tmp_path / "o" / "report.json").read_text())["n"] == 60
    assert len(load_dataset(tmp_path / "o" / "cleaned.npz")) <= 60


def _unnatural_frames(rng: np.random.Generator) -> np.ndarray:
    """Three dark, low-contrast 64x128 frames that are not photographs: gradient, checkerboard, flat."""
    yy, xx = np.mgrid[:64, :128]
    gradient = 20 + 40 * xx / 127
    checker = 30 + 20 * (((yy // 6) + (xx // 6)) % 2)
    flat = 40 + rng.normal(0, 0.4, (64, 128))
    return np.clip(np.stack([gradient, checker, flat]), 0, 255).astype(np.uint8)[..., None]


def test_texture_view_flags_frames_that_are_not_photographs(mars_raw):
    from autobot.cleaning.outliers import TEXTURE_THRESHOLDS, find_outliers, robust_z, texture_scores

    rng = np.random.default_rng(0)
    clean = mars_raw["training_set"][rng.choice(len(mars_raw["training_set"]), 300, replace=False), 0][..., None]
    images = np.concatenate([clean, _unnatural_frames(rng)])
    z = robust_z(texture_scores(images)[0])
    assert (z[300:302] > TEXTURE_THRESHOLDS["mars"]).all()  # gradient, checkerboard
    assert (z[:300] > TEXTURE_THRESHOLDS["mars"]).sum() <= 1  # clean Mars frames: at most a rare one
    found = find_outliers(images, rng.normal(size=(len(images), 2)), task="mars")
    assert {300, 301} <= set(found.flagged.tolist())  # (a near-blank dark frame, 302, is a known gap)
    assert len(found.flagged) <= 3 + 3
    assert all(found.reasons[i].startswith("texture unlike the rest of the set: ") for i in (300, 301))
    assert "regular pattern" in found.reasons[301]


def test_near_pairs_need_matching_detail_and_tolerate_blur(mars_raw):
    from PIL import ImageFilter

    from autobot.cleaning.duplicates import near_pairs

    rng = np.random.default_rng(1)
    frames = mars_raw["training_set"][rng.choice(len(mars_raw["training_set"]), 200, replace=False), 0]
    blurred = np.asarray(Image.fromarray(frames[5]).filter(ImageFilter.GaussianBlur(0.8)))
    yy, xx = np.mgrid[:64, :128]
    ramps = [np.clip(a + b * xx / 127 + c * yy / 63, 0, 255).astype(np.uint8) for a, b, c in
             ((20, 40, 3), (30, 60, 0), (10, 25, 8))]  # smooth look-alikes that are not copies
    images = np.concatenate([frames, blurred[None], np.stack(ramps)])[..., None]
    pairs = {(a, b) for a, b, _ in near_pairs(images)}
    assert (5, 200) in pairs
    assert not pairs & {(201, 202), (201, 203), (202, 203)}


def test_edge_view_flags_pasted_rectangles_whatever_they_show():
    """Stickers of three unrelated kinds (flat colour, an inverted cell, a smooth ramp) on clean pbc96 cells."""
    from autobot.cleaning.features import straight_edge_scores
    from autobot.cleaning.outliers import EDGE_THRESHOLD, find_outliers

    rng = np.random.default_rng(3)
    files = sorted(BLOOD_FOLDERS.glob("*/*.jpg"))
    clean = np.stack([np.asarray(Image.open(files[i]).convert("RGB"))
                      for i in rng.choice(len(files), 200, replace=False)])
    stickers = []
    for k, (y, x, h, w) in enumerate([(10, 20, 40, 35), (50, 5, 30, 45), (0, 55, 45, 30)]):
        image = clean[k].copy()
        if k == 0:
            patch = np.full((h, w, 3), rng.integers(0, 256, 3), np.uint8)
        elif k == 1:
            patch = 255 - clean[100 + k][:h, :w]
        else:
            patch = np.broadcast_to(np.linspace(60, 200, w, dtype=np.uint8)[None, :, None], (h, w, 3))
        image[y : y + h, x : x + w] = patch
        stickers.append(image)
    images = np.concatenate([clean, np.stack(stickers)])
    ratio = straight_edge_scores(images)
    assert ratio[:200].max() < EDGE_THRESHOLD
    assert (ratio[200:] > EDGE_THRESHOLD).all(), ratio[200:]
    found = find_outliers(images, rng.normal(size=(len(images), 2)), task="blood")
    assert {200, 201, 202} <= set(found.flagged.tolist())
    assert any(found.reasons[i].startswith("a straight-edged patch pasted over the image") for i in (200, 201, 202))
    assert len(found.flagged) <= 3 + 4


def test_outlier_gallery_shows_the_strongest_group_first():
    from autobot.cleaning.report import CleaningReport
    from autobot.cleaning.views import outlier_gallery

    n = 6
    dataset = Dataset(BLOOD, np.zeros((n, 96, 96, 3), np.uint8), np.zeros(n, np.int64),
                      np.array([str(i) for i in range(n)]), "mem", "test")
    clusters = np.array([-1, -1, 0, 0, 1, 2])
    scores = np.array([1.2, 1.1, 9.0, 15.0, 3.0, 0.5])
    report = CleaningReport(n=n, outliers=[{"index": i, "score": float(scores[i]), "reason": "r"} for i in range(5)],
                            duplicate_groups=[], exact_groups=[], conflicts=[], coords=np.zeros((n, 2)),
                            clusters=clusters, scores=scores, seconds=0.0)
    _, rows = outlier_gallery(dataset, report)
    assert rows == [3, 2, 4, 0, 1], "groups by their strongest flag, then by score within a group"


def test_a_real_terrain_frame_carrying_another_rows_mask_is_flagged(mars_raw, tmp_path):
    """Image statistics cannot see a genuine Mars frame with the wrong mask; the identical mask can."""
    from autobot.cleaning.masks import SIMPLE_MASK_LINES, mask_lines

    pairs, source = mars_raw["training_set"], mars_raw["source_id"]
    rng = np.random.default_rng(3)
    rows = rng.choice(len(pairs), 150, replace=False)
    chosen = pairs[rows].copy()
    donor = next(i for i in range(2, 150) if mask_lines(chosen[i, 1]) > 3 * SIMPLE_MASK_LINES)
    stranger = next(i for i in range(len(pairs)) if i not in set(rows.tolist()) and source[i] != source[rows[donor]])
    band = np.zeros((64, 128), np.uint8)
    band[20:] = 1  # a horizon over soil: a simple mask that genuine frames share
    chosen[0, 1] = chosen[1, 1] = band
    borrowed = np.stack([pairs[stranger, 0], chosen[donor, 1]])[None]
    data = np.concatenate([chosen, borrowed])
    path = tmp_path / "mars_borrowed.npz"
    np.savez(path, training_set=data)
    report = run_cleaning(load_dataset(path), CleaningConfig(use_cache=False))
    reasons = {o["index"]: o["reason"] for o in report.outliers}
    assert f"mask identical to row {donor}'s" in reasons.get(150, ""), reasons
    assert not any("mask identical" in reasons.get(i, "") for i in (0, 1, donor)), reasons


def test_a_mars_row_is_shown_with_its_mask_beside_it(mars_raw):
    from autobot.cleaning.views import row_picture
    from autobot.tasks import MARS

    pairs = mars_raw["training_set"][:3]
    dataset = Dataset(MARS, pairs[:, 0][..., None], pairs[:, 1], np.array(["a", "b", "c"]), "mem", "test")
    picture = row_picture(dataset, 1)
    assert picture.shape == (64, 128 + 4 + 128, 3)
    assert (picture[:, :128, 0] == pairs[1, 0]).all(), "the image as it is on the left"
    soil = pairs[1, 1] == 1
    if soil.any():  # soil pixels take the soil colour's tint on the right
        assert not (picture[:, 132:, :][soil] == np.repeat(pairs[1, 0][soil][:, None], 3, 1)).all()
