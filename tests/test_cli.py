"""The CLI as users run it: a real subprocess, exit codes and stderr included."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from conftest import BLOOD_NPZ, MARS_NPZ, ROOT


def autobot(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autobot", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def test_help_lists_subcommands():
    result = autobot("--help")
    assert result.returncode == 0 and "info" in result.stdout


def test_info_json_on_the_course_blood_file(blood_raw):
    result = autobot("info", str(BLOOD_NPZ), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] == len(blood_raw["images"]) == 2688
    assert report["format"] == "blood_npz" and report["task"] == "blood"
    assert report["image_shape"] == [96, 96, 3] and report["dtype"] == "uint8"
    expected = np.bincount(blood_raw["labels"][:, 0], minlength=8).tolist()
    assert list(report["class_counts"].values()) == expected
    assert list(report["class_counts"]) == report["classes"]


def test_info_text_on_mars_reports_pixel_shares(mars_raw):
    result = autobot("info", str(MARS_NPZ))
    assert result.returncode == 0, result.stderr
    share = (mars_raw["training_set"][:, 1] == 4).mean()
    assert "big_rock" in result.stdout and f"{share:6.1%}".strip() in result.stdout
    assert "source_id" in result.stdout


def test_info_on_a_truncated_file_exits_2_with_one_paragraph(tmp_path):
    path = tmp_path / "cut.npz"
    path.write_bytes(BLOOD_NPZ.read_bytes()[:200_000])
    result = autobot("info", str(path), "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert "\n" not in message and str(path) in message and "truncated" in message


def test_info_on_a_wrong_file_exits_2(tmp_path):
    path = tmp_path / "wrong.npz"
    np.savez(path, x=np.zeros(3))
    result = autobot("info", str(path))
    assert result.returncode == 2 and "found keys ['x']" in result.stderr and "Traceback" not in result.stderr


def test_info_refuses_the_other_task():
    result = autobot("info", str(BLOOD_NPZ), "--task", "mars")
    assert result.returncode == 2 and "expected a mars dataset" in result.stderr
