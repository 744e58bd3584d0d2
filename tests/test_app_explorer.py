"""The Data explorer in a real browser on a small real subset: analyse, review, export."""

from __future__ import annotations

import numpy as np
import pytest

from autobot.cleaning import ReviewStore, default_store_path
from autobot.data import load_dataset
from conftest import BLOOD_NPZ, SCREENSHOTS, AppServer


@pytest.fixture(scope="module")
def subset(tmp_path_factory):
    """The first 300 rows of the contaminated course-style file (outliers and duplicates included)."""
    path = tmp_path_factory.mktemp("explorer") / "blood_300.npz"
    with np.load(BLOOD_NPZ) as data:
        np.savez(path, images=data["images"][:300], labels=data["labels"][:300])
    return path


@pytest.fixture
def server(tmp_path, subset):
    app = AppServer("--data", str(subset), "--runs", str(tmp_path / "runs"), env={"AUTOBOT_CACHE": str(tmp_path / "cache")})
    yield app
    app.stop()


def test_analyse_review_and_export(server, page, subset, tmp_path, monkeypatch):
    page.goto(server.url)
    page.get_by_role("tab", name="Data explorer").click()
    page.get_by_role("button", name="Load dataset").click()
    page.wait_for_function("() => document.body.innerText.includes('fingerprint')", timeout=60_000)
    page.get_by_role("button", name="Find outliers and duplicates").click()
    page.wait_for_function("() => document.body.innerText.includes('duplicate groups')", timeout=240_000)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 2", timeout=30_000)
    gallery = page.locator("#outlier-gallery button.thumbnail-item")
    gallery.first.wait_for(state="visible", timeout=30_000)  # flagged outliers shown (fails if none)
    gallery.first.click()
    page.wait_for_function("() => document.body.innerText.includes('outlier score')", timeout=60_000)
    page.get_by_role("button", name="Confirm outlier").click()
    page.wait_for_function("() => document.body.innerText.includes('confirmed outlier')", timeout=60_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "explorer_tab.png"), full_page=True)

    monkeypatch.setenv("AUTOBOT_CACHE", str(tmp_path / "cache"))
    dataset = load_dataset(subset)
    with ReviewStore(default_store_path(dataset.fingerprint()), dataset.fingerprint()) as store:
        decisions = store.decisions()
    assert list(decisions.values()) == [("outlier", None)], "the click is stored at once"

    page.get_by_role("button", name="Export cleaned dataset").click()
    page.wait_for_function("() => document.body.innerText.includes('blood_300_clean')", timeout=120_000)
