"""Loading a dataset for the Data explorer: what the file holds, its balance, a few examples."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from autobot.data import load_dataset
from autobot.data.summary import format_summary, sample_rows, summarize
from autobot.errors import DataError
from autobot.ui.common import user_error
from autobot.ui.figures import class_balance_figure


def load_for_ui(upload: str | None, server_path: str | None, public: bool = False):
    """The dataset behind an upload or (private mode only) a server path, errors made readable.

    In public mode a server path is refused even if a client sends one through the API.
    """
    if public and (server_path or "").strip() and not upload:
        raise gr.Error("This public app reads uploads only; paths on the server are turned off.")
    path = upload or (server_path or "").strip()
    if not path:
        raise gr.Error("Upload a dataset file, or give a path on the server.")
    try:
        return load_dataset(Path(path))
    except DataError as err:
        raise user_error(err, path if upload else None) from None


def inspect_dataset(upload: str | None, server_path: str | None, public: bool = False):
    """Summary text, balance chart and a gallery of examples for an upload or a server path."""
    dataset = load_for_ui(upload, server_path, public)
    summary = summarize(dataset)
    if upload:
        summary["path"] = Path(upload).name
    gallery = []
    for row in sample_rows(dataset, per_class=4):
        image = dataset.images[row]
        caption = dataset.task.class_names[int(dataset.targets[row])] if (
            dataset.labelled and dataset.task.kind == "classification") else dataset.ids[row]
        gallery.append((image[..., 0] if image.shape[-1] == 1 else image, str(caption)))
    text = "```\n" + format_summary(summary) + "\n```"
    return text, class_balance_figure(summary), gallery
