"""oneDNN for the batch commands: asked for before TensorFlow loads, never over the user's own choice."""

from __future__ import annotations

import os
import subprocess
import sys

from autobot.runtime import ONEDNN_VARIABLE, onednn_enabled, prefer_onednn
from conftest import ROOT

PROBE = ("from autobot.runtime import onednn_enabled, prefer_onednn\n"
         "asked = prefer_onednn()\n"
         "import tensorflow\n"
         "print(asked, onednn_enabled())\n")


def _probe(value: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != ONEDNN_VARIABLE}
    if value is not None:
        env[ONEDNN_VARIABLE] = value
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()[-2:]


def test_a_fresh_process_gets_onednn_kernels():
    assert _probe(None) == ["True", "True"]


def test_the_users_own_setting_wins():
    assert _probe("0") == ["False", "False"]


def test_too_late_once_tensorflow_is_loaded(monkeypatch):
    import tensorflow  # noqa: F401  (loaded in this process, as by any test before)

    monkeypatch.delenv(ONEDNN_VARIABLE, raising=False)
    assert prefer_onednn() is False and ONEDNN_VARIABLE not in os.environ
    assert isinstance(onednn_enabled(), bool)
