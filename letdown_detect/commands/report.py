"""``letdown report REC.csv -o report.html``: a self-contained HTML report of one session."""

from __future__ import annotations

import argparse
from pathlib import Path

from .plot import add_mood_options


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report",
        help="write a self-contained HTML report of a session",
        description="One HTML file with the session plot embedded, the summary, every "
        "detected letdown and, when REC.events.csv has annotations, the detector's scores "
        "against them.",
    )
    p.add_argument("recording", type=Path, help="REC.csv")
    p.add_argument("-o", "--out", type=Path, help="HTML file to write (default REC.report.html)")
    p.add_argument(
        "--tolerance", type=float, default=15.0, help="onset match tolerance, s (default 15)"
    )
    add_mood_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the report; prints its path on stdout."""
    from ..mood.help import configured_country
    from ..research.evaluate import score_events
    from ..research.report import render_report
    from ..research.session import load_session, mood_store
    from ..store.files import write_private
    from .evaluate import check_tolerance

    check_tolerance(args.tolerance)
    session = load_session(args.recording, mood_db=mood_store(args.mood, args.db))
    scores = None
    if session.annotations is not None and (session.annotations["label"] == "letdown").any():
        scores = score_events(
            session.analysis.events,
            session.annotations,
            session.analysis.summary.duration_s,
            args.tolerance,
        )
    html = render_report(
        session.recording, session.analysis, session.annotations, scores, configured_country()
    )
    out = args.out or args.recording.with_name(args.recording.stem + ".report.html")
    write_private(out, html)  # 0600 from the start: it may hold mood answers
    print(out)
    return 0
