"""Autobot's web UI: ``python app.py`` serves it on http://127.0.0.1:7860.

Only wiring lives here; every tab is built by ``autobot.ui``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gradio as gr

from autobot import __version__
from autobot.ui import data_tab
from autobot.ui.config import AppConfig, running_on_space

TITLE = "Autobot: blood cells and Mars terrain"


def build_app(config: AppConfig) -> gr.Blocks:
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\nClassify peripheral blood-cell images (8 classes) and segment Mars "
                    f"terrain (5 classes). Version {__version__}.")
        data_tab.build_tab(config)
    return demo


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--data", type=Path, help="dataset offered in the Data tab")
    parser.add_argument("--models", type=Path, help="folder of ensembles to serve instead of the shipped ones")
    parser.add_argument("--public", action="store_true", help="public mode: no server paths or training")
    parser.add_argument("--share", action="store_true", help="also open a temporary public gradio.live link")
    parser.add_argument("--concurrency", type=int, default=2, help="requests processed at once")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> AppConfig:
    return AppConfig(data=args.data, models=args.models, public=args.public or running_on_space())


demo = build_app(AppConfig(public=running_on_space()))

if __name__ == "__main__":
    args = parse_args()
    config = config_from_args(args)
    demo = build_app(config)
    demo.queue(default_concurrency_limit=args.concurrency, max_size=64).launch(
        server_name=args.host, server_port=args.port, share=args.share,
        max_file_size=f"{config.max_upload_mb}mb", theme=gr.themes.Soft(),
        allowed_paths=[], show_error=True,
    )
