"""Small pieces the model tabs share: upload types, the missing-model line, DataError to gr.Error."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

import gradio as gr
import numpy as np

from autobot.data.images import encode_png
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


#: Result images live this long in the app's own output folder (Gradio copies them into its cache at once).
OUTPUT_SECONDS = 600
_outputs: dict[str, object] = {"dir": None, "pruned": 0.0}
_outputs_lock = threading.Lock()


def image_file(image: np.ndarray) -> str:
    """A result image as a PNG file of its own, for a ``gr.Image`` output.

    Gradio writes numpy and PIL outputs into its content-addressed cache with a plain
    ``write_bytes``: two requests that produce the same image at the same time (two users
    sending the same picture, an example clicked twice) rewrite one file while it is being
    downloaded, and the client gets a truncated answer ("peer closed connection without
    sending complete message body", seen by ``bench/load.py``). A file path instead is copied
    into the cache under a temporary name and renamed, which is atomic. Our own files go to a
    private temporary folder whose files older than :data:`OUTPUT_SECONDS` are removed as new
    ones arrive. They are encoded at zlib level 1: the 288x288 occlusion map takes 7 ms instead
    of 36 ms at Gradio's level 6, for ~20% more bytes.
    """
    with _outputs_lock:
        if _outputs["dir"] is None or not Path(_outputs["dir"]).is_dir():
            _outputs["dir"] = tempfile.mkdtemp(prefix="autobot-outputs-")
        folder = Path(_outputs["dir"])
        now = time.time()
        if now - _outputs["pruned"] > OUTPUT_SECONDS / 10:
            _outputs["pruned"] = now
            for old in folder.glob("*.png"):
                try:
                    if now - old.stat().st_mtime > OUTPUT_SECONDS:
                        old.unlink()
                except OSError:
                    pass
    fd, path = tempfile.mkstemp(suffix=".png", dir=folder)
    with os.fdopen(fd, "wb") as file:
        file.write(encode_png(np.ascontiguousarray(image), compress_level=1))
    return path
