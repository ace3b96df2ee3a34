"""A nursing session: no sensor, only felt-letdown marks and the same mood prompts.

``letdown session start --nursing`` runs :func:`run_nursing` in the foreground
(one process per database). It writes a small state file beside the database
(``<db>.session.json``, mode 0600: pid, session id, page URL); ``letdown
session stop`` reads it and sends SIGTERM, and this process then closes the
open prompt, ends the session in the store and removes the file. The terminal
takes ``f`` (felt letdown), ``0``-``10`` with optional ``feelings;...`` (an
answer) and ``q`` (stop); the mood page works as in a pumping session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from ..errors import ConfigError, LetdownError
from ..model import Event
from ..sinks.base import SessionInfo, SessionStatus, SessionSummary, Sink

HELP = "keys: f = I feel a letdown now, 0-10 [feelings;...] = answer, q = stop"


def state_path(db: Path) -> Path:
    """The running-session state file of database ``db``."""
    return db.with_name(db.name + ".session.json")


def read_state(db: Path) -> dict[str, Any] | None:
    """The state of the nursing session running on ``db``, or ``None``."""
    try:
        state = json.loads(state_path(db).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("pid"), int) else None


def pid_alive(pid: int) -> bool:
    """True when process ``pid`` exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class NursingSession:
    """A sensorless session; also the ``SessionControl`` its sinks receive.

    Args:
        sinks: the store and mood sinks.
        db: the database (for the state file).
        duration_s: stop after this long, s (``None``: until stopped).
        out: where prompts and confirmations are shown.
    """

    def __init__(
        self,
        sinks: Sequence[Sink],
        db: Path,
        duration_s: float | None = None,
        out: TextIO = sys.stderr,
    ) -> None:
        self.sinks = list(sinks)
        self.db = db
        self.duration_s = duration_s
        self.out = out
        self.session = SessionInfo(
            session_id=uuid.uuid4().hex[:12],
            start_utc=datetime.now(timezone.utc),
            source="nursing",
            kind="nursing",
        )
        self._t0 = time.monotonic()
        self._felt: list[Event] = []
        self._pending: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()

    def now_s(self) -> float:
        """Session time, s."""
        return time.monotonic() - self._t0

    def mark_felt(self, source: str) -> None:
        """Store "I feel a letdown now" and ask the letdown question."""
        t = self.now_s()
        event = Event(t, t, 0.0, source, 0.0, end_s=t, label="felt_letdown")
        self._felt.append(event)
        for sink in self.sinks:
            self._pending.append(asyncio.ensure_future(sink.on_event(event, self.session)))
        print(f"felt letdown marked at {t / 60:.1f} min", file=self.out)

    def status(self) -> SessionStatus:
        """Clock and felt letdowns so far (no sensor: no flow or volume)."""
        return SessionStatus(self.now_s(), None, 0.0, len(self._felt))

    def letdowns(self) -> list[Event]:
        """Felt letdowns so far (the only letdowns a nursing session knows)."""
        return list(self._felt)

    def request_stop(self) -> None:
        """Stop at the next tick (SIGTERM, Ctrl-C, ``q``)."""
        self._stop.set()

    def _key(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        if text.lower() == "q":
            self.request_stop()
        elif text.lower() == "f":
            self.mark_felt("keyboard")
        else:
            score, _, feelings = text.partition(" ")
            mood = next((s for s in self.sinks if hasattr(s, "submit_answer")), None)
            if mood is None:
                print("mood prompts are off (--no-mood)", file=self.out)
                return
            try:
                from .answers import terminal_answer  # help panel when the answer calls for it
                from .help import configured_country

                reply = terminal_answer(mood.submit_answer, score, feelings, configured_country())
                print(reply, file=self.out)
            except ConfigError as exc:
                print(f"{exc}; {HELP}", file=self.out)

    def _show_prompts(self) -> None:
        """Print each mood question as it opens (the question text, not only its number)."""
        from .prompt import prompt_line

        for sink in self.sinks:
            tracker = getattr(sink, "tracker", None)
            if tracker is not None and tracker.on_prompt is None:
                tracker.on_prompt = lambda p: (
                    p.status == "open" and print(prompt_line(p), file=self.out)
                )

    def _watch_terminal(self, stdin: TextIO) -> int | None:
        """Feed complete input lines to the key handler; returns the watched descriptor."""
        try:
            fd = stdin.fileno()
        except (OSError, ValueError):
            return None
        buffer = bytearray()

        def readable() -> None:
            data = os.read(fd, 4096)
            if not data:
                asyncio.get_running_loop().remove_reader(fd)
            buffer.extend(data)
            while b"\n" in buffer or (not data and buffer):
                line, _, rest = bytes(buffer).partition(b"\n")
                buffer[:] = rest
                self._key(line.decode("utf-8", "replace"))

        try:
            asyncio.get_running_loop().add_reader(fd, readable)
        except (OSError, ValueError):  # a regular file or /dev/null cannot be watched
            return None
        return fd

    async def run(self, stdin: TextIO | None = sys.stdin) -> SessionSummary:
        """Run until stopped; returns the summary (felt marks only)."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self.request_stop)
        for sink in self.sinks:
            await sink.start(self.session, self)
        self._show_prompts()
        url = next((s.mood_url for s in self.sinks if getattr(s, "mood_url", None)), None)
        _write_state(
            self.db,
            {
                "pid": os.getpid(),
                "session_id": self.session.session_id,
                "start_utc": self.session.start_utc.isoformat(),
                "mood_url": url,
            },
        )
        print(f"nursing session {self.session.session_id} started; {HELP}", file=self.out)
        watched = self._watch_terminal(stdin) if stdin is not None else None
        try:
            while not self._stop.is_set():
                if self.duration_s is not None and self.now_s() >= self.duration_s:
                    break
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=1.0)
                await asyncio.gather(*self._pending)
                self._pending.clear()
                for sink in self.sinks:
                    await sink.on_status(self.status(), self.session)
            duration = self.now_s()
            summary = SessionSummary(duration, (), 0.0, None, None, tuple(self._felt))
            for sink in self.sinks:
                await sink.stop(summary, self.session)
            return summary
        finally:
            if watched is not None:
                loop.remove_reader(watched)
            with contextlib.suppress(FileNotFoundError):
                state_path(self.db).unlink()


def _write_state(db: Path, state: dict[str, Any]) -> None:
    path = state_path(db)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(state, fh)


def ensure_not_running(db: Path) -> None:
    """Refuse a second session on the same database.

    Raises:
        LetdownError: a nursing session is already running.
    """
    state = read_state(db)
    if state is not None and pid_alive(state["pid"]):
        raise LetdownError(
            f"{state_path(db)}: a nursing session ({state.get('session_id')}) is already "
            f"running as process {state['pid']}; stop it with `letdown session stop`"
        )
