"""The shipped ensembles: within the size budget, and described by manifests and cards that match their files."""

from __future__ import annotations

import json

import pytest

from autobot.ensemble.storage import stored_weights_dtype
from autobot.jobs.catalog import SHIPPED_DIR

BUDGET_BYTES = 25 * 1000 * 1000  # the brief's 25 MB for all committed models


def test_shipped_models_fit_the_budget():
    total = sum(f.stat().st_size for f in SHIPPED_DIR.rglob("*") if f.is_file())
    assert total <= BUDGET_BYTES, f"assets/models holds {total / 1e6:.1f} MB; the budget is 25 MB"


@pytest.mark.parametrize("task, headline", [("blood", "accuracy"), ("mars", "miou")])
def test_shipped_manifest_matches_its_files_and_card(task, headline):
    folder = SHIPPED_DIR / task
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["task"] == task
    files = sorted(m["file"] for m in manifest["members"])
    assert files == sorted(f.name for f in folder.glob("*.keras")), "every member file is in the manifest, and only those"
    for member in manifest["members"]:
        assert stored_weights_dtype(folder / member["file"]) == member.get("weights_dtype", "float32")
    card = (folder / "MODEL_CARD.md").read_text()
    assert f"{manifest['val_metrics'][headline]:.4f}" in card, "the card states the manifest's held-out score"
