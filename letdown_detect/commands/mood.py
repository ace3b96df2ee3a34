"""``letdown mood add`` (answer afterwards), ``prompts`` and ``answers`` (what was asked and
said), ``edit`` and ``delete`` (a mis-tapped answer must not raise a banner forever)."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import TYPE_CHECKING

from ._store_path import existing_store

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
    answers = sub.add_parser(
        "answers", help="list stored answers with their ids (for edit and delete)"
    )
    answers.add_argument(
        "--session", default="last", help="session id, or 'all' (default: the latest)"
    )
    answers.add_argument("--db", metavar="PATH", default=None, help="session database")
    answers.set_defaults(func=run_answers)
    edit = sub.add_parser(
        "edit",
        help="change a stored answer (e.g. a mis-tapped 9)",
        description="Change the score (and feelings) of answer ID; `letdown mood answers` "
        "lists the ids. The answer is marked as edited, with the time of the change.",
    )
    edit.add_argument("answer", type=int, metavar="ID", help="the answer id")
    edit.add_argument("--score", required=True, help="the right score, 0-10")
    edit.add_argument(
        "--feelings", default=None, help="the right feelings, e.g. 'sad;dread' (default: keep)"
    )
    edit.add_argument("--db", metavar="PATH", default=None, help="session database")
    edit.set_defaults(func=run_edit)
    delete = sub.add_parser("delete", help="delete a stored answer")
    delete.add_argument("answer", type=int, metavar="ID", help="the answer id")
    delete.add_argument("--db", metavar="PATH", default=None, help="session database")
    delete.set_defaults(func=run_delete)


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


def _show_help(score: int, feelings: tuple[str, ...]) -> None:
    """The help panel on stderr at once, as the page and the terminal show it (7+ or hopeless)."""
    import sys

    from ..mood.help import configured_country, help_for_answer

    panel = help_for_answer(score, feelings, configured_country())
    if panel is not None:
        print(panel.text(), file=sys.stderr)


def run_add(args: argparse.Namespace) -> int:
    """Store the answer; says on stderr how it was kept."""
    import sys
    from datetime import datetime, timezone

    from ..mood.answers import parse_feelings, parse_score
    from ..mood.history import parse_utc
    from ..store.db import Store, StoreError

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
            _show_help(score, feelings)
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
        asked = parse_utc(p["start_utc"]) + timedelta(seconds=p["asked_s"])
        closed = p["status"] in ("expired", "withdrawn")
        late = p["end_utc"] is not None or closed or elapsed_s >= p["expires_s"]
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
            f"letdown: prompt {args.prompt} (asked {asked:%Y-%m-%d %H:%M} UTC) had expired; your "
            f"answer {score}/10 was kept as a late answer (shown, but not used for the D-MER "
            "pattern)",
            file=sys.stderr,
        )
    else:
        print(f"letdown: prompt {args.prompt} answered ({score}/10)", file=sys.stderr)
    _show_help(score, feelings)
    return 0


def run_prompts(args: argparse.Namespace) -> int:
    """Print the session's prompts, one per line, on stdout."""
    from ..mood.history import parse_utc
    from ..store.db import Store

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
        about = (
            ""
            if r["letdown_onset_s"] is None
            else f" around the letdown at {r['letdown_onset_s']:.0f} s"
        )
        scores = f" answer {r['scores']}" if r["scores"] else ""
        asked = parse_utc(session["start_utc"]) + timedelta(seconds=r["asked_s"])
        print(
            f"  prompt {r['id']}: {r['kind']}{about} ({asked:%H:%M} UTC), asked at "
            f"{r['asked_s']:.0f} s, {r['status']}{scores}"
        )
    return 0


def run_answers(args: argparse.Namespace) -> int:
    """Print one line per answer: id, session, when, score, feelings, prompt."""
    from ..mood.history import parse_utc
    from ..store.db import Store

    db = existing_store(args.db)
    with Store(db) as store:
        where, params = "", ()
        if args.session != "all":
            where, params = "WHERE a.session_id = ?", (_session(store, db, args.session)["id"],)
        rows = store.query(
            "SELECT a.id, a.session_id, s.start_utc, a.t_s, a.score, a.feelings, a.late,"
            " a.edited_utc, p.kind FROM answers a JOIN sessions s ON s.id = a.session_id"
            f" LEFT JOIN prompts p ON p.id = a.prompt_id {where} ORDER BY s.start_utc, a.t_s",
            params,
        )
    for r in rows:
        when = parse_utc(r["start_utc"]) + timedelta(seconds=r["t_s"])
        extra = [r["kind"] or "unprompted"]
        extra += ["late"] * bool(r["late"]) + ["edited"] * bool(r["edited_utc"])
        feelings = f" {r['feelings'].replace(';', ', ')}" if r["feelings"] else ""
        print(
            f"answer {r['id']}: {when:%Y-%m-%d %H:%M} UTC, session {r['session_id']}, "
            f"{r['score']}/10{feelings} ({', '.join(extra)})"
        )
    return 0


def run_edit(args: argparse.Namespace) -> int:
    """Change one answer's score (and feelings)."""
    import sys
    from datetime import datetime, timezone

    from ..mood.answers import parse_feelings, parse_score
    from ..store.db import Store, StoreError

    score = parse_score(args.score)
    db = existing_store(args.db)
    with Store(db) as store:
        rows = store.query("SELECT score, feelings FROM answers WHERE id = ?", (args.answer,))
        if not rows:
            raise StoreError(db, f"no answer {args.answer}; `letdown mood answers` lists them")
        old = rows[0]
        feelings = (
            parse_feelings(args.feelings)
            if args.feelings is not None
            else tuple(f for f in old["feelings"].split(";") if f)
        )
        store.edit_answer(args.answer, score, feelings, datetime.now(timezone.utc).isoformat())
    print(
        f"letdown: answer {args.answer} changed from {old['score']}/10 to {score}/10",
        file=sys.stderr,
    )
    _show_help(score, feelings)
    return 0


def run_delete(args: argparse.Namespace) -> int:
    """Delete one answer (its prompt counts as unanswered again)."""
    import sys

    from ..store.db import Store, StoreError

    db = existing_store(args.db)
    with Store(db) as store:
        if not store.delete_answer_id(args.answer):
            raise StoreError(db, f"no answer {args.answer}; `letdown mood answers` lists them")
        store.checkpoint()
    print(f"letdown: answer {args.answer} deleted", file=sys.stderr)
    return 0
