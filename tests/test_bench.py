"""The bench scripts run as a user runs them (subprocesses), in tiny configurations, and write sane JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ROOT, SHARED


def _run(script: str, *args: str, timeout: int = 120) -> str:
    done = subprocess.run([sys.executable, f"bench/{script}", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "AUTOBOT_SHARED": str(SHARED)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def test_inference_bench_times_ensembles_members_and_plain_keras(tiny_models, tmp_path):
    out = tmp_path / "inference.json"
    stdout = _run("inference.py", "--models", str(tiny_models), "--runs", "2", "--batch-runs", "1", "--images", "16",
                  "--out", str(out))
    data = json.loads(out.read_text())
    assert [row["task"] for row in data["ensembles"]] == ["blood", "mars"]
    for row in data["ensembles"]:
        assert row["members"] == 2 and row["one_image_ms"] > 0 and row["images_per_s"] > 0
        assert row["one_image_p95_ms"] >= row["one_image_ms"] and row["app_request_ms"] > 0
    assert len(data["members"]) == 4
    for row in data["members"]:
        for key in ("serving_images_per_s", "keras_predict_images_per_s", "keras_call_images_per_s"):
            assert row[key] > 0
    assert len(data["load_average_before"]) == 3 and data["machine"]["cpus"] >= 1
    assert "images/s" in stdout and "load average" in stdout


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
    _run("training.py", "--models", "custom_cnn", "--steps", "1", "--warmup", "1", "--out", str(out))
    data = json.loads(out.read_text())
    [row] = data["models"]
    assert (row["recipe"], row["model"], row["input"], row["batch"]) == ("blood_cpu", "custom_cnn", "96x96x3", 64)
    assert row["images_per_s"] > 0 and row["data_images_per_s"] > 0 and row["step_s"] > 0


def test_training_bench_refuses_an_unknown_model(tmp_path):
    done = subprocess.run([sys.executable, "bench/training.py", "--models", "resnet9000", "--out", str(tmp_path / "x.json")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "unknown model(s) ['resnet9000']" in done.stderr
