"""The bench scripts run in tiny configurations and write sane JSON: as a user runs them (subprocesses), or in
this process where a second TensorFlow start would only add time."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, SHARED


def _run(script: str, *args: str, timeout: int = 120) -> str:
    done = subprocess.run([sys.executable, f"bench/{script}", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "AUTOBOT_SHARED": str(SHARED)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def _bench_module(name: str):
    """``bench/NAME.py`` loaded in this process: no second TensorFlow start (about 5 s each)."""
    import importlib.util

    if str(ROOT / "bench") not in sys.path:
        sys.path.insert(0, str(ROOT / "bench"))  # the scripts import their _common
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mars_seams_bench_measures_the_pairing_it_ships(mars_raw, tmp_path):
    import numpy as np

    data, out = tmp_path / "mars_rows.npz", tmp_path / "seams.json"
    np.savez(data, training_set=mars_raw["training_set"][:2000], source_id=mars_raw["source_id"][:2000])
    assert _bench_module("mars_seams").main(["--data", str(data), "--block", "200", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    true_pairs = int((mars_raw["source_id"][1:2000] == mars_raw["source_id"][:1999]).sum())
    for rule in ("cross_validated", "shipped_weights", "step_under_300"):
        found = result[rule]
        assert found["true_pairs"] == true_pairs and found["pairs_found"] == true_pairs - found["missed"] + found["wrong"]
    assert result["cross_validated"]["recall"] >= 0.98 and result["shipped_weights"]["recall"] >= 0.99
    assert result["shipped_weights"]["missed"] < result["step_under_300"]["missed"]
    assert len(result["fitted_on_all_rows"]["weights"]) == len(result["features"]) == 7


def test_inference_bench_times_ensembles_members_and_plain_keras(tiny_models, tmp_path):
    out = tmp_path / "inference.json"
    stdout = _run("inference.py", "--models", str(tiny_models), "--runs", "2", "--batch-runs", "1", "--images", "16",
                  "--out", str(out))
    data = json.loads(out.read_text())
    assert [row["task"] for row in data["ensembles"]] == ["blood", "mars"]
    for row in data["ensembles"]:
        assert row["members"] == 2 and row["one_image_ms"] > 0 and row["images_per_s"] > 0
        assert row["one_image_p95_ms"] >= row["one_image_ms"] and row["app_request_ms"] > 0
        gflop = row["flops_per_image"] / 1e9
        assert gflop > 0 and row["gflop_per_s_needed"] == pytest.approx(100 * gflop, abs=0.06)
        assert row["gflop_per_s"] == pytest.approx(gflop * row["images_per_s"], abs=0.06)
    assert len(data["members"]) == 4
    for task in ("blood", "mars"):  # an ensemble's work per image is its members' sum
        ensemble = next(row for row in data["ensembles"] if row["task"] == task)
        members = [row["flops_per_image"] for row in data["members"] if row["task"] == task]
        assert min(members) > 0 and sum(members) == ensemble["flops_per_image"]
    for row in data["members"]:
        for key in ("serving_images_per_s", "keras_predict_images_per_s", "keras_call_images_per_s"):
            assert row[key] > 0
    assert len(data["load_average_before"]) == 3 and data["machine"]["cpus"] >= 1
    assert data["matmul_gflop_per_s"] > 0.1
    assert "images/s" in stdout and "GFLOP/s here" in stdout and "load average" in stdout


def test_load_bench_answers_every_request_without_error(tiny_models, tmp_path):
    out = tmp_path / "load.json"
    stdout = _run("load.py", "--users", "2", "--seconds", "3", "--images", "2", "--models", str(tiny_models),
                  "--explain", "--out", str(out))
    data = json.loads(out.read_text())
    for endpoint in ("classify", "segment", "explain"):
        stats = data["endpoints"][endpoint]
        assert stats["requests"] >= 1 and stats["errors"] == 0 and stats["ok"] == stats["requests"]
        assert 0 < stats["p50_ms"] <= stats["p95_ms"] <= stats["p99_ms"] <= stats["max_ms"]
        assert stats["throughput_per_s"] > 0
    assert data["stuck_users"] == 0 and data["server"]["alive_after"]
    assert data["server"]["memory_after"]["rss_mb"] > 0 and data["cpu"]["client_cpu_s"] > 0
    assert data["cpu"]["server_cpu_s"] > 0
    assert "p95 ms" in stdout and "clients" in stdout


def test_training_bench_times_a_recipe_model(tmp_path):
    out = tmp_path / "training.json"
    _run("training.py", "--models", "custom_cnn", "--steps", "1", "--warmup", "1", "--no-jit", "--out", str(out))
    data = json.loads(out.read_text())
    [row] = data["models"]
    assert (row["recipe"], row["model"], row["input"], row["batch"]) == ("blood_cpu", "custom_cnn", "96x96x3", 64)
    assert row["jit_compile"] is False and data["machine"]["cpu"]
    assert data["machine"]["onednn"] is (os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0"), "as the train command"
    assert row["images_per_s"] > 0 and row["data_images_per_s"] > 0 and row["step_s"] > 0


def test_training_bench_refuses_an_unknown_model(tmp_path):
    with pytest.raises(SystemExit, match=r"unknown model\(s\) \['resnet9000'\]"):
        _bench_module("training").main(["--models", "resnet9000", "--out", str(tmp_path / "x.json")])
    assert not (tmp_path / "x.json").exists()


def test_mars_postprocess_bench_scores_each_step_on_the_half_it_was_not_tuned_on(tiny_models, mars_raw, tmp_path,
                                                                                capsys):
    import numpy as np

    rows = np.arange(0, 640, 10)  # the rows tiny_models' Mars ensemble was trained on, in the course's layout
    data = tmp_path / "mars_rows.npz"
    np.savez_compressed(data, training_set=mars_raw["training_set"][rows], source_id=mars_raw["source_id"][rows])
    out = tmp_path / "post.json"
    assert _bench_module("mars_postprocess").main(["--models", str(tiny_models / "mars"), "--data", str(data),
                                                   "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert set(result["halves"]) == {"tuned_on_A_scored_on_B", "tuned_on_B_scored_on_A"}
    for half in result["halves"].values():
        assert half["class_bias"][0] == 0.0 and len(half["class_bias"]) == 5
        assert half["class_bias_tuned_half"] >= 0 and 0 <= half["class_bias_scored"]["miou"] <= 1
        assert half["sigma"] in (0.0, 1.0, 2.0, 3.0, 4.0)
    assert 0 <= result["plain"]["miou"] <= 1 and result["n"] < len(rows)
    assert "plain mIoU" in stdout and "class bias" in stdout


def test_mars_stacking_bench_fits_on_rows_no_member_saw(tiny_models, mars_raw, tmp_path, capsys):
    import numpy as np

    from autobot.data import load_dataset, train_val_indices
    from autobot.ensemble import bootstrap_rows, load_ensemble

    rows = np.arange(0, 640, 10)  # tiny_models' Mars rows
    data = tmp_path / "mars_rows.npz"
    np.savez_compressed(data, training_set=mars_raw["training_set"][rows], source_id=mars_raw["source_id"][rows])
    out = tmp_path / "stack.json"
    assert _bench_module("mars_stacking").main(["--models", str(tiny_models / "mars"), "--data", str(data),
                                                "--pixels", "20000", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    result = json.loads(out.read_text())
    manifest = load_ensemble(tiny_models / "mars").manifest
    train_idx, val_idx = train_val_indices(load_dataset(data, "mars"), manifest["config"]["val_fraction"],
                                           manifest["config"]["seed"])
    seen = set().union(*(bootstrap_rows(train_idx, manifest["config"]["seed"], m["seed"]) for m in manifest["members"]))
    assert result["n_fit_rows"] == len(set(train_idx) - seen) > 0 and result["n_heldout"] == len(val_idx)
    for key in ("geometric_heldout", "stacked", "stacked_balanced"):
        assert 0 <= result[key]["miou"] <= 1 and set(result[key]["per_class_iou"]) == {"soil", "bedrock", "sand", "big_rock"}
    assert "outside every member's bootstrap sample" in stdout and "stacked_balanced" in stdout


def test_mars_scales_bench_scores_out_of_bag_and_heldout_rows_as_evaluate_does(tiny_models, mars_raw, tmp_path,
                                                                                  capsys):
    import numpy as np

    from autobot.data import load_dataset
    from autobot.ensemble import load_ensemble, split_rows

    rows = np.arange(0, 640, 10)  # tiny_models' Mars rows
    data = tmp_path / "mars_rows.npz"
    np.savez_compressed(data, training_set=mars_raw["training_set"][rows], source_id=mars_raw["source_id"][rows])
    out = tmp_path / "scales.json"
    bench = _bench_module("mars_scales")
    assert bench.main(["--models", str(tiny_models / "mars"), "--data", str(data), "--scales", "1,1.5", "--flip",
                       "--resamples", "50", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    result = json.loads(out.read_text())
    ensemble = load_ensemble(tiny_models / "mars")
    for part in ("outofbag", "heldout"):
        found = result["parts"][part]
        combos = {(tuple(c["scales"]), c["flip"]): c for c in found["combinations"]}
        assert set(combos) == {((1.0,), False), ((1.0,), True), ((1.5,), False), ((1.5,), True),
                               ((1.0, 1.5), False), ((1.0, 1.5), True)}
        assert combos[((1.0, 1.5), True)]["cost"] == 6.5
        assert combos[((1.0,), False)]["gain_interval95"] == [0.0, 0.0]  # the first scale alone against itself
        assert all(c["gain_interval95"][0] <= c["gain_interval95"][1] for c in combos.values())
        # one scale, no mirror: exactly what evaluate reports for that part
        rows_of_part = split_rows(ensemble, load_dataset(data, "mars"), part)
        expected = ensemble.evaluate(rows_of_part, halves=ensemble.whole_photographs(rows_of_part))
        assert found["n"] == len(rows_of_part) > 0
        assert combos[((1.0,), False)]["miou"] == pytest.approx(expected["miou"], abs=1e-6)
        assert all(0 <= c["miou"] <= 1 for c in combos.values())
    assert "outofbag" in stdout and "heldout" in stdout


def test_mars_compare_bench_scores_the_heldout_rows_as_evaluate_does(tiny_models, mars_raw, tmp_path, capsys):
    """An ensemble against itself: the same score as ``Ensemble.evaluate``, no gain and no win on any half."""
    import numpy as np

    from autobot.data import load_dataset
    from autobot.ensemble import load_ensemble, split_rows

    rows = np.arange(0, 640, 10)  # tiny_models' Mars rows
    data, out = tmp_path / "mars_rows.npz", tmp_path / "compare.json"
    np.savez_compressed(data, training_set=mars_raw["training_set"][rows], source_id=mars_raw["source_id"][rows])
    folder = str(tiny_models / "mars")
    assert _bench_module("mars_compare").main(["--candidate", folder, "--baseline", folder, "--data", str(data),
                                               "--splits", "3", "--resamples", "50", "--out", str(out)]) == 0
    assert "candidate higher on 0 of 6 random halves" in capsys.readouterr().out
    result = json.loads(out.read_text())
    ensemble = load_ensemble(folder)
    heldout = split_rows(ensemble, load_dataset(data, "mars"), "heldout")
    expected = ensemble.evaluate(heldout, halves=ensemble.whole_photographs(heldout))["miou"]
    assert result["n_heldout"] == len(heldout) and result["all"]["candidate"] == result["all"]["baseline"]
    assert result["all"]["candidate"] == pytest.approx(expected, abs=1e-4)
    assert result["gain_all"] == 0 and result["candidate_wins"] == 0 and result["halves"] == 6
    assert result["interval95"]["gain"] == [0.0, 0.0]


def test_mars_lone_halves_bench_picks_out_of_bag_and_reports_held_out(tiny_models, mars_raw, tmp_path, capsys):
    import numpy as np

    from autobot.data import load_dataset
    from autobot.ensemble import load_ensemble, split_rows

    rows = np.arange(0, 640, 10)  # tiny_models' Mars rows
    data, out = tmp_path / "mars_rows.npz", tmp_path / "lone.json"
    np.savez_compressed(data, training_set=mars_raw["training_set"][rows], source_id=mars_raw["source_id"][rows])
    folder = tiny_models / "mars"
    assert _bench_module("mars_lone_halves").main(["--models", str(folder), "--data", str(data), "--paddings", "0,8",
                                                   "--out", str(out)]) == 0
    assert "picked out of bag" in capsys.readouterr().out
    result = json.loads(out.read_text())
    ensemble = load_ensemble(folder)
    heldout = split_rows(ensemble, load_dataset(data, "mars"), "heldout")
    ensemble.lone_half_padding = 8
    alone = ensemble.evaluate(heldout)  # no halves: every row on its own, 8 rows mirrored below
    assert result["every_row_on_its_own"]["heldout"]["8"]["miou"] == pytest.approx(alone["miou"], abs=1e-4)
    picked = result["picked_out_of_bag"]
    out_of_bag = result["every_row_on_its_own"]["outofbag"]
    assert out_of_bag[str(picked)]["miou"] == max(out_of_bag["0"]["miou"], out_of_bag["8"]["miou"])
    assert result["heldout_as_evaluate"]["n"] == len(heldout) and result["shipped_padding"] == 0
