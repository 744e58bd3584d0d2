"""The Train tab in a real browser: start a tiny job, see it finish, follow it, serve its ensemble."""

from __future__ import annotations

import re

import pytest

from autobot.jobs import JobStore
from conftest import SCREENSHOTS, AppServer
from test_jobs_training import TINY


@pytest.fixture
def app(tmp_path):
    server = AppServer("--runs", str(tmp_path / "runs"))
    yield server, JobStore(tmp_path / "runs")
    server.stop()


def test_train_a_tiny_job_from_the_browser(app, page, tiny_blood):
    server, store = app
    page.goto(server.url)
    page.get_by_role("tab", name="Train").click()
    page.get_by_label("Epochs per member").fill("1")
    page.get_by_label("Members").fill("1")
    page.get_by_label("Dataset path").fill(str(tiny_blood))
    page.get_by_label("Extra settings").fill("\n".join(f"{k}={v}" for k, v in TINY.items() if k != "ensemble.members"))
    page.get_by_role("button", name="Start training").click()
    page.wait_for_function("() => document.body.innerText.includes('done')", timeout=240_000)
    [job] = store.list()
    assert job.status == "done" and job.params["train.epochs"] == "1" and job.params["data"] == str(tiny_blood)
    page.locator(f"text={job.id} >> visible=true").first.click()
    page.wait_for_function("() => document.body.innerText.includes('files:')", timeout=30_000)
    assert re.search(r"\*?\*?done\*?\*?", page.inner_text("body"))
    page.get_by_role("button", name="Use this ensemble for predictions").click()
    page.wait_for_function(f"() => document.body.innerText.includes('now uses job {job.id}')", timeout=30_000)
    assert store.active_model("blood") == job.run_dir
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "train_tab.png"), full_page=True)
