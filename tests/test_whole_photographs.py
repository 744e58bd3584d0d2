"""Whole photographs: members rebuilt at a photograph's size, the app's segment, and halves paired by
source_id or, without it, by their seam."""

from __future__ import annotations

import json

import numpy as np
import pytest

from autobot.cli import main
from autobot.data import load_dataset
from autobot.inference import how_segmented, segment
from autobot.inference.common import forward_combined
from autobot.train.pipeline import resize_batch
from conftest import MARS_NPZ


@pytest.fixture(scope="module")
def mars(tiny_models):
    from autobot.ensemble import load_ensemble

    return load_ensemble(tiny_models / "mars")


@pytest.fixture(scope="module")
def photograph(mars_raw):
    """A real 128x128 photograph (rows 0 and 1 of the course file are its top and bottom halves) at 256x256."""
    assert mars_raw["source_id"][0] == mars_raw["source_id"][1]
    frame = np.vstack([mars_raw["training_set"][0, 0], mars_raw["training_set"][1, 0]])
    return resize_batch(frame[None, ..., None], (256, 256))[0, ..., 0]


def test_members_rebuilt_at_another_size_share_their_weights(mars):
    big = mars.at_size(128, 128)
    assert big is not None and big.input_shape[:2] == (128, 128) and mars.at_size(128, 128) is big  # cached
    assert mars.at_size(64, 128) is mars
    for small, large in zip(mars.members, big.members):
        assert large.input_shape == (None, 128, 128, 1)
        for a, b in zip(small.get_weights(), large.get_weights()):
            np.testing.assert_array_equal(a, b)
    mars.combine = "geometric"
    try:
        assert mars.at_size(128, 128).combine == "geometric"  # follows the ensemble's rule
    finally:
        mars.combine = "mean"


def test_a_photograph_is_segmented_whole_not_in_halves(mars, photograph):
    result = segment(mars, photograph)
    assert (result.tiles, result.windows) == (2, 1) and result.labels.shape == (256, 256)
    frame = resize_batch(photograph[None, ..., None], (128, 128))
    expected = forward_combined(mars.at_size(128, 128), frame)[0]
    resized = resize_batch(result.probs[None], (128, 128))[0]
    np.testing.assert_allclose(resized, expected, atol=0.03)  # the same frame, resized back and forth
    halves = segment(mars, photograph, whole=False)
    assert (halves.tiles, halves.windows) == (2, 2)
    # the seam: whole, the rows either side of the cut see each other; in halves they do not
    assert np.abs(result.probs[120:136] - halves.probs[120:136]).max() > 1e-3
    assert how_segmented(result) == "Segmented whole at 128 pixels wide, then resized back to 256x256."
    assert how_segmented(halves) == "Segmented as 2 tiles of 128x64, then resized back to 256x256."


def test_a_very_tall_image_is_cut_into_equal_windows(mars, mars_raw):
    tall = np.vstack(mars_raw["training_set"][:9, 0])  # 576 rows: 9 model heights, over the 8 of one window
    result = segment(mars, tall)
    assert (result.tiles, result.windows) == (9, 2) and result.labels.shape == tall.shape  # 2 windows of 320 rows
    assert np.isfinite(result.uncertainty).all() and (result.labels != 0).all()
    assert how_segmented(result) == "Segmented in 2 windows 128 pixels wide."


def test_members_bound_to_their_size_are_served_in_tiles(tmp_path, photograph):
    """A transformer bottleneck's position embedding has one entry per token of the trained size."""
    from conftest import tiny_model

    from autobot.ensemble import load_ensemble
    from autobot.ensemble.bagging import MANIFEST
    from autobot.tasks import MARS

    model, shape = tiny_model("unet_transformer")
    model.save(tmp_path / "member_0.keras")
    (tmp_path / MANIFEST).write_text(json.dumps({"task": "mars", "classes": list(MARS.class_names),
                                                 "input_shape": list(shape), "members": [{"file": "member_0.keras"}]}))
    ensemble = load_ensemble(tmp_path, "float32")
    assert ensemble.at_size(2 * shape[0], shape[1]) is None
    result = segment(ensemble, photograph)
    assert result.windows == result.tiles == 2 and result.labels.shape == (256, 256)  # 256x256 -> 64x64: 2 tiles of 32x64


def test_dataset_pairs_the_two_halves_of_each_photograph(mars_raw):
    dataset = load_dataset(MARS_NPZ, "mars").take(np.arange(40))
    pairs = dataset.photograph_halves()
    ids = mars_raw["source_id"][:40]
    groups, counts = np.unique(ids, return_counts=True)
    assert len(pairs) == (counts == 2).sum() > 0
    assert (ids[pairs[:, 0]] == ids[pairs[:, 1]]).all() and (pairs[:, 0] < pairs[:, 1]).all()
    singles = set(groups[counts == 1])
    assert not singles & set(ids[pairs.ravel()])
    assert load_dataset(MARS_NPZ, "mars").take([0, 2]).photograph_halves().shape == (0, 2)  # halves of two photographs


def test_without_source_id_adjacent_halves_are_paired_by_their_seam(mars_raw):
    """The course's test_set has no source_id: the seam finds nearly all pairs and almost only pairs."""
    from autobot.data.seams import adjacent_halves

    images, ids = mars_raw["training_set"][:3000, 0], mars_raw["source_id"][:3000]
    pairs = adjacent_halves(images)
    true_pairs = int((ids[1:] == ids[:-1]).sum())
    found = int((ids[pairs[:, 0]] == ids[pairs[:, 1]]).sum())
    assert found / len(pairs) >= 0.99 and found / true_pairs >= 0.99, (found, len(pairs), true_pairs)
    assert len(np.unique(pairs)) == pairs.size and (pairs[:, 1] == pairs[:, 0] + 1).all()
    # two halves of different photographs in a row do not pair; a file without source_id pairs by seam
    assert adjacent_halves(images[[0, 2]]).shape == (0, 2)
    unlabelled = load_dataset(MARS_NPZ, "mars", split="test")
    assert unlabelled.halves_paired_by == "seam" and len(unlabelled.photograph_halves()) > 0


def test_predict_segments_paired_halves_as_their_photograph(mars, mars_raw):
    images = mars_raw["training_set"][:6, 0]
    pairs = load_dataset(MARS_NPZ, "mars").take(np.arange(6)).photograph_halves()
    assert len(pairs) and len(pairs) * 2 < 6  # some paired rows, some single
    joined = mars.predict(images, halves=pairs)
    alone = mars.predict(images)
    top, bottom = pairs[0]
    frame = mars.at_size(128, 128).predict(np.vstack([images[top], images[bottom]])).probs[0]
    np.testing.assert_allclose(joined.probs[top], frame[:64], atol=1e-5)
    np.testing.assert_allclose(joined.probs[bottom], frame[64:], atol=1e-5)
    single = np.setdiff1d(np.arange(6), pairs.ravel())
    np.testing.assert_allclose(joined.probs[single], alone.probs[single], atol=1e-5)
    streamed = mars.predict(images, halves=pairs, keep_members=False, tta=True)
    np.testing.assert_allclose(streamed.probs, mars.predict(images, halves=pairs, tta=True).probs, atol=1e-5)


def test_evaluate_reports_how_many_photographs_it_segmented_whole(tiny_models, tmp_path, capsys, mars_raw):
    data = tmp_path / "mars.npz"
    np.savez(data, training_set=mars_raw["training_set"][:24], source_id=mars_raw["source_id"][:24])
    expected = len(load_dataset(data, "mars").photograph_halves())
    common = ["evaluate", "--task", "mars", "--data", str(data), "--models", str(tiny_models / "mars")]
    assert main(common) == 0
    whole = json.loads(capsys.readouterr().out)
    assert main([*common, "--separate-halves"]) == 0
    halves = json.loads(capsys.readouterr().out)
    assert whole["whole_photographs"] == expected > 0 and halves["whole_photographs"] == 0
    assert whole["halves_paired_by"] == "source_id" and halves["halves_paired_by"] is None
    out = tmp_path / "masks.npz"
    assert main(["predict", "--task", "mars", "--data", str(data), "--models", str(tiny_models / "mars"),
                 "--out", str(out)]) == 0
    from autobot.ensemble import load_ensemble

    ensemble = load_ensemble(tiny_models / "mars")
    expected_masks = ensemble.predict(mars_raw["training_set"][:24, 0], halves=ensemble.whole_photographs(
        load_dataset(data, "mars"))).labels
    with np.load(out) as written:
        np.testing.assert_array_equal(written["masks"], expected_masks)


def test_stitched_photographs_are_the_halves_top_over_bottom(mars_raw):
    from autobot.data.photographs import photograph_rows, stitch_photographs

    dataset = load_dataset(MARS_NPZ, "mars").take(np.arange(12))
    frames, frame_of = stitch_photographs(dataset)
    pairs = dataset.photograph_halves()
    assert frames.images.shape == (len(pairs), 128, 128, 1) and frames.targets.shape == (len(pairs), 128, 128)
    top, bottom = pairs[0]
    np.testing.assert_array_equal(frames.images[0, :64], dataset.images[top])
    np.testing.assert_array_equal(frames.targets[0, 64:], dataset.targets[bottom])
    assert frames.ids[0] == f"{dataset.ids[top]}+{dataset.ids[bottom]}"
    assert (frame_of[pairs.ravel()] >= 0).all() and (np.delete(frame_of, pairs.ravel()) == -1).all()
    # a bootstrap sample draws a photograph once per draw of its top half; a split takes each once
    sample = np.array([top, top, bottom, bottom, bottom])
    assert photograph_rows(dataset, frame_of, sample, sample=True).tolist() == [0, 0]
    assert photograph_rows(dataset, frame_of, sample, sample=False).tolist() == [0]


def test_a_member_trained_on_whole_photographs_serves_halves(tmp_path, mars_raw, capsys):
    import keras

    from autobot.ensemble import load_ensemble, train_ensemble
    from autobot.train.config import TrainConfig

    data = tmp_path / "mars.npz"
    np.savez(data, training_set=mars_raw["training_set"][:96], source_id=mars_raw["source_id"][:96])
    dataset = load_dataset(data, "mars")
    config = TrainConfig(task="mars", model="unet", model_kwargs={"base_filters": 4, "depth": 3}, epochs=1,
                         batch_size=8, val_fraction=0.25, seed=0, whole_photographs=True, loss={"focal": 1, "dice": 1})
    out = train_ensemble(config, dataset, n_members=1, out_dir=tmp_path / "whole")
    run = tmp_path / "whole" / "runs" / "member_0"
    assert keras.models.load_model(run / "last.keras", compile=False).input_shape == (None, 128, 128, 1)
    history = json.loads((run / "history.json").read_text())
    assert len(history) == 1
    ensemble = load_ensemble(out)
    assert ensemble.input_shape == (64, 128, 1) and ensemble.members[0].input_shape == (None, 64, 128, 1)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["whole_photographs"] is True and 0 <= manifest["val_metrics"]["miou"] <= 1
    assert ensemble.predict(dataset.images[:2]).labels.shape == (2, 64, 128)
    # assemble --data scores the held-out rows as evaluate --heldout does: pairs of halves whole
    assert main(["assemble", "--out", str(tmp_path / "asm"), "--data", str(data), f"{out}:0"]) == 0
    assembled = json.loads(capsys.readouterr().out)["val_metrics"]
    assert main(["evaluate", "--task", "mars", "--data", str(data), "--models", str(tmp_path / "asm"), "--heldout",
                 "--precision", "float32"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert assembled["whole_photographs"] == evaluated["whole_photographs"] > 0
    assert assembled["miou"] == pytest.approx(evaluated["miou"], abs=1e-6)
    keras.backend.clear_session()
    with pytest.raises(ValueError, match="whole_photographs: expected false for task 'blood'"):
        TrainConfig(task="blood", whole_photographs=True)


def test_a_lone_half_is_segmented_as_the_top_of_a_mirrored_frame(tiny_models, mars_raw):
    from autobot.ensemble import load_ensemble
    from autobot.errors import DataError
    from autobot.train.member import predict_probs

    ensemble = load_ensemble(tiny_models / "mars")
    assert ensemble.lone_half_padding == 0  # a manifest that does not say: each lone half as is
    images = mars_raw["training_set"][:6, 0]
    pairs = load_dataset(MARS_NPZ, "mars").take(np.arange(6)).photograph_halves()
    single = np.setdiff1d(np.arange(6), pairs.ravel())
    plain = ensemble.predict(images, halves=pairs)
    ensemble.lone_half_padding = 16
    padded = ensemble.predict(images, halves=pairs)
    np.testing.assert_allclose(padded.probs[pairs.ravel()], plain.probs[pairs.ravel()], atol=1e-6)
    # the half on top of an 80-row frame, its last 16 rows mirrored below, the frame's top 64 rows kept
    frames = np.concatenate([images[single], images[single][:, ::-1][:, :16]], axis=1)[..., None]
    assert (frames[:, 63] == frames[:, 64]).all() and (frames[:, 48] == frames[:, 79]).all()
    tall = ensemble.at_size(80, 128)
    expected = ensemble.combine_probs(np.stack([predict_probs(m, frames)[:, :64] for m in tall.members]))
    np.testing.assert_allclose(padded.probs[single], expected, atol=1e-5)
    assert np.abs(padded.probs[single] - plain.probs[single]).max() > 1e-3
    streamed = ensemble.predict(images, halves=pairs, keep_members=False, tta=True)
    np.testing.assert_allclose(streamed.probs, ensemble.predict(images, halves=pairs, tta=True).probs, atol=1e-5)
    alone = ensemble.predict(images[single])  # no pairs at all: the same padded rows
    np.testing.assert_allclose(alone.probs, padded.probs[single], atol=1e-5)
    uploaded = segment(ensemble, images[single[0]])  # the app: a 64x128 upload is a lone half
    np.testing.assert_allclose(uploaded.probs, padded.probs[single[0]], atol=1e-5)
    assert uploaded.mirrored_rows == 16 and "its last 16 rows mirrored below it" in how_segmented(uploaded)
    tall = segment(ensemble, np.vstack([images[0], images[1]]))  # two model heights: whole, nothing mirrored
    assert tall.mirrored_rows == 0 and how_segmented(tall) == "Segmented whole at 128 pixels wide."
    ensemble.lone_half_padding = 4  # 68 rows: three poolings cannot halve it evenly
    with pytest.raises(DataError, match=r"\[lone_half_padding\]: expected rows the members can be rebuilt to take.*found 4"):
        ensemble.predict(images[single])
    ensemble.lone_half_padding = 0


def test_lone_half_padding_is_the_manifests_and_the_command_lines(tiny_models, mars_raw, tmp_path, capsys):
    from autobot.ensemble import load_ensemble
    from autobot.errors import DataError

    data = tmp_path / "mars.npz"
    np.savez(data, training_set=mars_raw["training_set"][:24], source_id=mars_raw["source_id"][:24])
    assert main(["assemble", "--out", str(tmp_path / "padded"), "--lone-half-padding", "16",
                 f"{tiny_models / 'mars'}:0", f"{tiny_models / 'mars'}:1"]) == 0
    assert json.loads(capsys.readouterr().out)["lone_half_padding"] == 16
    padded = load_ensemble(tmp_path / "padded", precision="float32")
    assert padded.lone_half_padding == 16
    common = ["evaluate", "--task", "mars", "--data", str(data), "--separate-halves", "--precision", "float32"]
    assert main([*common, "--models", str(tmp_path / "padded")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["lone_half_padding"] == 16
    dataset = load_dataset(data, "mars")
    assert report["miou"] == pytest.approx(padded.evaluate(dataset)["miou"], abs=1e-9)
    assert main([*common, "--models", str(tiny_models / "mars"), "--lone-half-padding", "16"]) == 0
    assert json.loads(capsys.readouterr().out)["miou"] == pytest.approx(report["miou"], abs=1e-9)
    with pytest.raises(SystemExit):
        main([*common, "--lone-half-padding", "-16"])
    assert "expected a whole number of rows, 0 or more" in capsys.readouterr().err
    manifest = tmp_path / "padded" / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "lone_half_padding": "16 rows"}))
    with pytest.raises(DataError, match=r"padded/manifest.json \[lone_half_padding\]: expected a whole number of rows"):
        load_ensemble(tmp_path / "padded")
