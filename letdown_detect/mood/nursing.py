"""A nursing session: no sensor, only felt-letdown marks and the same mood prompts.

``letdown session start --nursing`` runs a live session with a sensorless
source in the foreground (one process per database): the same loop, sinks,
clock and signal handling as ``letdown live``, with :class:`NursingConsole`
as its terminal. It writes a small state file beside the database
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
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ..clock import SessionTime
from ..errors import ConfigError, LetdownError
from ..sinks.base import (
    AnswerGiven,
    EventStream,
    FeltMarked,
    PromptExpired,
    PromptOpened,
    SessionInfo,
    SessionSummary,
    Sink,
    StopRequested,
    felt_mark,
)
from .answers import left_out_note, split_feelings
from .help import help_for_answer
from .prompt import prompt_line

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


class NursingConsole(Sink):
    """The terminal of a nursing session: reads lines, shows prompts and answers.

    Lines: ``f`` (felt letdown), ``q`` (stop), ``0``-``10`` with optional
    ``feelings;...`` (an answer). It writes the state file at start; the
    session's caller removes it once every sink has finished.

    Args:
        db: the database (the state file lives beside it).
        stream: the session's stream (felt marks and stop requests go there).
        time: the session's time.
        answer: ``MoodSink.submit_answer`` (None with ``--no-mood``).
        mood_url: the mood page, written to the state file.
        stdin: where lines come from (None: no terminal input).
        out: where prompts and confirmations are shown.
        country: ``[mood] country``, for the help lines an answer may call for.
    """

    def __init__(
        self,
        db: Path,
        stream: EventStream,
        time: SessionTime,
        answer: Callable[..., str] | None = None,
        mood_url: str | None = None,
        stdin: TextIO | None = sys.stdin,
        out: TextIO = sys.stderr,
        country: str | None = None,
    ) -> None:
        self.db = db
        self.stream = stream
        self.time = time
        self.answer = answer
        self.mood_url = mood_url
        self.stdin = stdin
        self.out = out
        self.country = country
        self._watched: int | None = None

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def start(self, session: SessionInfo) -> None:
        """Write the state file, say how to use the terminal, start reading lines."""
        _write_state(
            self.db,
            {
                "pid": os.getpid(),
                "session_id": session.session_id,
                "start_utc": session.start_utc.isoformat(),
                "mood_url": self.mood_url,
            },
        )
        self._say(f"nursing session {session.session_id} started; {HELP}")
        if self.mood_url:
            self._say(f"mood page: {self.mood_url}")
        if self.stdin is not None:
            self._watched = self._watch_terminal(self.stdin)

    async def on_felt_marked(self, e: FeltMarked) -> None:
        """Confirm a felt mark."""
        self._say(f"felt letdown marked at {e.t_s / 60:.1f} min")

    async def on_prompt_opened(self, e: PromptOpened) -> None:
        """Ask the question here too."""
        self._say(prompt_line(e.prompt, HELP))

    async def on_answer_given(self, e: AnswerGiven) -> None:
        """Confirm an answer, from any channel."""
        self._say(e.message)
        panel = help_for_answer(e.score, e.feelings, self.country)  # at once, here too
        if panel is not None:
            self._say(panel.text())

    async def on_prompt_expired(self, e: PromptExpired) -> None:
        """A question closed unanswered."""
        self._say(prompt_line(e.prompt))

    async def stop(self, summary: SessionSummary) -> None:
        """Stop reading the terminal."""
        if self._watched is not None:
            with contextlib.suppress(OSError, ValueError):
                asyncio.get_running_loop().remove_reader(self._watched)
            self._watched = None

    def key(self, line: str) -> None:
        """Act on one input line."""
        text = line.strip()
        if not text:
            return
        if text.lower() == "q":
            self.stream.publish(StopRequested(self.time.now_s(), "keyboard"))
        elif text.lower() == "f":
            self.stream.publish(felt_mark(self.time.now_s(), "keyboard"))
        elif self.answer is None:
            self._say("mood prompts are off (--no-mood)")
        else:
            score, _, feelings = text.partition(" ")
            try:
                known, unknown = split_feelings(feelings)
                self.answer(score, list(known), None, "terminal")  # shown as AnswerGiven
                if unknown:  # the score is kept; say which words there are
                    self._say(left_out_note(unknown))
            except ConfigError as exc:
                self._say(f"{exc}; {HELP}")

    def _watch_terminal(self, stdin: TextIO) -> int | None:
        """Feed complete input lines to :meth:`key`; returns the watched descriptor."""
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
                self.key(line.decode("utf-8", "replace"))

        try:
            asyncio.get_running_loop().add_reader(fd, readable)
        except (OSError, ValueError):  # a regular file or /dev/null cannot be watched
            return None
        return fd


def remove_state(db: Path) -> None:
    """Remove the state file (the session has finished)."""
    with contextlib.suppress(FileNotFoundError):
        state_path(db).unlink()


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
