"""The Classify and Segment tabs over the real API (gradio_client) and in a real browser."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conftest import BLOOD_NPZ, MARS_NPZ, SCREENSHOTS, AppServer


@pytest.fixture(scope="module")
def server(tiny_models):
    app = AppServer("--models", str(tiny_models))
    yield app
    app.stop()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uploads")
    with np.load(BLOOD_NPZ) as data:
        Image.fromarray(data["images"][0]).save(folder / "cell.png")
    with np.load(MARS_NPZ) as data:
        Image.fromarray(np.vstack(data["training_set"][:3, 0])).save(folder / "terrain.png")  # 192x128: segmented whole
    (folder / "notes.png").write_text("not an image")
    return folder


def _confidences(label_value: dict) -> dict[str, float]:
    return {item["label"]: item["confidence"] for item in label_value["confidences"]}


def test_classify_endpoint_matches_the_python_api(client, files, tiny_models):
    from gradio_client import handle_file

    from autobot.ensemble import load_ensemble
    from autobot.inference import classify, load_blood_image

    label, votes, summary = client.predict(handle_file(files / "cell.png"), api_name="/classify")
    heatmap, explanation = client.predict(handle_file(files / "cell.png"), api_name="/explain")
    expected = classify(load_ensemble(tiny_models / "blood"), load_blood_image(files / "cell.png")[0])
    got = _confidences(label)
    assert label["label"] == expected.top_class and len(got) == 8
    for name, p in expected.confidences.items():
        assert got[name] == pytest.approx(p, abs=1e-5)
    assert [row[1] for row in votes["data"]] == [expected.class_names[v] for v in expected.votes]
    assert expected.agreement_text in summary
    assert Image.open(heatmap).size == (288, 288)
    assert expected.top_class in explanation


def test_segment_endpoint_matches_the_python_api(client, files, tiny_models):
    from gradio_client import handle_file

    from autobot.ensemble import load_ensemble
    from autobot.inference import class_shares, how_segmented, load_mars_image, overlay, segment
    from autobot.tasks import MARS

    shown, shares, uncertainty, note = client.predict(handle_file(files / "terrain.png"), api_name="/segment")
    result = segment(load_ensemble(tiny_models / "mars"), load_mars_image(files / "terrain.png")[0])
    np.testing.assert_array_equal(np.asarray(Image.open(shown).convert("RGB")), overlay(result.image, result.labels, MARS, 0.5))
    got = _confidences(shares)
    for name, share in class_shares(result.labels, MARS).items():
        assert got[name] == pytest.approx(share, abs=1e-6)
    assert Image.open(uncertainty).size == (128, 192)
    assert how_segmented(result) in note and "whole" in note


def test_a_bad_upload_gives_a_message_and_the_app_keeps_serving(client, files):
    from gradio_client import handle_file

    for endpoint in ("/classify", "/segment"):
        with pytest.raises(Exception, match=r"notes\.png: expected a decodable image"):
            client.predict(handle_file(files / "notes.png"), api_name=endpoint)
    label, *_ = client.predict(handle_file(files / "cell.png"), api_name="/classify")
    assert label["label"]


def _upload(page, tab: str, path) -> None:
    page.get_by_role("tab", name=tab).click()
    page.locator(f"#{tab.lower()}-upload input[type=file]").set_input_files(str(path))


def test_browser_classify_and_segment(server, page, files):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(server.url)
    _upload(page, "Classify", files / "cell.png")
    page.locator("#classify-summary").get_by_text("members agree").wait_for(timeout=30_000)
    page.locator("#classify-label").get_by_text("%").first.wait_for(state="visible", timeout=15_000)
    page.locator("#classify-explain").get_by_text("covering").wait_for(timeout=30_000)  # the map follows
    page.screenshot(path=str(SCREENSHOTS / "classify.png"), full_page=True)

    _upload(page, "Segment", files / "terrain.png")
    page.locator("#segment-note").get_by_text("Segmented whole").wait_for(timeout=30_000)
    # The note and the image arrive in one event but render separately: wait, don't race.
    page.locator("#segment-overlay img").first.wait_for(state="visible", timeout=15_000)
    page.screenshot(path=str(SCREENSHOTS / "segment.png"), full_page=True)


def test_without_ensembles_the_tabs_say_how_to_get_one(tmp_path):
    import gradio as gr

    from app import AppContext, build_app
    from autobot.ui.classify_tab import classify_upload
    from autobot.ui.config import AppConfig

    config = AppConfig(models=tmp_path, public=True)
    demo = build_app(config)
    texts = [block.value for block in demo.blocks.values() if isinstance(block, gr.Markdown)]
    for words in ("blood-cell", "Mars terrain"):
        assert any(f"No {words} ensemble is available" in str(t) and "--models DIR" in str(t) for t in texts)
    with pytest.raises(gr.Error, match="No blood-cell ensemble is available"):
        classify_upload(AppContext(config), str(BLOOD_NPZ))
