"""``letdown data export`` and ``letdown data delete``: the parent's data, out or gone.

Export writes every session, event, prompt and answer as JSON (one file) or
CSV (one file per table), created 0600. Delete removes everything letdown
keeps (the database with its ``-wal``/``-shm`` files, the rescue file, the
session folders under the data folder, and the reports it wrote, listed in
``written.txt``), or one session; it asks first unless ``--yes``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ._store_path import existing_store

#: Tables exported, in order, with the column they are sorted by.
TABLES = {"sessions": "start_utc", "events": "id", "prompts": "id", "answers": "id"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``data export`` and ``data delete``."""
    p = subparsers.add_parser("data", help="export or delete everything letdown stores")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    export = sub.add_parser(
        "export",
        help="write every session, event, prompt and answer as JSON or CSV",
        description="Write all stored data: OUT.json (one JSON file) or a folder OUT of "
        "sessions.csv, events.csv, prompts.csv and answers.csv. Files are created 0600 "
        "(they hold mood answers); `letdown data delete` does not remove your export.",
    )
    export.add_argument("-o", "--out", type=Path, required=True, help="OUT.json or a folder")
    export.add_argument(
        "--format", choices=("json", "csv"), default=None, help="default: from OUT's suffix"
    )
    export.add_argument("--db", metavar="PATH", default=None, help="session database")
    export.set_defaults(func=run_export)
    delete = sub.add_parser(
        "delete",
        help="delete everything letdown stores, or one session",
        description="Without --session: the database and its -wal/-shm files, the rescue "
        "file, the session folders letdown made under its data folder and the reports it "
        "wrote. With --session ID: that session's rows and its session folder. Asks for "
        "confirmation unless --yes.",
    )
    delete.add_argument("--session", metavar="ID", default=None, help="only this session")
    delete.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    delete.add_argument("--db", metavar="PATH", default=None, help="session database")
    delete.set_defaults(func=run_delete)


def _rows(db: Path) -> dict[str, list[dict[str, Any]]]:
    from ..store.db import Store

    existing_store(db)
    with Store(db) as store:
        return {
            name: [dict(r) for r in store.query(f"SELECT * FROM {name} ORDER BY {key}")]
            for name, key in TABLES.items()
        }


def run_export(args: argparse.Namespace) -> int:
    """Write the export; says on stderr what was written."""
    import csv
    import io
    import json

    from ..store.db import default_db_path
    from ..store.files import write_private

    data = _rows(default_db_path(args.db))
    fmt = args.format or ("json" if args.out.suffix.lower() == ".json" else "csv")
    written = []
    if fmt == "json":
        written.append(write_private(args.out, json.dumps(data, indent=1), ledger=False))
    else:
        for name, rows in data.items():
            buf = io.StringIO()
            columns = list(rows[0]) if rows else []
            writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            written.append(write_private(args.out / f"{name}.csv", buf.getvalue(), ledger=False))
    counts = ", ".join(f"{len(rows)} {name}" for name, rows in data.items())
    print(f"letdown: exported {counts} to {', '.join(map(str, written))}", file=sys.stderr)
    return 0


def _confirm(what: str, yes: bool) -> None:
    from ..errors import LetdownError

    if yes:
        return
    if not sys.stdin.isatty():
        raise LetdownError(f"{what}: not confirmed; run again with --yes to delete without asking")
    print(f"This deletes {what}. Type 'delete' to confirm: ", end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip().lower() != "delete":
        raise LetdownError(f"{what}: not confirmed; nothing was deleted")


def _own_folder(recording: str | None) -> Path | None:
    """The session folder letdown made for ``recording``, if it lies in the data folder."""
    from ..store.files import sessions_dir

    if not recording:
        return None
    path = Path(recording)
    folder = path if path.is_dir() else path.parent
    try:
        inside = folder.resolve().parent == sessions_dir().resolve()
    except OSError:
        return None
    return folder if inside and folder.exists() else None


def _remove(path: Path, gone: list[Path]) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path)
        gone.append(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
        gone.append(path)


def run_delete(args: argparse.Namespace) -> int:
    """Delete everything, or one session; lists what went on stderr."""
    from ..errors import LetdownError
    from ..mood.nursing import pid_alive, read_state, state_path
    from ..store.db import SIDE_FILES, Store, StoreError, default_db_path
    from ..store.files import LEDGER, data_dir, sessions_dir, written_files

    db = default_db_path(args.db)
    state = read_state(db)
    if state is not None and pid_alive(state["pid"]):
        raise LetdownError(
            f"{state_path(db)}: a nursing session is running (process {state['pid']}); "
            "stop it with `letdown session stop` first"
        )
    gone: list[Path] = []
    rescue = db.with_name(f"{db.name}.unsaved.jsonl")
    if args.session is not None:
        existing_store(db)
        with Store(db) as store:
            rows = store.query("SELECT recording_path FROM sessions WHERE id = ?", (args.session,))
            if not rows:
                raise StoreError(db, f"no session {args.session!r}; nothing was deleted")
            _confirm(f"session {args.session} with its answers", args.yes)
            store.delete_session(args.session)
        folder = _own_folder(rows[0]["recording_path"])
        if folder is not None:
            _remove(folder, gone)
        _drop_from_rescue(rescue, args.session)
        print(f"letdown: deleted session {args.session} from {db}", file=sys.stderr)
    else:
        _confirm(f"every session, answer and report letdown keeps ({db})", args.yes)
        kept = []
        if db.exists():
            with Store(db) as store:
                recordings = [r[0] for r in store.query("SELECT recording_path FROM sessions")]
            for recording in recordings:
                folder = _own_folder(recording)
                if folder is not None:
                    _remove(folder, gone)
                elif recording:
                    kept.append(recording)
        for path in (db, *(Path(f"{db}{s}") for s in SIDE_FILES), rescue, state_path(db)):
            _remove(path, gone)
        for report in written_files():
            _remove(Path(report), gone)
        _remove(data_dir() / LEDGER, gone)
        if sessions_dir().is_dir() and not any(sessions_dir().iterdir()):
            sessions_dir().rmdir()
        for path in kept:
            print(f"letdown: kept your own recording {path} (not made by letdown)", file=sys.stderr)
    for path in gone:
        print(f"letdown: deleted {path}", file=sys.stderr)
    return 0


def _drop_from_rescue(rescue: Path, session_id: str) -> None:
    """Remove one session's pending writes from the rescue file (kept 0600)."""
    import json

    from ..store.files import write_private

    try:
        lines = rescue.read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    keep = []
    for line in lines:
        try:
            args = json.loads(line).get("args", {})
        except (ValueError, AttributeError):
            args = {}
        if not (isinstance(args, dict) and args.get("session_id") == session_id):
            keep.append(line)
    write_private(rescue, "".join(f"{line}\n" for line in keep), ledger=False)
