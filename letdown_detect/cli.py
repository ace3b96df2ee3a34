"""The ``letdown`` command: argparse front end over ``letdown_detect.commands``.

Each subcommand lives in ``commands/<name>.py`` with ``register(subparsers)``
(cheap imports only) and ``run(args) -> int``. A ``LetdownError`` becomes one
line on stderr and exit status 2; anything else is a bug and keeps its
traceback. Results go to stdout, messages to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__
from .errors import LetdownError

#: Subcommand modules under ``letdown_detect.commands``, in help order.
COMMANDS: tuple[str, ...] = (
    "live",
    "ports",
    "scan",
    "simulate",
    "detect",
    "notify",
    "config",
    "batch",
    "evaluate",
    "annotate",
    "plot",
    "report",
    "history",
    "export",
    "import",
    "session",
    "mood",
    "dmer",
    "data",
    "emulate",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="letdown",
        description="Detect letdowns (milk ejections) in breast-pump sessions and "
        "pair them with a mood check for D-MER screening. Not a diagnostic device.",
    )
    parser.add_argument("--version", action="version", version=f"letdown {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f".commands.{name}", __package__).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``letdown`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except LetdownError as exc:
        print(f"letdown: {_masked(str(exc), argv)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("letdown: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _masked(message: str, argv: Sequence[str] | None) -> str:
    """``message`` without any secret of the command line or the config file."""
    from .config import file_secrets
    from .secrets import argv_secrets, mask_secrets

    secrets = argv_secrets(sys.argv[1:] if argv is None else argv) | file_secrets()
    return mask_secrets(message, secrets)
