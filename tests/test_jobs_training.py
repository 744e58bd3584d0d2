"""Real training jobs: `python -m autobot train` subprocesses run by the runner, and distributed training."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autobot.jobs import JobStore
from autobot.jobs.catalog import active_model_path, list_models
from autobot.jobs.runner import Runner
from conftest import FAST_XLA_COMPILE, MARS_NPZ, ROOT
from test_jobs import wait_for

TINY = {"ensemble.members": "1", "train.batch_size": "16", "train.max_val": "32",
        "train.model_kwargs": "{stem_filters: 8, stages: [[16, 1, 2], [32, 1, 2]]}"}


@pytest.fixture
def store(tmp_path):
    return JobStore(tmp_path / "runs")


def test_a_training_job_finishes_and_its_ensemble_can_be_served(store, tiny_blood, tmp_path):
    runner = Runner(store)
    assert runner.acquire()
    job = store.submit("blood_cpu", {"data": str(tiny_blood), "train.epochs": "2", **TINY})
    wait_for(lambda: store.get(job.id).final, runner, timeout=300)
    done = store.get(job.id)
    assert done.status == "done", done.error
    history = store.history(job.id)
    assert [row["epoch"] for row in history] == [1, 2] and all(np.isfinite(row["loss"]) for row in history)
    assert done.progress["fraction"] == 1.0
    state = json.loads((Path(done.run_dir) / "runs" / "member_0" / "state.json").read_text())
    assert state["onednn"] is (os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0"), "the train command asks for oneDNN"
    assert any(entry.path == done.run_dir for entry in list_models("blood", store, shipped_dir=tmp_path))
    assert active_model_path("blood", store, shipped_dir=tmp_path) is None
    store.set_active_model("blood", done.run_dir)
    assert str(active_model_path("blood", store, shipped_dir=tmp_path)) == done.run_dir
    from autobot.data import load_dataset
    from autobot.ensemble import load_ensemble

    images = load_dataset(tiny_blood).images[:4]
    assert load_ensemble(done.run_dir).predict(images).probs.shape == (4, 8)


def test_cancelling_a_training_job_keeps_its_last_checkpoint(store, tiny_blood):
    runner = Runner(store)
    runner.acquire()
    job = store.submit("blood_cpu", {"data": str(tiny_blood), "train.epochs": "300", **TINY})
    wait_for(lambda: len(store.history(job.id)) >= 2, runner, timeout=300)
    store.request_cancel(job.id)
    wait_for(lambda: store.get(job.id).final, runner, timeout=120)
    cancelled = store.get(job.id)
    assert cancelled.status == "cancelled"
    member = os.path.join(cancelled.run_dir, "runs", "member_0")
    state = json.load(open(os.path.join(member, "state.json")))
    assert state["epoch"] >= 2 and os.path.exists(os.path.join(member, "last.keras"))
    assert "cancelled" in open(cancelled.log_path).read()


def test_mirrored_training_on_two_logical_cpus(tiny_blood, tmp_path):
    """tf.distribute over two logical CPU devices: two replicas, same outputs, loss going down."""
    out = tmp_path / "ens"
    args = [sys.executable, "-m", "autobot", "train", "blood_cpu", "--data", str(tiny_blood), "--out", str(out),
            "--set", "train.distribute=mirrored", "--set", "train.epochs=4", "--set", "train.augment=null",
            "--set", "train.warmup_epochs=0"]
    for key, value in TINY.items():
        args += ["--set", f"{key}={value}"]
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "AUTOBOT_LOGICAL_CPUS": "2"})
    assert result.returncode == 0, result.stderr[-2000:]
    member = out / "runs" / "member_0"
    assert json.loads((member / "state.json").read_text())["replicas"] == 2
    losses = [row["loss"] for row in json.loads((member / "history.json").read_text())]
    assert len(losses) == 4 and losses[-1] < losses[0]
    from autobot.ensemble import load_ensemble

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["distribute"] == "mirrored"
    probs = load_ensemble(out).predict(np.zeros((3, 96, 96, 3), np.uint8)).probs
    assert probs.shape == (3, 8) and np.allclose(probs.sum(1), 1, atol=1e-4)


def test_members_train_as_separate_jobs_then_assemble(tiny_blood, tmp_path):
    """Two workers each train one member into a shared folder; a final run writes the manifest."""
    out = tmp_path / "shared_ensemble"
    base = [sys.executable, "-m", "autobot", "train", "blood_cpu", "--data", str(tiny_blood), "--out", str(out),
            "--set", "train.epochs=1", "--set", "ensemble.members=2"]
    for key, value in TINY.items():
        if key != "ensemble.members":
            base += ["--set", f"{key}={value}"]
    workers = [subprocess.Popen(base + ["--set", f"ensemble.only=[{i}]"], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True) for i in (0, 1)]
    for worker in workers:
        assert worker.wait(timeout=300) == 0, worker.stderr.read()[-2000:]
    assert not (out / "manifest.json").exists()
    assert all((out / "runs" / f"member_{i}" / "best.keras").exists() for i in (0, 1))
    assemble = subprocess.run(base, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert assemble.returncode == 0, assemble.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert [m["seed"] for m in manifest["members"]] == [1337, 1338]
    assert "epoch 1/1" not in assemble.stderr, "the assembling run found both members finished"


JAX_PREDICT = """
import sys, numpy as np
from autobot.ensemble import load_ensemble
images = np.load(sys.argv[2])
np.save(sys.argv[3], load_ensemble(sys.argv[1]).predict(images).probs)
"""


@pytest.mark.parametrize("task", ["blood", "mars"])
def test_data_parallel_training_under_jax_serves_under_tensorflow(task, tiny_blood, tmp_path):
    """KERAS_BACKEND=jax (the GPU machines' framework): keras.distribution.DataParallel over two
    logical CPUs, losses and metrics in pure Keras; the .keras files then serve under TensorFlow
    with the same probabilities."""
    pytest.importorskip("jax", reason="tests/install.sh installs jax[cpu]")
    if task == "blood":
        data, recipe = tiny_blood, "blood_cpu"
        extra = [f"{key}={value}" for key, value in TINY.items()]
        images = np.stack([np.asarray(__import__("PIL.Image").Image.open(p).convert("RGB"))
                           for p in sorted(tiny_blood.glob("*/*.jpg"))[:6]])
    else:
        with np.load(MARS_NPZ) as file:
            rows = np.arange(0, 10_000, 150)  # 67 rows spread over the file: every class, 50+ photographs
            pairs, source = file["training_set"][rows], file["source_id"][rows]
        data, recipe = tmp_path / "mars_small.npz", "mars_cpu"
        np.savez(data, training_set=pairs, source_id=source)
        # the transformer bottleneck: attention is the most backend-sensitive layer
        extra = ["ensemble.members=1", "ensemble.models=[unet_transformer]", "train.batch_size=16",
                 "train.model_kwargs={base_filters: 4, depth: 3}"]
        images = pairs[:6, 0][..., None]
    out = tmp_path / "ens"
    args = [sys.executable, "-m", "autobot", "train", recipe, "--data", str(data), "--out", str(out),
            "--set", "train.distribute=data_parallel", "--set", "train.epochs=4", "--set", "train.augment=null",
            "--set", "train.warmup_epochs=0"]
    for setting in extra:
        args += ["--set", setting]
    # XLA's backend optimisation off: the checks are of results, and it compiles 2-3x faster
    env = {**os.environ, "KERAS_BACKEND": "jax", "AUTOBOT_LOGICAL_CPUS": "2",
           "XLA_FLAGS": f"--xla_force_host_platform_device_count=2 {FAST_XLA_COMPILE}"}
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=400, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    state = json.loads((out / "runs" / "member_0" / "state.json").read_text())
    assert state["engine"] == "DataParallel x2" and state["replicas"] == 2, state
    losses = [row["loss"] for row in json.loads((out / "runs" / "member_0" / "history.json").read_text())]
    assert len(losses) == 4 and losses[-1] < losses[0], losses

    np.save(tmp_path / "images.npy", images)
    subprocess.run([sys.executable, "-c", JAX_PREDICT, str(out), str(tmp_path / "images.npy"),
                    str(tmp_path / "jax_probs.npy")], cwd=ROOT, check=True, capture_output=True, timeout=300,
                   env={**os.environ, "KERAS_BACKEND": "jax", "XLA_FLAGS": FAST_XLA_COMPILE})
    from autobot.ensemble import load_ensemble

    served = load_ensemble(out).predict(images).probs  # this process runs TensorFlow
    np.testing.assert_allclose(served, np.load(tmp_path / "jax_probs.npy"), atol=2e-4)
