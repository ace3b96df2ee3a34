"""The session store: one SQLite file of sessions, letdowns, mood prompts and answers.

Plain ``sqlite3``, no ORM. The file is created with mode 0600 (mood answers are
health data), runs in WAL mode so a crash or a kill never corrupts it, and
carries its schema version in ``PRAGMA user_version``; :data:`MIGRATIONS` brings
an older file up to date. A locked or unreadable file raises :class:`StoreError`
and is never modified or replaced.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from ..errors import LetdownError

#: Environment variable that overrides the default database path.
DB_ENV = "LETDOWN_DB"
#: Version 3: a prompt may be ``withdrawn`` (its rise was taken back). SQLite cannot change
#: a CHECK in place, so the table is rebuilt with its rows and ids (answers keep their
#: prompt); ``migrate`` runs it with foreign keys off, so the drop sets no answer's prompt
#: to NULL.
_PROMPTS_V3 = """
CREATE TABLE prompts_v3 (
    id              INTEGER PRIMARY KEY,
    session_id      TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    number          INTEGER NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('letdown', 'baseline')),
    letdown_onset_s REAL,
    asked_s         REAL NOT NULL,
    expires_s       REAL NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'answered', 'expired', 'withdrawn')),
    UNIQUE (session_id, number)
);
INSERT INTO prompts_v3 (id, session_id, number, kind, letdown_onset_s, asked_s, expires_s, status)
    SELECT id, session_id, number, kind, letdown_onset_s, asked_s, expires_s, status FROM prompts;
DROP TABLE prompts;
ALTER TABLE prompts_v3 RENAME TO prompts;
CREATE INDEX prompts_session ON prompts (session_id)
"""
#: Schema steps; step ``i`` takes a file from version ``i`` to ``i + 1``. Version 2 marks
#: answers changed afterwards (``letdown mood edit``) with the time of the change.
MIGRATIONS: tuple[str, ...] = (
    resources.files(__package__).joinpath("schema.sql").read_text(),
    "ALTER TABLE answers ADD COLUMN edited_utc TEXT",
    _PROMPTS_V3,
)
#: Files beside the database that hold the same data (SQLite's write-ahead log and index).
SIDE_FILES = ("-wal", "-shm")


class StoreError(LetdownError):
    """The database cannot be opened or written (locked, corrupt, newer, forbidden).

    Args:
        path: the database file.
        problem: what happened and what to do; the file is left as it was.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def default_db_path(explicit: str | Path | None = None) -> Path:
    """The database: ``explicit`` (``--db``), else ``$LETDOWN_DB``, else the user data dir."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(DB_ENV):
        return Path(os.environ[DB_ENV]).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("letdown")) / "letdown.sqlite3"


def _explain(path: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return StoreError(
            path, "the database is locked by another program; close it (or wait) and try again"
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StoreError(
            path,
            "expected a letdown database, found a corrupt or foreign file; it was left "
            "untouched: move it aside to start a new one",
        )
    if "readonly" in text or "unable to open" in text or "disk" in text:
        return StoreError(path, f"cannot write the database ({exc}); check the folder and space")
    return StoreError(path, f"database error: {exc}")


def migrate(conn: sqlite3.Connection, path: Path, steps: Sequence[str] = MIGRATIONS) -> int:
    """Bring the schema up to ``len(steps)``; returns the version found before.

    Raises:
        StoreError: the file was written by a newer letdown.
    """
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > len(steps):
        raise StoreError(
            path,
            f"expected schema version {len(steps)} or older, found {found}: "
            "this database was written by a newer letdown; upgrade letdown",
        )
    keys_on = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    conn.execute("PRAGMA foreign_keys = OFF")  # a rebuilt table must not cascade (version 3)
    try:
        for version in range(found, len(steps)):
            with conn:
                conn.executescript(f"BEGIN; {steps[version]}; PRAGMA user_version = {version + 1};")
    finally:
        conn.execute(f"PRAGMA foreign_keys = {'ON' if keys_on else 'OFF'}")
    return found


class Store:
    """An open session store.

    Args:
        path: the SQLite file; created (mode 0600, parents too) when missing.
        timeout_s: how long to wait for another writer before giving up, s.

    Raises:
        StoreError: the file is locked, corrupt, newer than us, or cannot be created.
    """

    def __init__(self, path: str | Path, timeout_s: float = 2.0) -> None:
        self.path = Path(path)
        self.timeout_s = timeout_s
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
        except OSError as exc:
            raise StoreError(self.path, f"cannot create the database ({exc.strerror})") from None
        try:
            self.conn = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
        except sqlite3.Error as exc:
            raise _explain(self.path, exc) from None
        self.conn.row_factory = sqlite3.Row
        try:
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute("PRAGMA secure_delete = ON")  # a deleted answer leaves no trace
            migrate(self.conn, self.path)  # first: a newer or foreign file is left as it was
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            self.conn.close()
            raise _explain(self.path, exc) from None
        except StoreError:
            self.conn.close()
            raise
        for suffix in ("", *SIDE_FILES):
            side = Path(f"{self.path}{suffix}")
            if side.exists():
                side.chmod(0o600)

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite)."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        try:
            with self.conn:
                return self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise _explain(self.path, exc) from None

    def query(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        """Rows of a read-only query.

        Raises:
            StoreError: locked or corrupt database.
        """
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _explain(self.path, exc) from None

    # -- writes: each is one transaction, named so a pending write can be kept as data --

    def add_session(
        self,
        session_id: str,
        start_utc: str,
        kind: str = "pumping",
        source: str = "",
        device: str = "",
        recording_path: str | None = None,
    ) -> None:
        """Record a session (a second call with the same id changes nothing)."""
        self._write(
            "INSERT OR IGNORE INTO sessions (id, start_utc, kind, source, device, recording_path)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, start_utc, kind, source, device, recording_path),
        )

    def end_session(
        self, session_id: str, end_utc: str, duration_s: float, volume_ml: float | None = None
    ) -> None:
        """Mark a session finished; duration in s, volume in mL."""
        self._write(
            "UPDATE sessions SET end_utc = ?, duration_s = ?, volume_ml = ? WHERE id = ?",
            (end_utc, duration_s, volume_ml, session_id),
        )

    def add_event(
        self,
        session_id: str,
        label: str,
        onset_s: float,
        detected_s: float | None = None,
        end_s: float | None = None,
        peak_flow_ml_s: float | None = None,
        volume_ml: float | None = None,
        channel: str = "",
        score: float | None = None,
    ) -> None:
        """Store a letdown or felt mark; a later version (same label and onset) replaces it."""
        self._write(
            "INSERT INTO events (session_id, label, onset_s, detected_s, end_s, peak_flow_ml_s,"
            " volume_ml, channel, score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (session_id, label, onset_s) DO UPDATE SET"
            " detected_s = excluded.detected_s, end_s = excluded.end_s,"
            " peak_flow_ml_s = excluded.peak_flow_ml_s,"
            " volume_ml = excluded.volume_ml, channel = excluded.channel, score = excluded.score",
            (
                session_id,
                label,
                onset_s,
                detected_s,
                end_s,
                peak_flow_ml_s,
                volume_ml,
                channel,
                score,
            ),
        )

    def retract_event(self, session_id: str, onset_s: float) -> None:
        """Mark a stored letdown as retracted (its rise collapsed: an artifact, not milk)."""
        self._write(
            "UPDATE events SET label = 'retracted'"
            " WHERE session_id = ? AND label = 'letdown' AND onset_s = ?",
            (session_id, onset_s),
        )

    def add_prompt(
        self,
        session_id: str,
        number: int,
        kind: str,
        asked_s: float,
        expires_s: float,
        letdown_onset_s: float | None = None,
        status: str = "open",
    ) -> None:
        """Store prompt ``number`` of a session (or update its status if it exists).

        ``status``: ``open``, ``answered``, ``expired`` or ``withdrawn`` (its rise was
        taken back: neither asked nor unanswered, for the report and the daily cap).
        """
        self._write(
            "INSERT INTO prompts (session_id, number, kind, letdown_onset_s, asked_s, expires_s,"
            " status) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, number)"
            " DO UPDATE SET status = excluded.status",
            (session_id, number, kind, letdown_onset_s, asked_s, expires_s, status),
        )

    def add_answer(
        self,
        session_id: str,
        t_s: float,
        answered_utc: str,
        score: int,
        feelings: Sequence[str] = (),
        channel: str = "cli",
        prompt_number: int | None = None,
        late: bool = False,
    ) -> None:
        """Store a mood answer (0-10) given at session time ``t_s``; answered prompts are closed."""
        prompt_id = None
        if prompt_number is not None:
            rows = self.query(
                "SELECT id FROM prompts WHERE session_id = ? AND number = ?",
                (session_id, prompt_number),
            )
            prompt_id = rows[0]["id"] if rows else None
        try:
            with self.conn:
                self.conn.execute(
                    "INSERT INTO answers (session_id, prompt_id, t_s, answered_utc, score,"
                    " feelings, channel, late) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        session_id,
                        prompt_id,
                        t_s,
                        answered_utc,
                        int(score),
                        ";".join(feelings),
                        channel,
                        int(late),
                    ),
                )
                if prompt_id is not None and not late:
                    self.conn.execute(
                        "UPDATE prompts SET status = 'answered' WHERE id = ?", (prompt_id,)
                    )
        except sqlite3.Error as exc:
            raise _explain(self.path, exc) from None

    # -- the parent's own changes: undo, edit, delete --

    def delete_answer(self, session_id: str, answered_utc: str) -> None:
        """Take back an answer (page "undo"); its prompt counts as unanswered again."""
        self._delete_answers("session_id = ? AND answered_utc = ?", (session_id, answered_utc))

    def delete_answer_id(self, answer_id: int) -> int:
        """Delete answer ``answer_id``; returns how many were deleted (0 or 1)."""
        return self._delete_answers("id = ?", (answer_id,))

    def _delete_answers(self, where: str, params: Sequence[object]) -> int:
        try:
            with self.conn:
                prompts = [
                    r[0]
                    for r in self.conn.execute(
                        f"SELECT prompt_id FROM answers WHERE {where} AND prompt_id IS NOT NULL",
                        params,
                    )
                ]
                gone = self.conn.execute(f"DELETE FROM answers WHERE {where}", params).rowcount
                for prompt_id in prompts:
                    self.conn.execute(
                        "UPDATE prompts SET status = 'expired' WHERE id = ? AND status = 'answered'"
                        " AND NOT EXISTS (SELECT 1 FROM answers WHERE prompt_id = ? AND late = 0)",
                        (prompt_id, prompt_id),
                    )
        except sqlite3.Error as exc:
            raise _explain(self.path, exc) from None
        return gone

    def edit_answer(
        self, answer_id: int, score: int, feelings: Sequence[str], edited_utc: str
    ) -> int:
        """Change answer ``answer_id`` (a mis-tap); returns how many were changed (0 or 1)."""
        return self._write(
            "UPDATE answers SET score = ?, feelings = ?, edited_utc = ? WHERE id = ?",
            (int(score), ";".join(feelings), edited_utc, answer_id),
        ).rowcount

    def delete_session(self, session_id: str) -> int:
        """Delete one session with its events, prompts and answers; returns 0 or 1."""
        gone = self._write("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount
        self.checkpoint()
        return gone

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the file and empty it (deleted rows leave no copy)."""
        try:
            self.conn.execute("VACUUM")
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            raise _explain(self.path, exc) from None
