"""``letdown history``: every stored session over weeks (letdowns, volume, mood) as a plot."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``history`` subcommand."""
    p = subparsers.add_parser(
        "history",
        help="plot letdowns, volume and mood across the stored sessions",
        description="Read the session store and draw, per session: letdowns (detected and "
        "felt), time to first letdown, volume, and mood answers (letdown prompts apart from "
        "the others). Prints one row per session. Not a diagnosis.",
    )
    p.add_argument("--db", type=Path, help="session store (default: $LETDOWN_DB or user data dir)")
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        default=Path("letdown-history.png"),
        help="image to write (mode 0600: it shows mood answers)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the history image and print the per-session table."""
    import pandas as pd
    from rich.console import Console

    from ..errors import ConfigError
    from ..mood.help import configured_country, help_lines
    from ..research.history import HISTORY_NOTE, calls_for_help, plot_history, session_history
    from ..research.tables import frame_table
    from ..store.db import Store, default_db_path
    from ..store.files import save_figure_private
    from ..summary import clock_text

    path = default_db_path(args.db)
    if not path.exists():
        raise ConfigError(
            f"{path}: no session store there; record a session with 'letdown live' "
            "or point --db at the store",
            "db",
        )
    with Store(path) as store:
        sessions, answers = session_history(store)
    if sessions.empty:
        raise ConfigError(f"{path}: the session store has no sessions yet", "db")
    out = save_figure_private(plot_history(sessions, answers), args.out)
    shown = pd.DataFrame(
        {
            "start (UTC)": sessions["start_utc"].dt.strftime("%Y-%m-%d %H:%M"),
            "length": sessions["duration_s"].map(clock_text),
            "letdowns": sessions["letdowns"],
            "felt": sessions["felt_letdowns"],
            "first at": sessions["time_to_first_letdown_s"].map(clock_text),
            # imported sessions have no volume (None): a dash, not a crash
            "mL": pd.to_numeric(sessions["volume_ml"], errors="coerce").round(0).astype("Int64"),
            "moods": sessions["mood_answers"],
            "worst": sessions["mood_max"].astype("Int64"),
        }
    )
    console = Console(file=sys.stdout)
    if (sessions["kind"] != "pumping").any():
        shown.insert(1, "kind", sessions["kind"])
    title = "sessions (moods: answers given; worst: highest 0-10 unpleasant-feelings score)"
    console.print(frame_table(shown, title=title))
    console.print(HISTORY_NOTE, markup=False, highlight=False)
    if calls_for_help(answers):
        console.print(help_lines(configured_country()), markup=False, highlight=False)
    print(out)
    return 0
