"""Training, resume, ensembles and the evaluate CLI on ~64 real images per task (kept tiny for CPU)."""

from __future__ import annotations

import json
import shutil

import keras
import numpy as np
import pytest

from autobot.cli import main
from autobot.data import load_dataset, train_val_indices
from autobot.ensemble import bootstrap_rows, load_ensemble, train_ensemble
from autobot.ensemble.combine import combine_probs
from autobot.errors import DataError
from autobot.train.config import TrainConfig
from autobot.train.member import train_member

from conftest import BLOOD_FOLDERS as BLOOD_DIR, MARS_NPZ

TINY_MODEL = {
    "blood": dict(model="custom_cnn", model_kwargs={"stem_filters": 8, "stages": [[16, 1, 2], [32, 1, 2]]}),
    "mars": dict(model="unet", model_kwargs={"base_filters": 4, "depth": 3}, loss={"focal": 1, "dice": 1},
                 class_weights="auto"),
}


@pytest.fixture(scope="module")
def data_files(tmp_path_factory):
    """Small copies of the shared data in tmp (64 rows each); AUTOBOT_CACHE points to tmp."""
    root = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOBOT_CACHE", str(root / "cache"))
        blood = root / "blood"
        for folder in sorted(p for p in BLOOD_DIR.iterdir() if p.is_dir()):
            (blood / folder.name).mkdir(parents=True)
            for f in sorted(folder.glob("*.jpg"))[:8]:
                shutil.copyfile(f, blood / folder.name / f.name)
        with np.load(MARS_NPZ) as d:
            rows = np.arange(0, 640, 10)
            np.savez(root / "mars.npz", training_set=d["training_set"][rows], source_id=d["source_id"][rows])
        yield {"blood": blood, "mars": root / "mars.npz"}


def _config(task, **kw):
    base = dict(task=task, epochs=1, batch_size=16, val_fraction=0.25, seed=0, **TINY_MODEL[task])
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("task", ["blood", "mars"])
def test_train_one_epoch_then_resume_after_interruption(task, data_files, tmp_path):
    dataset = load_dataset(data_files[task], task)
    assert len(dataset) == 64
    train_idx, val_idx = train_val_indices(dataset, 0.25, 0)
    config = _config(task, epochs=2, augment={"cutmix": 0.5, "mixup": 0.5} if task == "blood" else {})
    events = []

    def interrupt_after_first_epoch(event):
        events.append(event)
        if event["stage"] == "epoch" and event["epoch"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_member(config, dataset, train_idx, val_idx, tmp_path, progress=interrupt_after_first_epoch)
    assert json.loads((tmp_path / "state.json").read_text())["epoch"] == 1
    assert {"epoch", "step", "steps", "metrics"} <= set(events[0])
    keras.backend.clear_session()
    result = train_member(config, dataset, train_idx, val_idx, tmp_path)
    history = json.loads((tmp_path / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]
    key = "val_miou" if task == "mars" else "val_accuracy"
    assert all(np.isfinite(row["loss"]) and key in row for row in history)
    assert result.epochs_done == 2 and result.model_path.exists()
    assert list((tmp_path / "tensorboard").rglob("events.out.tfevents*")), "TensorBoard scalars written"
    assert ("miou" if task == "mars" else "accuracy") in result.val_metrics
    assert json.loads((tmp_path / "state.json").read_text())["jit_compile"] is False, "Keras' CPU default"
    keras.backend.clear_session()


def test_xla_steps_and_a_resumed_run_follows_its_config(data_files, tmp_path):
    """A checkpoint keeps the compile settings it was saved with; the resuming config decides XLA again."""
    dataset = load_dataset(data_files["mars"], "mars")
    train_idx, val_idx = train_val_indices(dataset, 0.25, 0)
    config = _config("mars", epochs=1, steps_per_epoch=2, jit_compile=True)
    result = train_member(config, dataset, train_idx, val_idx, tmp_path)
    assert json.loads((tmp_path / "state.json").read_text())["jit_compile"] is True
    assert np.isfinite(result.history[0]["loss"]) and 0 <= result.val_metrics["miou"] <= 1
    keras.backend.clear_session()
    train_member(_config("mars", epochs=2, steps_per_epoch=2), dataset, train_idx, val_idx, tmp_path)
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["epoch"] == 2 and state["jit_compile"] is False, "auto: Keras leaves XLA off on CPU TensorFlow"
    keras.backend.clear_session()
    with pytest.raises(ValueError, match="jit_compile: expected true, false, 'auto' or 'unless_avx512'; got 'yes'"):
        _config("mars", jit_compile="yes")


def test_unless_avx512_compiles_on_cpus_without_avx512_only(tmp_path):
    from autobot.train.member import _jit_compile

    (tmp_path / "avx2").write_text("processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n")
    (tmp_path / "avx512").write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma avx512f avx512bw\n")
    config = _config("mars", jit_compile="unless_avx512")
    # this process is CPU-only TensorFlow, as CI: the CPU flags decide
    assert _jit_compile(config, str(tmp_path / "avx2")) is True
    assert _jit_compile(config, str(tmp_path / "avx512")) is False
    assert _jit_compile(_config("mars"), str(tmp_path / "avx2")) is False, "auto stays Keras' rule"


@pytest.fixture(scope="module")
def ensembles(data_files, tmp_path_factory):
    root = tmp_path_factory.mktemp("ensembles")
    out = {}
    for task in ("blood", "mars"):
        dataset = load_dataset(data_files[task], task)
        models = ["unet", "dual_unet"] if task == "mars" else None
        kw = {"model_kwargs": {"base_filters": 4, "depth": 3, "context_filters": 4}} if task == "mars" else {}
        out[task] = train_ensemble(_config(task, **kw), dataset, n_members=2, out_dir=root / task, models=models)
        keras.backend.clear_session()
    return out


@pytest.mark.parametrize("task", ["blood", "mars"])
def test_ensemble_round_trip(task, ensembles, data_files):
    manifest = json.loads((ensembles[task] / "manifest.json").read_text())
    for key in ("task", "classes", "input_shape", "members", "config", "data", "val_metrics", "created",
                "autobot_version"):
        assert key in manifest
    assert [m["seed"] for m in manifest["members"]] == [0, 1]
    images = load_dataset(data_files[task], task).images[:5]
    ens = load_ensemble(ensembles[task])
    pred = ens.predict(images, tta=True)
    again = load_ensemble(ensembles[task]).predict(images, tta=True)
    np.testing.assert_allclose(pred.probs, again.probs, atol=1e-6)
    # the saved members are the ones trained: same outputs as the run's kept checkpoints
    runs = [keras.models.load_model(ensembles[task] / "runs" / f"member_{i}" / "best.keras") for i in range(2)]
    direct = np.mean([np.asarray(m.predict_on_batch(images.astype("float32"))) for m in runs], 0)
    np.testing.assert_allclose(ens.predict(images).probs, direct, atol=1e-5)
    assert pred.member_probs.shape[0] == 2
    # streaming the members (what evaluate and predict do) gives the same outputs without them
    for rule in ("mean", "geometric"):
        ens.combine = rule
        kept, streamed = ens.predict(images, tta=True), ens.predict(images, tta=True, keep_members=False)
        assert streamed.member_probs is None
        np.testing.assert_array_equal(streamed.probs, kept.probs)
        np.testing.assert_array_equal(streamed.labels, kept.labels)
        np.testing.assert_array_equal(streamed.uncertainty, kept.uncertainty)
    if task == "mars":
        assert pred.labels.shape == (5, 64, 128) and pred.uncertainty.shape == (5, 64, 128)
        assert pred.labels.min() >= 1
    else:
        assert pred.probs.shape == (5, 8) and pred.labels.shape == (5,)
    keras.backend.clear_session()


def test_load_ensemble_bad_manifest(ensembles, tmp_path):
    with pytest.raises(DataError, match="manifest.json"):
        load_ensemble(tmp_path)
    bad = tmp_path / "bad"
    shutil.copytree(ensembles["blood"], bad, ignore=shutil.ignore_patterns("runs"))
    (bad / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match="manifest.json"):
        load_ensemble(bad)
    manifest = json.loads((ensembles["blood"] / "manifest.json").read_text())
    del manifest["members"]
    (bad / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"\[members\]"):
        load_ensemble(bad)


@pytest.mark.parametrize("task", ["blood", "mars"])
def test_evaluate_cli_json(task, ensembles, data_files, capsys):
    assert main(["evaluate", "--task", task, "--data", str(data_files[task]), "--models", str(ensembles[task])]) == 0
    report = json.loads(capsys.readouterr().out)
    if task == "blood":
        assert set(report) == {"task", "n", "accuracy", "macro_f1", "per_class_recall", "confusion", "precision",
                               "seconds"}
        assert len(report["confusion"]) == 8
    else:
        assert set(report) == {"task", "n", "miou", "per_class_iou", "pixel_accuracy", "miou_interval95",
                               "whole_photographs", "halves_paired_by", "lone_half_padding", "precision", "seconds"}
        low, high = report["miou_interval95"]
        assert low < report["miou"] < high  # 64 rows of different photographs: a wide interval around the score
        assert report["whole_photographs"] == 0  # every 10th row: no photograph has both halves here
        assert report["halves_paired_by"] == "source_id"
        assert set(report["per_class_iou"]) == {"soil", "bedrock", "sand", "big_rock"}
    assert report["n"] == 64


def test_assemble_serves_members_of_two_ensembles_as_one(ensembles, data_files, tmp_path, capsys):
    """Member 1 of one run and member 0 of another, trained on the same split: one folder, same outputs."""
    other = tmp_path / "other"
    shutil.copytree(ensembles["mars"], other)
    out = tmp_path / "mix"
    assert main(["assemble", "--out", str(out), "--data", str(data_files["mars"]),
                 f"{ensembles['mars']}:1", str(other)]) == 0
    printed = json.loads(capsys.readouterr().out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert [m["model"] for m in manifest["members"]] == ["dual_unet", "unet"]
    assert [m["source"]["member"] for m in manifest["members"]] == [1, 0]
    assert manifest["data"] == json.loads((other / "manifest.json").read_text())["data"]
    assert printed["val_metrics"] == manifest["val_metrics"] and 0 <= manifest["val_metrics"]["miou"] <= 1
    images = load_dataset(data_files["mars"], "mars").images[:4]
    mixed = load_ensemble(out).predict(images)
    parts = [load_ensemble(ensembles["mars"]).predict(images).member_probs[1],
             load_ensemble(other).predict(images).member_probs[0]]
    np.testing.assert_allclose(mixed.probs, np.mean(parts, 0), atol=1e-5)
    # heldout rows of the mix are those of its sources
    assert main(["evaluate", "--task", "mars", "--data", str(data_files["mars"]), "--models", str(out),
                 "--heldout"]) == 0
    assert json.loads(capsys.readouterr().out)["miou"] == pytest.approx(manifest["val_metrics"]["miou"], abs=1e-6)
    # re-assembling an assembled ensemble keeps where each member was trained
    again = tmp_path / "again"
    assert main(["assemble", "--out", str(again), f"{out}:1", f"{ensembles['mars']}:0"]) == 0
    capsys.readouterr()
    sources = [m["source"] for m in json.loads((again / "manifest.json").read_text())["members"]]
    assert sources[0]["ensemble"] == str(out) and sources[0]["origin"]["ensemble"] == str(other)
    assert sources[0]["origin"]["member"] == 0 and "origin" not in sources[1]
    keras.backend.clear_session()


def test_assemble_float16_halves_the_members_and_keeps_their_predictions(ensembles, data_files, tmp_path, capsys):
    out = tmp_path / "half"
    assert main(["assemble", "--out", str(out), "--weights-dtype", "float16", "--data", str(data_files["mars"]),
                 f"{ensembles['mars']}:0", f"{ensembles['mars']}:1"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert [m["weights_dtype"] for m in manifest["members"]] == ["float16", "float16"]
    for i in range(2):
        assert (out / f"member_{i}.keras").stat().st_size < (ensembles["mars"] / f"member_{i}.keras").stat().st_size
    assert all(w.dtype == "float32" for w in keras.models.load_model(out / "member_0.keras").weights)
    images = load_dataset(data_files["mars"], "mars").images[:8]
    half, full = load_ensemble(out).predict(images), load_ensemble(ensembles["mars"]).predict(images)
    np.testing.assert_allclose(half.probs, full.probs, atol=2e-2)
    assert (np.argmax(half.probs, -1) == np.argmax(full.probs, -1)).mean() > 0.99
    assert main(["evaluate", "--task", "mars", "--data", str(data_files["mars"]), "--models", str(out),
                 "--heldout"]) == 0
    full_miou = json.loads((ensembles["mars"] / "manifest.json").read_text())["val_metrics"]["miou"]
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["miou"] == pytest.approx(full_miou, abs=5e-3)
    keras.backend.clear_session()


def test_assemble_geometric_combines_by_the_manifest_rule_and_evaluate_can_override_it(ensembles, data_files,
                                                                                       tmp_path, capsys):
    out = tmp_path / "geo"
    assert main(["assemble", "--out", str(out), "--combine", "geometric", "--data", str(data_files["mars"]),
                 f"{ensembles['mars']}:0", f"{ensembles['mars']}:1"]) == 0
    printed = json.loads(capsys.readouterr().out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["combine"] == printed["combine"] == "geometric"
    assert json.loads((ensembles["mars"] / "manifest.json").read_text())["combine"] == "mean"
    images = load_dataset(data_files["mars"], "mars").images[:4]
    geo = load_ensemble(out).predict(images)
    np.testing.assert_allclose(geo.probs, combine_probs(geo.member_probs, "geometric"), atol=1e-6)
    assert np.abs(geo.probs - geo.member_probs.mean(0)).max() > 1e-4  # tiny members: near-uniform outputs
    # evaluate --combine mean on the geometric folder scores what the mean folder scores
    assert main(["evaluate", "--task", "mars", "--data", str(data_files["mars"]), "--models", str(out),
                 "--heldout"]) == 0
    assert json.loads(capsys.readouterr().out)["miou"] == pytest.approx(manifest["val_metrics"]["miou"], abs=1e-6)
    assert main(["evaluate", "--task", "mars", "--data", str(data_files["mars"]), "--models", str(out),
                 "--heldout", "--combine", "mean"]) == 0
    mean_miou = json.loads((ensembles["mars"] / "manifest.json").read_text())["val_metrics"]["miou"]
    assert json.loads(capsys.readouterr().out)["miou"] == pytest.approx(mean_miou, abs=1e-6)
    # a rule the loader does not know names the key
    manifest["combine"] = "median"
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"\[combine\].*mean, geometric.*'median'"):
        load_ensemble(out)
    keras.backend.clear_session()


def test_assemble_refuses_members_trained_on_another_split(ensembles, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(ensembles["mars"], other, ignore=shutil.ignore_patterns("runs"))
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["config"]["seed"] = 7
    (other / "manifest.json").write_text(json.dumps(manifest))
    assert main(["assemble", "--out", str(tmp_path / "mix"), f"{ensembles['mars']}:0", f"{other}:1"]) == 2
    err = capsys.readouterr().err
    assert "[config.seed]" in err and "validation split" in err and "found 7" in err
    assert not (tmp_path / "mix" / "manifest.json").exists()
    assert main(["assemble", "--out", str(tmp_path / "mix"), f"{ensembles['mars']}:5"]) == 2
    assert "a member 5" in capsys.readouterr().err


def test_evaluate_cli_bad_models_dir_exits_2(data_files, tmp_path, capsys):
    assert main(["evaluate", "--task", "mars", "--data", str(data_files["mars"]), "--models",
                 str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_predict_cli_writes_masks(ensembles, data_files, tmp_path):
    out = tmp_path / "masks.npz"
    assert main(["predict", "--task", "mars", "--data", str(data_files["mars"]), "--models",
                 str(ensembles["mars"]), "--out", str(out)]) == 0
    with np.load(out) as d:
        assert d["masks"].shape == (64, 64, 128) and d["masks"].dtype == np.uint8


def test_predict_cli_writes_the_course_submission_csv_for_the_test_set(ensembles, tmp_path):
    from autobot.data.export import read_submission_csv

    with np.load(MARS_NPZ) as d:
        np.savez(tmp_path / "course.npz", training_set=d["training_set"][:4], test_set=d["test_set"][:5])
    out, csv = tmp_path / "masks.npz", tmp_path / "submission.csv"
    assert main(["predict", "--task", "mars", "--data", str(tmp_path / "course.npz"), "--split", "test",
                 "--models", str(ensembles["mars"]), "--out", str(out), "--csv", str(csv)]) == 0
    header, *rows = csv.read_text().splitlines()
    assert header == ",".join(["id"] + [str(i) for i in range(64 * 128)])
    assert [row.split(",", 1)[0] for row in rows] == ["0", "1", "2", "3", "4"]
    with np.load(out) as d:
        np.testing.assert_array_equal(read_submission_csv(csv, (64, 128)), d["masks"])
    assert main(["predict", "--task", "blood", "--data", str(tmp_path / "course.npz"), "--out", str(out),
                 "--csv", str(csv)]) == 2


def test_train_cli_runs_a_recipe_and_resumes_longer(data_files, tmp_path, capsys):
    args = ["train", "blood_cpu", "--data", str(data_files["blood"]), "--out", str(tmp_path / "ens"),
            "--set", "ensemble.members=1", "--set", "train.epochs=1", "--set", "train.batch_size=16",
            "--set", "train.model_kwargs={stem_filters: 8, stages: [[16, 1, 2]]}"]
    assert main(args) == 0
    assert "epoch 1/1" in capsys.readouterr().err
    # the same command with more epochs continues the member's run instead of restarting it
    longer = args[:-6] + ["--set", "train.epochs=2"] + args[-4:]
    assert main(longer) == 0
    history = json.loads((tmp_path / "ens" / "runs" / "member_0" / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]
    assert load_ensemble(tmp_path / "ens").manifest["members"][0]["epochs"] == 2
    assert load_ensemble(tmp_path / "ens").combine == "mean"
    # the recipe's ensemble.combine reaches the manifest; a rule that does not exist is refused by its key
    assert main(longer + ["--set", "ensemble.combine=geometric"]) == 0
    assert load_ensemble(tmp_path / "ens").combine == "geometric"
    capsys.readouterr()
    assert main(longer + ["--set", "ensemble.combine=median"]) == 2
    assert "[ensemble.combine]" in capsys.readouterr().err
    keras.backend.clear_session()


def test_a_mars_recipe_writes_its_lone_half_padding_to_the_manifest(ensembles, data_files, tmp_path, capsys):
    assert load_ensemble(ensembles["mars"]).manifest["lone_half_padding"] == 0  # train_ensemble's default
    assert "lone_half_padding" not in load_ensemble(ensembles["blood"]).manifest  # a Mars setting only
    args = ["train", "mars_cpu", "--data", str(data_files["mars"]), "--out", str(tmp_path / "ens"),
            "--set", "ensemble.models=[unet]", "--set", "train.epochs=1", "--set", "train.steps_per_epoch=1",
            "--set", "train.batch_size=16", "--set", "train.model_kwargs={base_filters: 4, depth: 3}",
            "--set", "train.jit_compile=false"]
    assert main(args + ["--set", "ensemble.lone_half_padding=sixteen"]) == 2
    assert "[ensemble.lone_half_padding]: expected a whole number of rows" in capsys.readouterr().err
    assert main(args + ["--set", "ensemble.lone_half_padding=16"]) == 0
    assert load_ensemble(tmp_path / "ens").lone_half_padding == 16
    keras.backend.clear_session()


def test_seed_offset_trains_new_members_on_the_same_split(ensembles, data_files, tmp_path, monkeypatch, capsys):
    """A later run with ``seed_offset=2`` trains what member 2 of the first run would be, on its split."""
    import autobot.ensemble.bagging as bagging

    seen = []

    def recording(config, dataset, rows, val_idx, run_dir, progress=None):
        seen.append((config.seed, np.sort(rows), np.sort(val_idx)))
        return train_member(config, dataset, rows, val_idx, run_dir, progress=progress)

    monkeypatch.setattr(bagging, "train_member", recording)
    dataset = load_dataset(data_files["blood"])
    config = _config("blood", steps_per_epoch=1)
    train_ensemble(config, dataset, n_members=3, out_dir=tmp_path / "three", only=[2])
    later = train_ensemble(config, dataset, n_members=1, out_dir=tmp_path / "later", seed_offset=2)
    (seed_third, rows_third, val_third), (seed_later, rows_later, val_later) = seen
    assert seed_third == seed_later == 2 == load_ensemble(later).manifest["members"][0]["seed"]
    assert np.array_equal(rows_third, rows_later) and np.array_equal(val_third, val_later)
    # the manifest's seed is enough to recover the member's sample (and so its out-of-bag rows)
    train_idx, _ = train_val_indices(dataset, config.val_fraction, config.seed)
    assert np.array_equal(np.sort(bootstrap_rows(train_idx, config.seed, seed_later)), rows_later)
    assert not np.array_equal(np.sort(bootstrap_rows(train_idx, config.seed, seed_later + 1)), rows_later)
    # its held-out rows are the first ensemble's, so their members can be served together
    assert main(["assemble", "--out", str(tmp_path / "mix"), f"{ensembles['blood']}:1", str(later)]) == 0
    with pytest.raises(DataError, match="seed_offset"):
        train_ensemble(config, dataset, n_members=1, out_dir=tmp_path / "bad", seed_offset=-1)
    capsys.readouterr()
    assert main(["train", "blood_cpu", "--data", str(data_files["blood"]), "--out", str(tmp_path / "cli"),
                 "--set", "ensemble.seed_offset=two"]) == 2
    assert "[ensemble.seed_offset]" in capsys.readouterr().err
    keras.backend.clear_session()


def test_fine_tune_from_an_ensemble_at_another_work_size(data_files, tmp_path, monkeypatch):
    """``init_from`` an ensemble folder: member i starts from its member i, matched by layer name."""
    import autobot.train.member as member
    from autobot.models import build_model

    dataset = load_dataset(data_files["blood"])
    small = _config("blood", steps_per_epoch=1, model_kwargs={**TINY_MODEL["blood"]["model_kwargs"], "work_size": 48})
    source = train_ensemble(small, dataset, n_members=1, out_dir=tmp_path / "e48")
    started = {}

    def recording(model, path):
        member_init(model, path)
        started[str(path)] = model.get_weights()

    member_init = member.init_weights
    monkeypatch.setattr(member, "init_weights", recording)
    train_ensemble(_config("blood", steps_per_epoch=1, init_from=str(source)), dataset, n_members=1,
                   out_dir=tmp_path / "e96")
    donor = keras.models.load_model(source / "member_0.keras").get_weights()
    copied = started[str(source / "member_0.keras")]
    assert len(copied) == len(donor) and all(np.array_equal(a, b) for a, b in zip(copied, donor))

    wider = build_model("custom_cnn", input_shape=(96, 96, 3), num_classes=8, stem_filters=12,
                        stages=[[16, 1, 2], [32, 1, 2]])
    with pytest.raises(DataError, match="init_from layer 'stem_conv'.*shapes"):
        member_init(wider, source / "member_0.keras")
    with pytest.raises(DataError, match="no such file"):
        member_init(wider, tmp_path / "missing.keras")
    with pytest.raises(DataError, match="at least 2 members"):
        train_ensemble(_config("blood", init_from=str(source)), dataset, n_members=2, out_dir=tmp_path / "e2")
    assert not (tmp_path / "e2" / "runs").exists()
    keras.backend.clear_session()


def test_mars_tta_flips_masks_back():
    from autobot.ensemble import Ensemble
    from autobot.tasks import MARS

    # a per-pixel model is flip-equivariant, so TTA must give exactly the plain prediction
    inputs = keras.Input((64, 128, 1))
    outputs = keras.layers.Conv2D(5, 1, activation="softmax")(keras.layers.Rescaling(1 / 255)(inputs))
    ens = Ensemble(MARS, [keras.Model(inputs, outputs)], {"input_shape": [64, 128, 1]}, None)
    x = np.random.default_rng(0).integers(0, 255, (3, 64, 128), dtype=np.uint8)
    np.testing.assert_allclose(ens.predict(x, tta=True).probs, ens.predict(x).probs, atol=1e-6)
    assert ens.predict(x[0]).labels.shape == (1, 64, 128)
    keras.backend.clear_session()


def test_blood_tta_averages_the_four_flips():
    from autobot.ensemble import Ensemble
    from autobot.tasks import BLOOD

    # an orientation-sensitive model (flattens pixels), so each flip gives a different answer
    inputs = keras.Input((96, 96, 3))
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(8, activation="softmax", kernel_initializer="he_normal")(x))
    ens = Ensemble(BLOOD, [model], {"input_shape": [96, 96, 3]}, None)
    images = np.random.default_rng(0).integers(0, 255, (2, 96, 96, 3), dtype=np.uint8)
    views = [images, images[:, :, ::-1], images[:, ::-1], images[:, ::-1, ::-1]]
    expected = np.mean([ens.predict(np.ascontiguousarray(v)).probs for v in views], axis=0)
    assert not np.allclose(expected, ens.predict(images).probs, atol=1e-4)
    np.testing.assert_allclose(ens.predict(images, tta=True).probs, expected, atol=1e-5)
    keras.backend.clear_session()
