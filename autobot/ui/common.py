"""Small pieces the model tabs share: upload types, the missing-model line, DataError to gr.Error."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from autobot.data.images import IMAGE_SUFFIXES
from autobot.ensemble.bagging import Ensemble
from autobot.errors import DataError

#: What the image inputs accept (checked again, properly, by decode_image).
IMAGE_TYPES = list(IMAGE_SUFFIXES)

TASK_WORDS = {"blood": "blood-cell", "mars": "Mars terrain"}


def missing_model_text(task: str, public: bool) -> str:
    how = ("start the app with `--models DIR` (a folder holding `" + task + "/`)" if public else
           "train one and activate it in the Train tab, or start the app with `--models DIR` "
           "(a folder holding `" + task + "/`)")
    return f"⚠️ No {TASK_WORDS[task]} ensemble is available, so this tab cannot predict. To get one, {how}."


def ensemble_or_error(context, task: str) -> Ensemble:
    """The served ensemble for ``task``, or a gr.Error saying there is none or why it does not load."""
    try:
        ensemble = context.models.get(task)
    except DataError as err:
        raise gr.Error(str(err)) from None
    if ensemble is None:
        raise gr.Error(missing_model_text(task, context.config.public).replace("`", ""))
    return ensemble


def user_error(err: DataError, path: str | None = None) -> gr.Error:
    """gr.Error with the DataError's text (server temp folders left out)."""
    text = str(err)
    if path:
        text = text.replace(str(Path(path).parent) + "/", "")
    return gr.Error(text)


def example_dir(task: str) -> Path:
    return Path(tempfile.gettempdir()) / "autobot-examples" / task
