"""``letdown dmer``: the D-MER pattern report over the stored sessions."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``dmer`` subcommand."""
    p = subparsers.add_parser(
        "dmer",
        help="D-MER pattern report from your stored sessions (not a diagnosis)",
        description="Compare how you felt around letdowns with how you felt between them, "
        "across sessions and weeks. A screening aid to bring to a lactation consultant; "
        "never a diagnosis.",
    )
    p.add_argument("--db", metavar="PATH", default=None, help="session database")
    p.add_argument(
        "--since",
        metavar="DATE",
        default=None,
        help="only sessions from this date (YYYY-MM-DD, UTC) on",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--html",
        metavar="FILE",
        default=None,
        help="also write a printable one-page HTML summary (mode 0600)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the report (text or JSON) on stdout; write the HTML page when asked."""
    import json
    import sys
    from datetime import datetime, timezone

    from ..errors import ConfigError
    from ..mood.dmer import analyze
    from ..mood.help import configured_country
    from ..mood.history import load_sessions, parse_utc
    from ..mood.report import to_dict, to_html, to_text
    from ..store.db import Store
    from ..store.files import write_private
    from ._store_path import existing_store

    since = None
    if args.since:
        try:
            since = parse_utc(args.since)
        except ValueError:
            raise ConfigError(
                f"--since: expected a date like 2026-01-31, got {args.since!r}", "since"
            ) from None
    db = existing_store(args.db)  # read-only: a typo must not create an empty store
    with Store(db) as store:
        result = analyze(load_sessions(store, since))
    country = configured_country()
    print(json.dumps(to_dict(result, country), indent=2) if args.json else to_text(result, country))
    if args.html:
        write_private(args.html, to_html(result, datetime.now(timezone.utc), country))
        print(f"letdown: wrote {args.html}", file=sys.stderr)
    return 0
