"""``letdown mood add`` (answer afterwards) and ``letdown mood prompts`` (what was asked)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

    from ..store.db import Store


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``mood add`` and ``mood prompts``."""
    p = subparsers.add_parser("mood", help="answer mood prompts afterwards, list them")
    sub = p.add_subparsers(dest="mood_command", metavar="ACTION", required=True)
    add = sub.add_parser(
        "add",
        help="store an answer afterwards",
        description="Answer a prompt by its id (see `letdown mood prompts`), or add an answer "
        "about a moment of a session with --at. Score: 0 = nothing unpleasant .. 10.",
    )
    add.add_argument("--score", required=True, help="intensity of unpleasant feelings, 0-10")
    add.add_argument("--feelings", default="", help="e.g. 'sad;dread' (separated by ';')")
    target = add.add_mutually_exclusive_group(required=True)
    target.add_argument("--prompt", type=int, metavar="ID", help="the prompt id to answer")
    target.add_argument(
        "--at",
        type=float,
        metavar="T_S",
        help="seconds since the session start the answer is about",
    )
    add.add_argument(
        "--session", default="last", help="session id for --at (default: the latest session)"
    )
    add.add_argument("--db", metavar="PATH", default=None, help="session database")
    add.set_defaults(func=run_add)
    prompts = sub.add_parser("prompts", help="list the prompts of a session and their answers")
    prompts.add_argument("--session", default="last", help="session id (default: the latest)")
    prompts.add_argument("--db", metavar="PATH", default=None, help="session database")
    prompts.set_defaults(func=run_prompts)


def _session(store: Store, db: Path, wanted: str) -> sqlite3.Row:
    """The stored session ``wanted`` (an id, or ``last``)."""
    from ..store.db import StoreError

    if wanted == "last":
        rows = store.query("SELECT * FROM sessions ORDER BY start_utc DESC LIMIT 1")
        if not rows:
            raise StoreError(db, "no sessions stored yet; run `letdown live` or `letdown import`")
    else:
        rows = store.query("SELECT * FROM sessions WHERE id = ?", (wanted,))
        if not rows:
            raise StoreError(db, f"no session {wanted!r}; `letdown mood prompts` shows the latest")
    return rows[0]


def run_add(args: argparse.Namespace) -> int:
    """Store the answer; says on stderr how it was kept."""
    import sys
    from datetime import datetime, timezone

    from ..mood.answers import parse_feelings, parse_score
    from ..mood.history import parse_utc
    from ..store.db import Store, StoreError
    from ._store_path import existing_store

    score = parse_score(args.score)
    feelings = parse_feelings(args.feelings)
    db = existing_store(args.db)  # an answer belongs to a stored session
    now = datetime.now(timezone.utc)
    with Store(db) as store:
        if args.prompt is None:
            session = _session(store, db, args.session)
            store.add_answer(session["id"], args.at, now.isoformat(), score, feelings, "cli")
            print(
                f"letdown: answer {score}/10 stored for session {session['id']} at {args.at:g} s",
                file=sys.stderr,
            )
            return 0
        rows = store.query(
            "SELECT p.*, s.start_utc, s.end_utc, (SELECT score FROM answers a WHERE a.prompt_id"
            " = p.id AND a.late = 0) AS answered FROM prompts p JOIN sessions s"
            " ON s.id = p.session_id WHERE p.id = ?",
            (args.prompt,),
        )
        if not rows:
            raise StoreError(db, f"no prompt {args.prompt}; `letdown mood prompts` lists them")
        p = rows[0]
        if p["status"] == "answered":
            raise StoreError(
                db,
                f"prompt {args.prompt} was already answered ({p['answered']}/10); nothing "
                "stored; to add another answer use --at SECONDS",
            )
        elapsed_s = (now - parse_utc(p["start_utc"])).total_seconds()
        late = p["end_utc"] is not None or p["status"] == "expired" or elapsed_s >= p["expires_s"]
        store.add_answer(
            p["session_id"],
            p["asked_s"] if late else elapsed_s,
            now.isoformat(),
            score,
            feelings,
            "cli",
            prompt_number=p["number"],
            late=late,
        )
    if late:
        print(
            f"letdown: prompt {args.prompt} had expired; your answer {score}/10 was kept as "
            "a late answer (shown, but not used for the D-MER pattern)",
            file=sys.stderr,
        )
    else:
        print(f"letdown: prompt {args.prompt} answered ({score}/10)", file=sys.stderr)
    return 0


def run_prompts(args: argparse.Namespace) -> int:
    """Print the session's prompts, one per line, on stdout."""
    from ..store.db import Store
    from ._store_path import existing_store

    db = existing_store(args.db)
    with Store(db) as store:
        session = _session(store, db, args.session)
        rows = store.query(
            "SELECT p.id, p.kind, p.asked_s, p.status, p.letdown_onset_s,"
            " (SELECT group_concat(score, ',') FROM answers a WHERE a.prompt_id = p.id) AS scores"
            " FROM prompts p WHERE p.session_id = ? ORDER BY p.number",
            (session["id"],),
        )
    print(f"session {session['id']} ({session['kind']}, started {session['start_utc']})")
    for r in rows:
        about = "" if r["letdown_onset_s"] is None else f" letdown at {r['letdown_onset_s']:.0f} s"
        scores = f" answer {r['scores']}" if r["scores"] else ""
        print(
            f"  prompt {r['id']}: {r['kind']}{about}, asked at {r['asked_s']:.0f} s, "
            f"{r['status']}{scores}"
        )
    return 0
