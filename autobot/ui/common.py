"""Small pieces the model tabs share: upload types, the missing-model line, DataError to gr.Error."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from autobot.ensemble.bagging import Ensemble
from autobot.errors import DataError

#: What the image inputs accept, in words. The upload components set no ``file_types``: Gradio would refuse
#: other files with a message naming neither the file nor what it is (and fail a whole batch over one file);
#: decode_image checks every file's content instead and says what it found.
IMAGE_WORDS = "PNG, JPEG, BMP, TIFF, GIF or WebP"

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
        raise user_error(err) from None
    if ensemble is None:
        raise gr.Error(missing_model_text(task, context.config.public).replace("`", ""), print_exception=False)
    return ensemble


def user_error(err: DataError, path: str | None = None) -> gr.Error:
    """gr.Error with the DataError's text (server temp folders left out).

    Bad input is the user's to fix, not a bug: the server log gets no traceback for it, so a traceback
    there always means a real fault.
    """
    text = str(err)
    if path:
        text = text.replace(str(Path(path).parent) + "/", "")
    return gr.Error(text, print_exception=False)


def example_dir(task: str) -> Path:
    return Path(tempfile.gettempdir()) / "autobot-examples" / task
