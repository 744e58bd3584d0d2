"""The Classify tab: one blood-cell image in; the ensemble's classes and member votes out, then an occlusion map.

The map costs ten times the prediction (50 occluded copies through every member), so it is its own
event (``/explain``) that follows the prediction, one at a time: under load, answers stay fast and the
maps queue behind them instead of in front of them.
"""

from __future__ import annotations

import gradio as gr

from autobot.errors import DataError
from autobot.inference import classify, classify_files, classify_with_map, load_blood_image, occlusion_text, render_heatmap
from autobot.inference.common import write_examples
from autobot.ui.common import IMAGE_WORDS, ensemble_or_error, example_dir, image_file, missing_model_text, user_error

TASK = "blood"
HEATMAP_NOTE = ("**Where the model looked** (occlusion sensitivity): a grey 24x24 patch slides over the image, and "
                "bright regions are where covering the cell lowers the probability of the predicted class the most.")
BATCH_HEADERS = ["file", "top class", "probability", "agreement", "error"]


def _load(context, path: str | None):
    if not path:
        raise gr.Error("Upload a blood-cell image first.")
    ensemble = ensemble_or_error(context, TASK)
    try:
        image, note = load_blood_image(path, ensemble.input_shape[:2])
    except DataError as err:
        raise user_error(err, path) from None
    return ensemble, image, note


def classify_upload(context, path: str | None):
    """Label value, member votes and summary for one uploaded file."""
    ensemble, image, note = _load(context, path)
    result = classify(ensemble, image)
    return result.confidences, result.vote_rows(), f"**{result.agreement_text}.**\n\n{note}"


def explain_upload(context, path: str | None):
    """Occlusion map over the model input, and a sentence on where the top class depends on the image."""
    ensemble, image, _ = _load(context, path)
    result, heat = classify_with_map(ensemble, image)
    return image_file(render_heatmap(result.image, heat)), occlusion_text(heat, result.top_class)


def classify_many(context, paths: list[str] | None):
    if not paths:
        raise gr.Error("Upload one or more blood-cell images first.")
    rows = classify_files(ensemble_or_error(context, TASK), paths)
    return [[row[key] for key in BATCH_HEADERS] for row in rows]


def build_tab(context) -> None:
    with gr.Tab("Classify", id="classify"):
        gr.Markdown(f"Upload a microscope image of **one blood cell** ({IMAGE_WORDS}; any size; RGB, RGBA or grayscale). "
                    "The ensemble names its class out of 8, shows how its members voted, and where it looked.")
        if not context.models.available(TASK):
            gr.Markdown(missing_model_text(TASK, context.config.public), elem_id="classify-missing")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=260):
                upload = gr.File(label="Blood-cell image", type="filepath", height=140,
                                 elem_id="classify-upload")
                run = gr.Button("Classify", variant="primary")
                examples = [] if context.config.public or not context.config.data else write_examples(
                    context.config.data, TASK, example_dir(TASK), n=8)
                if examples:
                    gr.Examples(examples, inputs=upload, label="Examples from the dataset", examples_per_page=8)
            with gr.Column(scale=1, min_width=300):
                label = gr.Label(label="Ensemble prediction (all 8 classes)", elem_id="classify-label")
                summary = gr.Markdown(elem_id="classify-summary")
            with gr.Column(scale=1, min_width=300):
                heatmap = gr.Image(label="Occlusion map over the 96x96 model input", type="numpy", format="png",
                                   interactive=False, height=300, buttons=["download"])
                explanation = gr.Markdown(elem_id="classify-explain")
                gr.Markdown(HEATMAP_NOTE)
        votes = gr.Dataframe(headers=["member", "vote", "probability of its vote", "probability of the ensemble's class"],
                             label="Member votes", interactive=False, max_height=240)
        gr.on([upload.upload, run.click], lambda path: classify_upload(context, path), inputs=upload,
              outputs=[label, votes, summary], api_name="classify").success(
            lambda path: explain_upload(context, path), inputs=upload, outputs=[heatmap, explanation],
            api_name="explain", concurrency_limit=1, concurrency_id="explain")
        with gr.Accordion("Batch: classify many images at once", open=False):
            files = gr.File(label=f"Blood-cell images ({IMAGE_WORDS})", file_count="multiple", type="filepath")
            run_many = gr.Button("Classify all")
            table = gr.Dataframe(headers=BATCH_HEADERS, label="Results (one row per file)", interactive=False)
            run_many.click(lambda paths: classify_many(context, paths), inputs=files, outputs=table,
                           api_name="classify_batch")
