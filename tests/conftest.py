"""Shared fixtures: where ../shared lives, and a private cache per test session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AUTOBOT_SHARED", ROOT.parent / "shared"))
BLOOD_NPZ = SHARED / "data" / "blood" / "challenge_like.npz"
BLOOD_FOLDERS = SHARED / "data" / "blood" / "pbc96"
MARS_NPZ = SHARED / "data" / "mars" / "mars_dev.npz"
MARS_CHALLENGE = SHARED / "data" / "mars" / "mars_challenge_like.npz"


def pytest_configure(config):
    if not BLOOD_NPZ.exists():
        raise pytest.UsageError(f"the tests read real data from {SHARED} (set AUTOBOT_SHARED); it is missing")
    # Ensembles serve in bfloat16 only on CPUs with it (autobot.runtime.serving_precision): pin float32 so the
    # comparisons with member files hold on every machine; tests/test_precision.py covers bfloat16 and the choice.
    os.environ.setdefault("AUTOBOT_SERVING_PRECISION", "float32")
    # XLA (TensorFlow's jit_compile, JAX) compiles without LLVM's optimisation passes, 2-3x faster: the tests
    # check results on tiny models, where compiling is most of the time. Subprocesses inherit it.
    os.environ.setdefault("XLA_FLAGS", FAST_XLA_COMPILE)


#: XLA_FLAGS for the tests (see pytest_configure).
FAST_XLA_COMPILE = "--xla_backend_optimization_level=0"


#: Registry models trained from scratch (the ImageNet backbones nest a whole model as one layer).
IMAGENET_BACKBONES = {"efficientnetb7", "convnextbase", "mobilenetv3small"}
TINY_SHAPES = {"blood": (32, 32, 3), "mars": (32, 64, 1)}


def from_scratch_models() -> list[str]:
    from autobot.models import list_models

    return [name for name in list_models() if name not in IMAGENET_BACKBONES]


def tiny_model(name: str):
    """``(model, input_shape)``: a registry model at a tiny size and width, for checks of its graph."""
    from autobot.models import build_model, model_task

    task = model_task(name)
    kw = {"base_filters": 4, "transformer_dim": 16, "context_filters": 4} if task == "mars" else {}
    shape = TINY_SHAPES[task]
    return build_model(name, input_shape=shape, num_classes=5 if task == "mars" else 8, **kw), shape


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Never read or write the user's ~/.cache from tests."""
    monkeypatch.setenv("AUTOBOT_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def blood_raw():
    with np.load(BLOOD_NPZ) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="session")
def mars_raw():
    with np.load(MARS_NPZ) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="session")
def blood_subset_npz(tmp_path_factory, blood_raw):
    """The first 64 rows of the real course file, written as the course wrote it."""
    path = tmp_path_factory.mktemp("blood") / "blood_subset.npz"
    np.savez_compressed(path, images=blood_raw["images"][:64], labels=blood_raw["labels"][:64])
    return path


# ----------------------------------------------------------------------------- models and the app


@pytest.fixture(scope="session")
def tiny_blood(tmp_path_factory):
    """A class-folder dataset of 8 real images per class."""
    import shutil

    root = tmp_path_factory.mktemp("tiny_blood")
    for folder in sorted(BLOOD_FOLDERS.iterdir()):
        (root / folder.name).mkdir()
        for file in sorted(folder.glob("*.jpg"))[:8]:
            shutil.copyfile(file, root / folder.name / file.name)
    return root


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """``blood/`` and ``mars/`` ensembles (2 small members each) trained for real on 64 images each.

    Accuracy is beside the point; shapes, files and the serving path are real.
    """
    import keras

    from autobot.data import load_dataset
    from autobot.ensemble import train_ensemble
    from autobot.train.config import TrainConfig

    root = tmp_path_factory.mktemp("models")
    blood = load_dataset(BLOOD_NPZ).take(np.arange(64))
    mars = load_dataset(MARS_NPZ).take(np.arange(0, 640, 10))
    settings = {
        "blood": (blood, dict(model="custom_cnn", model_kwargs={"stem_filters": 8, "stages": [[16, 1, 2], [32, 1, 2]]})),
        "mars": (mars, dict(model="unet", model_kwargs={"base_filters": 4, "depth": 3}, loss={"focal": 1, "dice": 1})),
    }
    for task, (dataset, model) in settings.items():
        config = TrainConfig(task=task, epochs=1, batch_size=16, val_fraction=0.25, seed=0, **model)
        train_ensemble(config, dataset, n_members=2, out_dir=root / task)
        keras.backend.clear_session()
    return root


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """``python app.py`` in a subprocess, as a user starts it."""

    def __init__(self, *args: str, env: dict | None = None):
        import socket
        import subprocess
        import sys
        import time

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"autobot-app-{self.port}.log", "w+")
        self.process = subprocess.Popen([sys.executable, "app.py", "--port", str(self.port), *args], cwd=ROOT,
                                        stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"app.py did not start: {self.output()[-3000:]}")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except Exception:
                self.process.kill()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (installed by tests/install.sh)."""
    import shutil

    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise pytest.UsageError("browser tests need Debian's chromium: run `bash tests/install.sh`")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


#: Screenshots of each tab land here, to look at (not compared).
SCREENSHOTS = Path(os.environ.get("AUTOBOT_SCREENSHOTS", ROOT / "out" / "screenshots"))
