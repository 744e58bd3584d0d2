"""The Data tab: load a dataset file and see what it holds."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from autobot.data import load_dataset
from autobot.data.summary import format_summary, sample_rows, summarize
from autobot.errors import DataError
from autobot.ui.config import AppConfig
from autobot.ui.figures import class_balance_figure


def inspect_dataset(upload: str | None, server_path: str | None):
    """Summary text, balance chart and a gallery of examples for an upload or a server path."""
    path = upload or (server_path or "").strip()
    if not path:
        raise gr.Error("Upload a dataset file, or give a path on the server.")
    try:
        dataset = load_dataset(Path(path))
    except DataError as err:
        raise gr.Error(str(err).replace(str(Path(path).parent) + "/", "") if upload else str(err))
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


def build_tab(config: AppConfig) -> None:
    with gr.Tab("Data", id="data"):
        gr.Markdown("Load a dataset to check its format, class balance and a few examples. "
                    "Accepted: the course's blood or Mars `.npz`, MedMNIST `bloodmnist*.npz`, "
                    "a `.zip` of class-named folders" + ("" if config.public else ", or a folder on this server") + ".")
        with gr.Row():
            upload = gr.File(label="Dataset file (.npz or .zip)", file_types=[".npz", ".zip"], type="filepath")
            server_path = gr.Textbox(
                label="…or a path on the server", value=str(config.data or ""), visible=not config.public,
                placeholder="../shared/data/blood/challenge_like.npz",
            )
        load = gr.Button("Load dataset", variant="primary")
        with gr.Row():
            summary = gr.Markdown(elem_id="data-summary")
            balance = gr.Plot(label="Class balance")
        examples = gr.Gallery(label="Examples per class", columns=8, height="auto", object_fit="contain")
        load.click(inspect_dataset, inputs=[upload, server_path], outputs=[summary, balance, examples],
                   api_name="inspect_dataset")
