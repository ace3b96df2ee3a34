"""Writes from a live session that survive a locked or broken database.

A live session must go on when the store cannot be written. Each write is kept
as data (a :class:`~letdown_detect.store.db.Store` method name and its
arguments) in order; when the database refuses, the writes wait and are tried
again a few seconds of session time later. Whatever is still waiting when the
session ends goes to a JSON-lines file beside the database (mode 0600), so
nothing is lost, and the user is told where it is. When that folder cannot be
written either (read-only, full), the file goes to the per-user data folder,
then the temporary folder; when no file can be written at all, the writes are
printed on the log as the last resort (the lines a rescue file would hold).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TextIO

from .db import Store, StoreError

#: Write operations a pending entry may name (the Store methods that write).
WRITE_OPS = frozenset(
    {"add_session", "end_session", "add_event", "retract_event", "add_prompt", "add_answer"}
    | {"delete_answer"}
)


class StoreWriter:
    """Ordered, retried writes to one database file.

    Args:
        path: the SQLite file.
        retry_after_s: session time to wait after a refused write before trying again, s.
        timeout_s: how long one write waits for a lock, s (kept short: hooks must be quick).
        log: where to say that the database is unavailable (once per outage).
    """

    def __init__(
        self,
        path: str | Path,
        retry_after_s: float = 5.0,
        timeout_s: float = 0.2,
        log: TextIO | None = None,
    ) -> None:
        self.path = Path(path)
        self.retry_after_s = retry_after_s
        self.timeout_s = timeout_s
        self.log = log
        self._store: Store | None = None
        self._pending: list[tuple[str, dict[str, object]]] = []
        self._retry_at_s: float | None = None
        self._holders = 0
        self.last_error: StoreError | None = None

    @property
    def pending(self) -> int:
        """Writes not yet in the database."""
        return len(self._pending)

    def submit(self, op: str, now_s: float, **kwargs: object) -> None:
        """Queue ``Store.<op>(**kwargs)`` and write what can be written now.

        Args:
            op: a name in :data:`WRITE_OPS`.
            now_s: current session time, s (paces retries; no clock is read).
        """
        if op not in WRITE_OPS:
            raise ValueError(f"unknown store operation {op!r}")
        self._pending.append((op, kwargs))
        self.flush(now_s)

    def flush(self, now_s: float | None = None) -> bool:
        """Try the waiting writes in order; True when none is left.

        Args:
            now_s: current session time, s; ``None`` forces a try now.
        """
        if not self._pending:
            return True
        if now_s is not None and self._retry_at_s is not None and now_s < self._retry_at_s:
            return False
        try:
            if self._store is None:
                self._store = Store(self.path, timeout_s=self.timeout_s)
            while self._pending:
                op, kwargs = self._pending[0]
                getattr(self._store, op)(**kwargs)
                self._pending.pop(0)
        except StoreError as exc:
            if self.last_error is None and self.log is not None:
                print(
                    f"letdown: {exc}; the session goes on and keeps "
                    f"{len(self._pending)} write(s) in memory to retry; if the database stays "
                    f"unavailable they are saved at the end to {self.rescue_path()}",
                    file=self.log,
                )
            self.last_error = exc
            self._retry_at_s = None if now_s is None else now_s + self.retry_after_s
            if self._store is not None:
                self._store.close()
                self._store = None
            return False
        if self.last_error is not None and self.log is not None:
            print(f"letdown: {self.path}: database available again, writes saved", file=self.log)
        self.last_error = None
        self._retry_at_s = None
        return True

    def hold(self) -> None:
        """A sink starts using this writer (sinks sharing it close it with the last release)."""
        self._holders += 1

    def release(self) -> Path | None:
        """A sink is done; the last one closes the writer (see :meth:`close`)."""
        self._holders = max(0, self._holders - 1)
        return self.close() if self._holders == 0 else None

    def close(self) -> Path | None:
        """Flush once more and close; returns where left-over writes went, if any.

        That is the rescue file, or, when no file could be written, the name of
        the log they were printed on.
        """
        saved = self.flush()
        if self._store is not None:
            self._store.close()
            self._store = None
        if saved:
            return None
        lines = "".join(
            json.dumps({"op": op, "args": kwargs}) + "\n" for op, kwargs in self._pending
        )
        count = len(self._pending)
        rescue = _save_rescue(self.rescue_candidates(), lines)
        if rescue is None:
            if self.log is not None:
                print(
                    f"letdown: {self.path}: {count} write(s) could not be saved and no rescue "
                    "file could be written; they follow between the BEGIN/END lines: save them "
                    "to a file and run `letdown import --rescue FILE`",
                    file=self.log,
                )
                print(f"----- BEGIN letdown rescue ({count}) -----", file=self.log)
                print(lines, end="", file=self.log)
                print("----- END letdown rescue -----", file=self.log, flush=True)
            self._pending.clear()
            return Path(str(getattr(self.log, "name", "<log>")))
        if self.log is not None:
            print(
                f"letdown: {self.path}: {count} write(s) could not be saved and "
                f"were kept in {rescue}; `letdown import --rescue {rescue}` adds them later",
                file=self.log,
            )
        self._pending.clear()
        return rescue

    def rescue_path(self) -> Path:
        """The first rescue file that can be written now (see :meth:`rescue_candidates`)."""
        for path in self.rescue_candidates():
            if _can_create(path):
                return path
        return self.rescue_candidates()[0]

    def rescue_candidates(self) -> list[Path]:
        """Where left-over writes may go, in order: beside the database, the per-user
        data folder, the temporary folder."""
        import tempfile

        import platformdirs

        name = f"{self.path.name}.unsaved.jsonl"
        folders = [self.path.parent, Path(platformdirs.user_data_dir("letdown"))]
        folders.append(Path(tempfile.gettempdir()))
        return list(dict.fromkeys(folder / name for folder in folders))


def _can_create(path: Path) -> bool:
    """True when ``path`` (and any missing folders above it) can be created now."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def _save_rescue(candidates: list[Path], lines: str) -> Path | None:
    """Append ``lines`` to the first candidate that takes them whole (mode 0600)."""
    for path in candidates:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError:
            continue
        try:
            start = os.lseek(fd, 0, os.SEEK_END)
            data = lines.encode("utf-8")
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)  # no half entry left behind
            continue
        finally:
            os.close(fd)
        return path
    return None


def replay_rescue(rescue: str | Path, store: Store) -> int:
    """Apply a rescue file written by :meth:`StoreWriter.close`; returns writes applied.

    Raises:
        StoreError: the file is not a rescue file, or the database refuses.
    """
    rescue = Path(rescue)
    try:
        lines = rescue.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StoreError(rescue, f"cannot read the rescue file ({exc.strerror})") from None
    entries = []
    for number, line in enumerate(lines, 1):
        try:
            entry = json.loads(line)
            op, args = entry["op"], entry["args"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise StoreError(
                rescue, f"line {number}: expected a saved write, got {line[:40]!r}"
            ) from None
        if op not in WRITE_OPS or not isinstance(args, dict):
            raise StoreError(rescue, f"line {number}: expected a saved write, got op {op!r}")
        entries.append((op, args))
    for op, args in entries:
        getattr(store, op)(**args)
    return len(entries)
