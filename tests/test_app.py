"""The app starts from app.py as users start it, and its Data explorer answers over the real API."""

from __future__ import annotations

import pytest

from conftest import BLOOD_NPZ, AppServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = AppServer("--data", str(BLOOD_NPZ), "--runs", str(tmp_path_factory.mktemp("runs")))
    yield app.url
    app.stop()


def test_data_tab_summarises_a_server_dataset(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    summary, _figure, gallery = client.predict(None, str(BLOOD_NPZ), api_name="/inspect_dataset")
    assert "2688 x 96x96x3 uint8" in summary and "immature_granulocyte" in summary
    assert len(gallery) == 8 * 4


def test_data_tab_shows_a_readable_error_and_keeps_serving(server, tmp_path):
    from gradio_client import Client

    bad = tmp_path / "bad.npz"
    bad.write_text("not an archive")
    client = Client(server, verbose=False)
    with pytest.raises(Exception, match=r"expected an .npz \(zip\) file"):
        client.predict(None, str(bad), api_name="/inspect_dataset")
    summary, _, _ = client.predict(None, str(BLOOD_NPZ), api_name="/inspect_dataset")
    assert "2688" in summary


def test_public_mode_hides_training_and_server_paths(tmp_path):
    from gradio_client import Client

    app = AppServer("--public", "--runs", str(tmp_path / "runs"))
    try:
        client = Client(app.url, verbose=False)
        endpoints = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
        assert "/start_training" not in endpoints and "/cancel_job" not in endpoints
        config = __import__("requests").get(app.url + "config", timeout=30).json()
        labels = {c.get("props", {}).get("label") for c in config["components"]}
        visible = {c.get("props", {}).get("label") for c in config["components"] if c.get("props", {}).get("visible", True)}
        assert "Recipe" not in labels, "no Train tab in public mode"
        assert "…or a path on the server" not in visible
        assert not (tmp_path / "runs").exists(), "public mode opens no job store"
        with pytest.raises(Exception, match="paths on the server are turned off"):
            client.predict(None, str(BLOOD_NPZ), api_name="/inspect_dataset")
    finally:
        app.stop()
