"""The Data explorer: load a dataset, find outliers and duplicates, review them, export a cleaned copy."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from autobot.cleaning import CleaningConfig, run_cleaning
from autobot.cleaning.export import export_cleaned
from autobot.cleaning.review import ReviewStore, default_store_path
from autobot.cleaning.views import (COLOUR_BY, duplicate_gallery, outlier_gallery, projection_figure, row_details,
                                    row_picture)
from autobot.data.summary import format_summary, summarize
from autobot.ui.data_tab import inspect_dataset, load_for_ui
from autobot.ui.figures import class_balance_figure

DECISIONS = {"Confirm outlier": "outlier", "Keep": "keep", "Drop duplicate": "drop_duplicate"}


def _session_store(session: dict) -> ReviewStore:
    return ReviewStore(session["review_path"], session["dataset"].fingerprint())


def analyse(upload, server_path, method, public=False, progress=gr.Progress()):
    dataset = load_for_ui(upload, server_path, public)
    if not dataset.labelled:
        raise gr.Error(f"{Path(dataset.source).name} holds unlabelled images; cleaning needs labels or masks.")
    progress(0.0, desc="embedding")
    report = run_cleaning(dataset, CleaningConfig(method=method),
                          progress=lambda fraction, message: progress(fraction, desc=message))
    summary = summarize(dataset)
    if upload:
        summary["path"] = Path(upload).name
    review_path = default_store_path(dataset.fingerprint())
    session = {"dataset": dataset, "report": report, "review_path": str(review_path)}
    outliers, outlier_rows = outlier_gallery(dataset, report)
    duplicates, duplicate_rows = duplicate_gallery(dataset, report)
    headline = (f"**{len(report.outliers)} outliers** and **{len(report.duplicate_groups)} duplicate groups** "
                f"({len(report.exact_groups)} exact, {len(report.conflicts)} with conflicting labels) in "
                f"{report.n} images · {report.seconds:.0f} s · decisions are saved to `{review_path}`")
    return (session, headline, "```\n" + format_summary(summary) + "\n```", class_balance_figure(summary),
            projection_figure(dataset, report, "flag"), outliers, outlier_rows, duplicates, duplicate_rows)


def recolour(session, colour_by):
    if not session:
        return None
    return projection_figure(session["dataset"], session["report"], colour_by)


def show_row(session, row):
    if not session:
        raise gr.Error("Analyse a dataset first.")
    dataset = session["dataset"]
    if row is None or not 0 <= int(row) < len(dataset):
        raise gr.Error(f"Row: expected 0..{len(dataset) - 1}; got {row}.")
    row = int(row)
    with _session_store(session) as store:
        decisions = store.decisions()
    return row_picture(dataset, row), row_details(dataset, session["report"], decisions, row), row


def pick(rows, event: gr.SelectData):
    return rows[event.index] if rows and event.index is not None else None


def decide(session, row, action, relabel_to):
    if not session or row is None:
        raise gr.Error("Select an image first (click one in a gallery, or type its row number).")
    dataset = session["dataset"]
    label = None
    if action == "relabel":
        if dataset.task.kind != "classification":
            raise gr.Error("Relabelling applies to class labels; Mars masks are kept or dropped.")
        if relabel_to not in dataset.task.class_names:
            raise gr.Error("Choose the class to relabel to.")
        label = dataset.task.class_names.index(relabel_to)
    with _session_store(session) as store:
        store.decide(int(row), action, label, row_id=str(dataset.ids[int(row)]))
        decisions = store.decisions()
    gr.Info(f"Row #{row}: saved.")
    return row_details(dataset, session["report"], decisions, int(row))


def export(session, apply_automatic):
    if not session:
        raise gr.Error("Analyse a dataset first.")
    with _session_store(session) as store:
        decisions = store.decisions()
    folder = Path(tempfile.mkdtemp(prefix="autobot-export-"))
    name = Path(session["dataset"].source).stem + "_clean.npz"
    path = export_cleaned(session["dataset"], session["report"], folder / name, decisions, auto=apply_automatic)
    report = session["report"].write(folder)
    return [str(path), str(report)]


def build_tab(context) -> None:
    public = context.config.public
    with gr.Tab("Data explorer", id="explorer"):
        session = gr.State(None)
        outlier_rows, duplicate_rows, selected = gr.State([]), gr.State([]), gr.State(None)
        gr.Markdown("Find outliers (t-SNE or UMAP projection + DBSCAN and image statistics) and duplicates in a "
                    "labelled dataset, review them, and export a cleaned copy. The source file is never modified.")
        with gr.Row():
            upload = gr.File(label="Dataset file (.npz or .zip)", file_types=[".npz", ".zip"], type="filepath", scale=2)
            with gr.Column(scale=2):
                server_path = gr.Textbox(label="…or a path on the server", value=str(context.config.data or ""),
                                         visible=not public, placeholder="../shared/data/blood/challenge_like.npz")
                with gr.Row():
                    load = gr.Button("Load dataset")
                    method = gr.Radio(["tsne", "umap"], value="tsne", label="Projection", scale=1)
                    run = gr.Button("Find outliers and duplicates", variant="primary")
        headline = gr.Markdown()
        with gr.Row():
            with gr.Column(scale=3):
                colour_by = gr.Radio(list(COLOUR_BY), value="flag", label="Colour points by")
                scatter = gr.Plot(label="2-D projection (hover a point for its row and reason)")
            with gr.Column(scale=2):
                summary = gr.Markdown(elem_id="data-summary")
                balance = gr.Plot(label="Class balance")
        examples = gr.Gallery(label="Examples per class", columns=16, rows=2, height=200, object_fit="contain",
                              allow_preview=False)
        with gr.Row():
            with gr.Column(scale=3):
                outliers = gr.Gallery(label="Flagged outliers (by cluster, most confident first)", columns=8,
                                      elem_id="outlier-gallery",
                                      height=300, object_fit="contain", allow_preview=False)
                duplicates = gr.Gallery(label="Duplicate groups (first image of a group is kept)", columns=8, rows=1,
                                        elem_id="duplicate-gallery",
                                        height=150, object_fit="contain", allow_preview=False)
            with gr.Column(scale=2):
                with gr.Row():
                    row_number = gr.Number(label="Row", precision=0, minimum=0, scale=1)
                    show = gr.Button("Show row", scale=1)
                large = gr.Image(label="Selected image", height=220, interactive=False)
                details = gr.Markdown()
                with gr.Row():
                    confirm = gr.Button("Confirm outlier", variant="stop")
                    keep = gr.Button("Keep")
                    drop = gr.Button("Drop duplicate")
                with gr.Row():
                    relabel_to = gr.Dropdown([], label="Relabel to", scale=2)
                    relabel = gr.Button("Relabel", scale=1)
        with gr.Row():
            apply_automatic = gr.Checkbox(True, label="Drop automatic flags nobody has reviewed")
            export_button = gr.Button("Export cleaned dataset")
            downloads = gr.File(label="Cleaned npz and report", file_count="multiple")

        load.click(lambda u, p: inspect_dataset(u, p, public), [upload, server_path], [summary, balance, examples],
                   api_name="inspect_dataset")
        run.click(lambda u, p, m, progress=gr.Progress(): analyse(u, p, m, public, progress), [upload, server_path, method],
                  [session, headline, summary, balance, scatter, outliers, outlier_rows, duplicates, duplicate_rows],
                  api_name="analyse_dataset").then(
            lambda s: gr.update(choices=list(s["dataset"].task.class_names) if s else []), session, relabel_to,
            api_visibility="private")
        colour_by.change(recolour, [session, colour_by], scatter, api_visibility="private")
        row_outputs = [large, details, selected]
        outliers.select(pick, outlier_rows, row_number, api_visibility="private").then(
            show_row, [session, row_number], row_outputs, api_visibility="private")
        duplicates.select(pick, duplicate_rows, row_number, api_visibility="private").then(
            show_row, [session, row_number], row_outputs, api_visibility="private")
        show.click(show_row, [session, row_number], row_outputs, api_visibility="private")
        for button, action in ((confirm, "outlier"), (keep, "keep"), (drop, "drop_duplicate"), (relabel, "relabel")):
            button.click(lambda s, r, l, action=action: decide(s, r, action, l), [session, selected, relabel_to],
                         details, api_visibility="private")
        export_button.click(export, [session, apply_automatic], downloads, api_name="export_cleaned")
