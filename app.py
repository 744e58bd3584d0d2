"""Autobot's web UI: ``python app.py`` serves it on http://127.0.0.1:7860.

Only wiring lives here: every tab is built by a module of ``autobot.ui`` from the engines
in ``autobot``. In public mode (``--public``, or on a Hugging Face Space) the Train tab and
server-side paths are off and uploads are size-limited.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gradio as gr

from autobot import __version__
from autobot.ensemble.service import ModelService
from autobot.jobs import JobStore
from autobot.jobs.runner import ensure_worker
from autobot.ui import classify_tab, explorer_tab, segment_tab, train_tab
from autobot.ui.config import AppConfig, running_on_space

TITLE = "Autobot: blood cells and Mars terrain"

#: Small result images (96x96 cells, 64x128 terrain) fill their frame, with crisp pixels.
CSS = ".autobot-fill img { width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated; }"


class AppContext:
    """What every tab may use: the launch settings, the model service and (private mode) the job store."""

    def __init__(self, config: AppConfig):
        self.config = config
        self.store = None if config.public else JobStore(config.runs)
        self.models = ModelService(config.models, self.store)
        if self.store and (self.store.list(status="running") or self.store.list(status="queued")):
            ensure_worker(self.store)  # picks up queued jobs and recovers those a previous run left running


def build_app(config: AppConfig) -> gr.Blocks:
    context = AppContext(config)
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\nClassify peripheral blood-cell images (8 classes) and segment Mars terrain "
                    f"(5 classes) with bagged ensembles; inspect and clean datasets; train new models. "
                    f"<small>v{__version__}{' · public demo' if config.public else ''}</small>")
        with gr.Tabs():
            classify_tab.build_tab(context)
            segment_tab.build_tab(context)
            explorer_tab.build_tab(context)
            if not config.public:
                train_tab.build_tab(context)
    return demo


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--data", type=Path, help="dataset offered in the Data explorer (and examples in Classify/Segment)")
    parser.add_argument("--models", type=Path, help="folder with blood/ and mars/ ensembles to serve instead of the shipped ones")
    parser.add_argument("--runs", type=Path, help="training jobs folder (default $AUTOBOT_RUNS or ./runs)")
    parser.add_argument("--public", action="store_true", help="public mode: no server paths, no training")
    parser.add_argument("--share", action="store_true", help="also open a temporary public gradio.live link")
    parser.add_argument("--concurrency", type=int, default=2, help="requests processed at once")
    parser.add_argument("--max-upload-mb", type=int, default=AppConfig.max_upload_mb,
                        help="largest upload accepted, in MB (default %(default)s)")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> AppConfig:
    return AppConfig(data=args.data, models=args.models, runs=args.runs, public=args.public or running_on_space(),
                     max_upload_mb=args.max_upload_mb)


if __name__ == "__main__":
    args = parse_args()
    config = config_from_args(args)
    demo = build_app(config)
    demo.queue(default_concurrency_limit=args.concurrency, max_size=64).launch(
        server_name="0.0.0.0" if running_on_space() else args.host, server_port=args.port, share=args.share,
        max_file_size=f"{config.max_upload_mb}mb", theme=gr.themes.Soft(), css=CSS, show_error=True,
    )
else:
    demo = build_app(AppConfig(public=running_on_space()))
