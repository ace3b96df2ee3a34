"""``letdown plot REC.csv [-o out.png]``: one session at a glance as an image."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``plot`` subcommand."""
    p = subparsers.add_parser(
        "plot",
        help="plot a session: signal, flow, letdowns and a summary table",
        description="Draw the raw signal, the flow estimate, detected letdowns (onset and "
        "detection time), annotated letdowns and felt marks from REC.events.csv, and a "
        "summary table (time to first letdown, volume per letdown, time to 80% of volume).",
    )
    p.add_argument("recording", type=Path, help="REC.csv")
    p.add_argument(
        "-o", "--out", type=Path, help="image to write (.png/.svg/.pdf; default REC.png)"
    )
    add_mood_options(p)
    p.set_defaults(func=run)


def add_mood_options(parser: argparse.ArgumentParser) -> None:
    """``--mood`` and ``--db``: opt in to showing stored mood answers (health data)."""
    parser.add_argument(
        "--mood",
        action="store_true",
        help="add the mood answers stored for this recording (health data: off by default)",
    )
    parser.add_argument("--db", type=Path, help="session store for --mood (default: the usual one)")


def run(args: argparse.Namespace) -> int:
    """Write the image; prints its path on stdout."""
    from ..research.plot import check_image_path, plot_session, save_plot
    from ..research.session import load_session, mood_store

    check_image_path(args.out or args.recording.with_suffix(".png"))  # before any work
    session = load_session(args.recording, mood_db=mood_store(args.mood, args.db))
    fig = plot_session(session.recording, session.analysis, session.annotations)
    # with --mood it holds health data: 0600 from the start, removed by `letdown data delete`
    print(save_plot(fig, args.out or args.recording.with_suffix(".png"), private=args.mood))
    return 0
