"""The Segment tab: a Mars image of any size in; the terrain mask, class shares and uncertainty out."""

from __future__ import annotations

import gradio as gr
import numpy as np

from autobot.errors import DataError
from autobot.inference import class_shares, how_segmented, legend_html, load_mars_image, overlay, segment, uncertainty_image
from autobot.inference.common import write_examples
from autobot.tasks import MARS
from autobot.ui.common import IMAGE_WORDS, ensemble_or_error, example_dir, image_file, missing_model_text, user_error

TASK = "mars"
DEFAULT_OPACITY = 0.5
UNCERTAINTY_NOTE = ("**Uncertainty**: entropy of the ensemble's combined class probabilities per pixel; "
                    "dark = confident, yellow = the classes are equally likely.")


def segment_upload(context, path: str | None, opacity: float):
    """Overlay, class shares, uncertainty image, note, and what re-rendering needs (image and mask).

    The session keeps only the uint8 image and mask, not the float probabilities and entropy
    (a 1024x1024 upload: 2 MB instead of 33 MB per session).
    """
    if not path:
        raise gr.Error("Upload a Mars image first.")
    ensemble = ensemble_or_error(context, TASK)
    try:
        image, note = load_mars_image(path)
    except DataError as err:
        raise user_error(err, path) from None
    result = segment(ensemble, image)
    note += " " + how_segmented(result, ensemble.input_shape[1], ensemble.input_shape[0])
    return (image_file(overlay(result.image, result.labels, MARS, opacity)), class_shares(result.labels, MARS),
            image_file(uncertainty_image(result.uncertainty, MARS.num_classes)), note,
            (result.image, result.labels.astype(np.uint8)))


def rerender(cached, opacity: float):
    """The overlay at a new opacity from the cached image and mask (no prediction)."""
    overlay_image = None if cached is None else image_file(overlay(cached[0], cached[1], MARS, opacity))
    return overlay_image, opacity


def build_tab(context) -> None:
    with gr.Tab("Segment", id="segment"):
        gr.Markdown(f"Upload a grayscale image of **Mars terrain** ({IMAGE_WORDS}; any size). The ensemble labels every pixel as "
                    "soil, bedrock, sand or big rock; a whole photograph is segmented at once, at 128 pixels wide.")
        if not context.models.available(TASK):
            gr.Markdown(missing_model_text(TASK, context.config.public), elem_id="segment-missing")
        cached = gr.State(None)
        opacity_now = gr.State(DEFAULT_OPACITY)
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=260):
                upload = gr.File(label="Mars image", type="filepath", height=140,
                                 elem_id="segment-upload")
                run = gr.Button("Segment", variant="primary")
                note = gr.Markdown(elem_id="segment-note")
                examples = [] if context.config.public or not context.config.data else write_examples(
                    context.config.data, TASK, example_dir(TASK), n=4)
                if examples:
                    gr.Examples(examples, inputs=upload, label="Examples from the dataset")
            with gr.Column(scale=2, min_width=400):
                shown = gr.Image(label="Terrain mask over the image", type="numpy", format="png", interactive=False,
                                 height=340, elem_id="segment-overlay", elem_classes="autobot-fill", buttons=["download"])
                gr.HTML(legend_html(MARS))
                opacity = gr.Slider(0, 1, value=DEFAULT_OPACITY, step=0.05, label="Mask opacity")
        with gr.Row(equal_height=False):
            shares = gr.Label(num_top_classes=4, label="Share of the image per class", show_heading=False)
            with gr.Column():
                uncertainty = gr.Image(label="Uncertainty (per-pixel entropy)", type="numpy", format="png",
                                       interactive=False, height=260,
                                       elem_classes="autobot-fill")
                gr.Markdown(UNCERTAINTY_NOTE)
        gr.on([upload.upload, run.click], lambda path, o: segment_upload(context, path, o),
              inputs=[upload, opacity_now], outputs=[shown, shares, uncertainty, note, cached], api_name="segment")
        opacity.change(rerender, inputs=[cached, opacity], outputs=[shown, opacity_now], api_visibility="private",
                       show_progress="hidden")
