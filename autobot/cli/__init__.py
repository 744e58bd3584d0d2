"""``python -m autobot``: one subcommand per module, each with ``register(subparsers)``.

Bad input ends with exit status 2 and the one-paragraph DataError message on stderr,
never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from autobot import __version__
from autobot.cli import assemble, clean, evaluate, info, jobs, predict, train
from autobot.errors import DataError

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS = (info, clean, train, assemble, evaluate, predict, jobs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autobot",
        description="Blood-cell classification and Mars-terrain segmentation: data, cleaning, training, evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"autobot {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
