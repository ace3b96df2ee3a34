"""MoodSink: asks about mood at each letdown and between them, during a live session.

Serves the phone page (``server.py``), takes answers from it, from a diary
file and from the terminal, and stores prompts and answers through the shared
store writer. Mood answers never go into notifications: other sinks only get
``mood_url`` (the page, with the session token) to link to.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from typing import Any, TextIO

from ..errors import ConfigError
from ..model import Event
from ..sinks.base import SessionControl, SessionInfo, SessionStatus, SessionSummary
from ..store.writer import StoreWriter
from .answers import Diary, parse_feelings, parse_score
from .prompt import FEELINGS, Prompt, PromptConfig, PromptScheduler
from .server import MoodServer
from .tracker import MoodTracker


class MoodSink:
    """Live-session sink for mood prompts, answers and felt-letdown marks.

    Args:
        writer: the store writer (shared with ``StoreSink``).
        config: prompt timing.
        port: port of the mood page; 0 picks a free one; ``None`` serves no page.
        lan: serve the page to the local network, not only this computer.
        diary: answers from a ``--mood-from`` file.
        on_prompt: called with each prompt that opens or closes (terminal display).
        log: where the page URL is announced.

    Raises:
        DeviceError: the page's port is taken.
    """

    def __init__(
        self,
        writer: StoreWriter,
        config: PromptConfig | None = None,
        port: int | None = 0,
        lan: bool = False,
        diary: Diary | None = None,
        on_prompt: Callable[[Prompt], None] | None = None,
        log: TextIO | None = sys.stderr,
    ) -> None:
        self.writer = writer
        self.config = config or PromptConfig()
        self.port = port
        self.lan = lan
        self.diary = diary
        self.on_prompt = on_prompt
        self.log = log
        self.token = secrets.token_urlsafe(16)
        self.tracker: MoodTracker | None = None
        self._control: SessionControl | None = None
        self._session: SessionInfo | None = None
        self._seen: set[tuple[str, float]] = set()
        self._server = None if port is None else MoodServer(self, self.token, port, lan)
        self.mood_url: str | None = None if self._server is None else self._server.url
        """The page URL with its token, known once built (for notification links)."""

    async def start(self, session: SessionInfo, control: SessionControl) -> None:
        """Begin tracking; serve the page and announce its URL."""
        self._session, self._control = session, control
        self.writer.hold()
        self.tracker = MoodTracker(
            session.session_id,
            session.start_utc,
            self.writer,
            PromptScheduler(self.config),
            self.diary,
            self.on_prompt,
        )
        if self._server is not None:
            await self._server.start()
            if self.log is not None:
                print(f"letdown: mood page: {self.mood_url}", file=self.log)

    async def on_event(self, event: Event, session: SessionInfo) -> None:
        """A letdown detected or felt: ask about the last minute or two (once per letdown)."""
        key = (event.label, event.onset_s)
        if (
            self.tracker is None
            or event.label not in ("letdown", "felt_letdown")
            or key in self._seen
        ):
            return
        self._seen.add(key)
        self.tracker.letdown(event.onset_s, event.detected_s)

    async def on_status(self, status: SessionStatus, session: SessionInfo) -> None:
        """Expire prompts, ask baseline ones, take diary answers."""
        if self.tracker is not None:
            self.tracker.tick(status.t_s)
            self.writer.flush(status.t_s)

    async def stop(self, summary: SessionSummary, session: SessionInfo) -> None:
        """Close the open prompt unanswered, stop the page, release the writer."""
        if self._server is not None:
            await self._server.stop()
        if self.tracker is not None:
            self.tracker.close(summary.duration_s)
        self.writer.release()

    # -- what the page (and a terminal key handler) may call --

    def submit_answer(
        self, score: object, feelings: object = None, prompt: object = None, channel: str = "page"
    ) -> str:
        """Store an answer given now; returns a sentence for the person.

        Args:
            score: 0-10 (text or number).
            feelings: ``"sad;dread"`` or a list of names from ``FEELINGS``.
            prompt: the prompt number it answers; ``None`` = the open one.
            channel: ``page``, ``action``, ``terminal`` ...

        Raises:
            ConfigError: a score or feeling that is not on the scale.
        """
        value = parse_score(score)
        ticked = parse_feelings(feelings if isinstance(feelings, (str, list, tuple)) else None)
        try:
            number = None if prompt in (None, "") else int(str(prompt))
        except ValueError:
            raise ConfigError(f"expected a prompt number, got {prompt!r}", "prompt") from None
        tracker, control = self._running()
        return tracker.answer(control.now_s(), value, ticked, channel, number).message

    def undo(self) -> str:
        """Take back the answer just given (the page's "undo", a few seconds)."""
        tracker, control = self._running()
        return tracker.undo(control.now_s())

    def ask_less(self) -> str:
        """Fewer mood questions this session (the page's "Ask less")."""
        tracker, control = self._running()
        return tracker.ask_less(control.now_s())

    def snooze(self) -> str:
        """No more mood questions this session."""
        tracker, control = self._running()
        return tracker.snooze(control.now_s())

    def _running(self) -> tuple[MoodTracker, SessionControl]:
        if self.tracker is None or self._control is None:
            raise RuntimeError("the mood sink has not been started")
        return self.tracker, self._control

    def felt(self) -> None:
        """Mark "I feel a letdown now" in the running session."""
        if self._control is not None:
            self._control.mark_felt("mood page")

    def state(self) -> dict[str, Any]:
        """What the page shows: session clock (s), letdowns so far, the open prompt."""
        tracker, control = self._running()
        prompt = tracker.open
        return {
            "t_s": round(control.now_s(), 1),
            "kind": self._session.kind if self._session else "pumping",
            "letdowns": [round(e.onset_s, 1) for e in control.letdowns()],
            "prompt": None
            if prompt is None
            else {
                "number": prompt.number,
                "kind": prompt.kind,
                "question": prompt.question,
                "asked_s": prompt.asked_s,
                "expires_s": prompt.expires_s,
            },
            "feelings": list(FEELINGS),
        }
