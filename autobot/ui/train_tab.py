"""The Train tab: start a recipe as a background job, watch it, cancel it, serve its ensemble."""

from __future__ import annotations

import gradio as gr

from autobot.errors import DataError
from autobot.jobs import views
from autobot.jobs.catalog import list_models
from autobot.jobs.submit import submit_training
from autobot.train.recipes import list_recipes, load_recipe

REFRESH_SECONDS = 2.0


def build_tab(context) -> None:
    store = context.store
    recipes = list_recipes()
    default = "blood_cpu" if "blood_cpu" in recipes else (recipes[0] if recipes else None)

    def recipe_defaults(name: str):
        recipe = load_recipe(name)
        train, ensemble = recipe.get("train", {}), recipe.get("ensemble", {})
        members = len(ensemble["models"]) if ensemble.get("models") else ensemble.get("members", 1)
        note = f"task **{recipe['task']}** · model `{train.get('model')}` · data `{recipe.get('data')}`"
        return int(train.get("epochs", 10)), int(members), note

    def start(recipe, epochs, members, data, extra):
        overrides = {"train.epochs": int(epochs)}
        if not load_recipe(recipe).get("ensemble", {}).get("models"):
            overrides["ensemble.members"] = int(members)
        for line in (extra or "").splitlines():
            key, sep, value = line.partition("=")
            if line.strip() and not sep:
                raise gr.Error(f"Extra settings: expected KEY=VALUE per line; found {line.strip()!r}.")
            if sep:
                overrides[key.strip()] = value.strip()
        try:
            job = submit_training(store, recipe, overrides, data=(data or "").strip() or None)
        except DataError as err:
            raise gr.Error(str(err))
        gr.Info(f"Queued {recipe} as job {job.id}.")
        return refresh(job.id) + (gr.update(value=job.id),)

    def refresh(job_id):
        rows = views.table_rows(store)
        ids = [row[0] for row in rows]
        if not job_id or job_id not in ids:
            return (rows, "Select a job to see its progress.", None, "", gr.update(choices=ids, value=None))
        job = store.get(job_id)
        return (rows, views.summary_markdown(job), views.curves_figure(store.history(job_id)), views.job_log(job),
                gr.update(choices=ids, value=job_id))

    def cancel(job_id):
        if not job_id:
            raise gr.Error("Select a job first.")
        job = store.request_cancel(job_id)
        gr.Info(f"{job.id}: {'stopping after the current batch' if job.status == 'running' else job.status}.")
        return refresh(job_id)

    def activate(job_id):
        if not job_id:
            raise gr.Error("Select a finished job first.")
        job = store.get(job_id)
        entry = next((e for e in list_models(job.task or "blood", store) if e.path == job.run_dir), None)
        if job.status != "done" or entry is None:
            raise gr.Error(f"Job {job_id} is {job.status}; only a finished job's ensemble can be served.")
        store.set_active_model(entry.task, entry.path)
        gr.Info(f"The {entry.task} tab now uses {entry.label}.")

    with gr.Tab("Train", id="train"):
        gr.Markdown("Train a recipe from `training/` as a background job. Jobs survive closing the page; "
                    "their files are in the runs folder. A finished job's ensemble can serve predictions.")
        with gr.Row():
            with gr.Column(scale=2):
                recipe = gr.Dropdown(recipes, value=default, label="Recipe")
                first_epochs, first_members, first_note = recipe_defaults(default) if default else (1, 1, "")
                recipe_note = gr.Markdown(first_note)
                with gr.Row():
                    epochs = gr.Number(first_epochs, label="Epochs per member", precision=0, minimum=1)
                    members = gr.Number(first_members, label="Members", precision=0, minimum=1, maximum=10)
                data = gr.Textbox(label="Dataset path (empty: the recipe's)", placeholder="../shared/data/blood/pbc96")
                extra = gr.Textbox(label="Extra settings (KEY=VALUE per line)", lines=2,
                                   placeholder="train.batch_size=32\ntrain.lr=0.001")
                start_button = gr.Button("Start training", variant="primary")
            with gr.Column(scale=3):
                table = gr.Dataframe(views.table_rows(store), headers=views.TABLE_HEADERS, interactive=False,
                                     label="Jobs (newest first; click one to follow it)", wrap=True,
                                     column_widths=["25%", "15%", "12%", "13%", "35%"])
        job_id = gr.Dropdown(label="Job", choices=[], allow_custom_value=False)
        with gr.Row():
            with gr.Column(scale=3):
                summary = gr.Markdown("Select a job to see its progress.")
                curves = gr.Plot(label="Loss and metrics per epoch")
            with gr.Column(scale=2):
                log = gr.Code(label="Log (last lines)", language=None, lines=14, interactive=False)
                with gr.Row():
                    cancel_button = gr.Button("Cancel job", variant="stop")
                    activate_button = gr.Button("Use this ensemble for predictions")
        outputs = [table, summary, curves, log, job_id]
        recipe.change(recipe_defaults, recipe, [epochs, members, recipe_note], api_visibility="private")
        start_button.click(start, [recipe, epochs, members, data, extra], outputs, api_name="start_training")
        job_id.input(refresh, job_id, outputs, api_visibility="private")
        table.select(_selected_job, None, job_id, api_visibility="private").then(refresh, job_id, outputs, api_visibility="private")
        cancel_button.click(cancel, job_id, outputs, api_name="cancel_job")
        activate_button.click(activate, job_id, None, api_name="activate_job")
        gr.Timer(REFRESH_SECONDS).tick(refresh, job_id, outputs, api_visibility="private", show_progress="hidden")


def _selected_job(event: gr.SelectData):
    """The id in the clicked row of the jobs table."""
    return event.row_value[0] if event.row_value else None
