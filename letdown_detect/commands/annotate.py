"""``letdown annotate REC.csv``: mark letdown onsets by hand in an interactive plot."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``annotate`` subcommand."""
    p = subparsers.add_parser(
        "annotate",
        help="mark letdown onsets by hand (interactive plot), saved to REC.events.csv",
        description="Open the raw signal and flow estimate in a window. Click to add a "
        "letdown onset, drag to move, right-click or 'd' to delete, 't' to show/hide the "
        "detector's suggestions, 'a' to accept them, 's' to save REC.events.csv with your "
        "name in the annotator column. Other annotators' rows are kept.",
    )
    p.add_argument("recording", type=Path, help="REC.csv")
    p.add_argument(
        "--annotator", help="name written in the annotator column (default: your user name)"
    )
    p.add_argument(
        "--no-suggestions", action="store_true", help="start with the detector's marks hidden"
    )
    p.set_defaults(func=run)


#: Keys the tool uses, taken away from matplotlib's own bindings (``s`` opens a save dialog).
TOOL_KEYS = ("s", "d", "t", "a", "delete", "backspace")


def _has_display() -> bool:
    """True when matplotlib can open a window (an interactive backend is in use)."""
    import matplotlib
    from matplotlib.backends import BackendFilter, backend_registry

    headless = backend_registry.list_builtin(BackendFilter.NON_INTERACTIVE)
    return matplotlib.get_backend().lower() not in headless


def _free_tool_keys() -> None:
    """Unbind :data:`TOOL_KEYS` from matplotlib's navigation keymaps."""
    import matplotlib

    for name, keys in matplotlib.rcParams.items():
        if name.startswith("keymap.") and isinstance(keys, list):
            matplotlib.rcParams[name] = [k for k in keys if k not in TOOL_KEYS]


def run(args: argparse.Namespace) -> int:
    """Open the annotation window; returns when it is closed."""
    import matplotlib.pyplot as plt

    from ..errors import LetdownError
    from ..recording import events_path
    from ..research.annotate import Annotator
    from ..research.session import load_session

    session = load_session(args.recording)
    if not _has_display():
        import matplotlib

        raise LetdownError(
            f"annotate needs a window, but matplotlib has no display (backend "
            f"{matplotlib.get_backend()!r}; DISPLAY/WAYLAND_DISPLAY unset?): run it on a "
            "desktop, over ssh -X, or set MPLBACKEND to an interactive backend such as TkAgg"
        )
    _free_tool_keys()
    figure = plt.figure(figsize=(13, 7))
    tool = Annotator(
        session.recording,
        session.analysis.flow,
        session.analysis.events,
        session.annotations,
        args.annotator or getpass.getuser(),
        events_path(args.recording),
        figure=figure,
    )
    if args.no_suggestions:
        tool.toggle_suggestions()
    plt.show()
    if tool.dirty:
        print(f"letdown: closed with unsaved changes; {tool.path} was not updated", file=sys.stderr)
        return 1
    return 0
