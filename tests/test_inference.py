"""The serving engines on real images with real (tiny) ensembles, and every kind of bad upload."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from autobot.errors import DataError
from autobot.inference import (class_shares, classify, classify_files, classify_with_map, load_blood_image,
                               load_mars_image, occlusion_map, overlay, segment)
from autobot.tasks import MARS


@pytest.fixture(scope="module")
def blood(tiny_models):
    from autobot.ensemble import load_ensemble

    return load_ensemble(tiny_models / "blood")


@pytest.fixture(scope="module")
def mars(tiny_models):
    from autobot.ensemble import load_ensemble

    return load_ensemble(tiny_models / "mars")


def test_classify_probabilities_votes_and_agreement(blood, blood_raw):
    images = blood_raw["images"][:3]
    for image in images:
        result = classify(blood, image)
        assert result.probs.shape == (8,) and result.probs.sum() == pytest.approx(1, abs=1e-5)
        np.testing.assert_allclose(result.probs, result.member_probs.mean(0), atol=1e-6)
        assert result.label == int(result.probs.argmax())
        np.testing.assert_array_equal(result.votes, result.member_probs.argmax(-1))
        assert result.agreement == int((result.votes == result.label).sum())
        assert result.agreement_text.startswith(f"{result.agreement} of 2 members agree")
        assert [row[1] for row in result.vote_rows()] == [blood.task.class_names[v] for v in result.votes]
    # the same numbers as Ensemble.predict
    reference = blood.predict(images)
    np.testing.assert_allclose([classify(blood, im).probs for im in images], reference.probs, atol=1e-5)


def test_occlusion_map_has_the_image_shape_and_is_finite(blood, blood_raw):
    heat = occlusion_map(blood, blood_raw["images"][0])
    assert heat.shape == (96, 96) and np.isfinite(heat).all()
    assert np.ptp(heat) > 0  # covering parts of the cell changes the answer somewhere


def test_classify_with_map_is_classify_and_occlusion_map_in_one_pass(blood, blood_raw):
    image = blood_raw["images"][2]
    result, heat = classify_with_map(blood, image)
    alone = classify(blood, image)
    np.testing.assert_allclose(result.member_probs, alone.member_probs, atol=1e-5)
    assert (result.label, result.agreement) == (alone.label, alone.agreement)
    np.testing.assert_allclose(heat, occlusion_map(blood, image, alone.label), atol=1e-5)


def test_uploads_of_any_mode_and_size_become_96x96_rgb(tmp_path, blood_raw):
    rgba = np.dstack([blood_raw["images"][0], np.full((96, 96), 255, np.uint8)])
    Image.fromarray(rgba).resize((200, 150)).save(tmp_path / "cell.png")
    image, note = load_blood_image(tmp_path / "cell.png")
    assert image.shape == (96, 96, 3) and image.dtype == np.uint8
    assert "200x150 RGBA PNG" in note and "converted to RGB" in note and "aspect ratio not kept" in note
    Image.fromarray(blood_raw["images"][1]).convert("L").save(tmp_path / "gray.png")
    assert load_blood_image(tmp_path / "gray.png")[0].shape == (96, 96, 3)


def test_batch_rows_keep_order_and_report_bad_files(blood, blood_raw, tmp_path):
    paths = []
    for i in range(3):
        Image.fromarray(blood_raw["images"][i]).save(tmp_path / f"c{i}.png")
        paths.append(tmp_path / f"c{i}.png")
    (tmp_path / "bad.png").write_text("no image")
    rows = classify_files(blood, [paths[0], tmp_path / "bad.png", *paths[1:]])
    assert [r["file"] for r in rows] == ["c0.png", "bad.png", "c1.png", "c2.png"]
    assert rows[1]["error"] and rows[1]["top class"] == ""
    expected = blood.predict(blood_raw["images"][:3])
    assert [r["top class"] for r in rows if not r["error"]] == [blood.task.class_names[k] for k in expected.labels]


def test_a_64x128_image_gives_the_ensemble_mask(mars, mars_raw):
    image = mars_raw["training_set"][:, 0][0]
    result = segment(mars, image)
    reference = mars.predict(image)
    assert result.tiles == 1
    np.testing.assert_allclose(result.probs, reference.probs[0], atol=1e-5)
    np.testing.assert_array_equal(result.labels, reference.labels[0])
    assert (result.labels != 0).all()


def test_tiling_a_256x256_image_gives_a_256x256_mask(mars, mars_raw):
    image = np.vstack([np.hstack([mars_raw["training_set"][:, 0][i], mars_raw["training_set"][:, 0][i + 1]]) for i in range(0, 8, 2)])
    assert image.shape == (256, 256)
    result = segment(mars, image)
    assert result.tiles == 2  # 256x256 -> 128x128 -> two 64-row tiles
    assert result.labels.shape == (256, 256) and result.uncertainty.shape == (256, 256)
    assert np.isfinite(result.uncertainty).all() and (result.labels != 0).all()
    np.testing.assert_allclose(result.probs.sum(-1), 1, atol=1e-4)
    shares = class_shares(result.labels, MARS)
    assert "background" not in shares and sum(shares.values()) == pytest.approx(1)
    odd = segment(mars, np.hstack([image[:100], image[:100, :44]]))  # 100x300 -> 43 rows: one padded tile, cropped back
    assert odd.labels.shape == (100, 300) and odd.tiles == 1


def test_overlay_at_opacity_zero_is_the_image(mars_raw):
    image = mars_raw["training_set"][:, 0][0]
    labels = np.ones_like(image, dtype=np.int64)
    np.testing.assert_array_equal(overlay(image, labels, MARS, 0.0), np.repeat(image[..., None], 3, -1))
    assert (overlay(image, labels, MARS, 1.0) == MARS.color_rgb(1)).all()


@pytest.fixture(scope="module")
def bad_uploads(tmp_path_factory, mars_raw):
    folder = tmp_path_factory.mktemp("bad")
    (folder / "notes.png").write_text("this is not an image")
    (folder / "empty.png").write_bytes(b"")
    Image.fromarray(mars_raw["training_set"][:, 0][0]).save(folder / "full.png")
    data = (folder / "full.png").read_bytes()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    Image.new("L", (10000, 10000)).save(folder / "huge.png")  # 100 MP, over MAX_PIXELS
    return folder


@pytest.mark.parametrize("name", ["notes.png", "empty.png", "truncated.png", "huge.png"])
@pytest.mark.parametrize("loader", [load_blood_image, load_mars_image])
def test_bad_uploads_raise_a_readable_data_error(bad_uploads, name, loader):
    with pytest.raises(DataError, match=rf"^{name}: expected"):
        loader(bad_uploads / name)


def test_a_16_bit_tiff_decodes_and_segments(tmp_path, mars, mars_raw):
    values = mars_raw["training_set"][:, 0][0].astype(np.uint16) * 200 + 1000
    Image.fromarray(values).save(tmp_path / "frame.tif")
    image, note = load_mars_image(tmp_path / "frame.tif")
    assert image.shape == (64, 128) and image.dtype == np.uint8 and image.min() == 0 and image.max() == 255
    assert "rescaled" in note
    assert segment(mars, image).labels.shape == (64, 128)
    assert load_blood_image(tmp_path / "frame.tif")[0].shape == (96, 96, 3)


def test_segment_and_classify_combine_members_by_the_ensemble_rule(tiny_models, mars_raw, blood_raw):
    from autobot.ensemble import load_ensemble
    from autobot.ensemble.combine import combine_probs

    mars, blood = load_ensemble(tiny_models / "mars"), load_ensemble(tiny_models / "blood")
    mars.combine = blood.combine = "geometric"
    image = mars_raw["training_set"][:, 0][0]
    reference = mars.predict(image)
    np.testing.assert_allclose(reference.probs, combine_probs(reference.member_probs, "geometric"), atol=1e-6)
    np.testing.assert_allclose(segment(mars, image).probs, reference.probs[0], atol=1e-5)
    result = classify(blood, blood_raw["images"][0])
    np.testing.assert_allclose(result.probs, combine_probs(result.member_probs, "geometric"), atol=1e-6)
    np.testing.assert_allclose(result.probs, blood.predict(blood_raw["images"][0]).probs[0], atol=1e-5)


@pytest.mark.parametrize("rule", ["mean", "geometric"])
def test_streamed_members_give_the_combined_probabilities(mars, mars_raw, rule, monkeypatch):
    from autobot.inference.common import forward, forward_combined

    monkeypatch.setattr(mars, "combine", rule)
    frames = mars_raw["training_set"][:70, 0].astype(np.uint8)  # two chunks, the second padded
    streamed = forward_combined(mars, frames)
    assert streamed.shape == (70, 64, 128, 5) and streamed.dtype == np.float32
    np.testing.assert_allclose(streamed, mars.combine_probs(forward(mars, frames)), atol=1e-6)
    np.testing.assert_allclose(streamed.sum(-1), 1.0, atol=1e-5)
