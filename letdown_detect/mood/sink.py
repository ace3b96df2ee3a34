"""MoodSink: asks about mood at each letdown and between them, during a live session.

Serves the phone page (``server.py``), takes answers from it, from a diary
file and from the terminal, and stores prompts and answers through the shared
store worker. Prompts, answers and the page's felt marks go on the session's
stream (the terminal shows them). Mood answers never go into notifications:
the composition root only hands ``mood_url`` (the page, with the session
token) to the notifier, and only when the user allowed links.
"""

from __future__ import annotations

import secrets
from typing import Any

from ..clock import SessionTime
from ..errors import ConfigError
from ..model import Event
from ..sinks.base import (
    AnswerGiven,
    EventStream,
    FeltMarked,
    LetdownDetected,
    LetdownRetracted,
    PromptExpired,
    PromptOpened,
    SessionInfo,
    SessionSummary,
    Sink,
    Status,
    felt_mark,
)
from ..store.store_sink import StoreWorker, released
from ..store.writer import StoreWriter
from .answers import Diary, parse_feelings, parse_score
from .prompt import FEELINGS, Prompt, PromptConfig, PromptScheduler
from .server import MoodServer
from .tracker import MoodTracker


class MoodSink(Sink):
    """Live-session sink for mood prompts, answers and felt-letdown marks.

    Args:
        writer: the store writer (shared with ``StoreSink``; both use its one worker thread).
        config: prompt timing.
        port: port of the mood page; 0 picks a free one; ``None`` serves no page.
        lan: serve the page to the local network, not only this computer.
        diary: answers from a ``--mood-from`` file.
        stream: the session's stream: prompts, answers and the page's felt marks go there.
        time: the session's time (answers and felt marks are stamped with it).

    Raises:
        DeviceError: the page's port is taken.
    """

    def __init__(
        self,
        writer: StoreWriter | StoreWorker,
        config: PromptConfig | None = None,
        port: int | None = 0,
        lan: bool = False,
        diary: Diary | None = None,
        *,
        stream: EventStream | None = None,
        time: SessionTime | None = None,
    ) -> None:
        self.writer = StoreWorker.of(writer)
        self.config = config or PromptConfig()
        self.port = port
        self.lan = lan
        self.diary = diary
        self.stream = stream or EventStream()
        self.time = time
        self.token = secrets.token_urlsafe(16)
        self.tracker: MoodTracker | None = None
        self._session: SessionInfo | None = None
        self._seen: set[tuple[str, float]] = set()
        self._letdowns: dict[int, float] = {}
        self._felt: list[float] = []
        self._withdrawn: list[int] = []  # prompts whose rise was taken back (the page says so)
        self._server = None if port is None else MoodServer(self, self.token, port, lan)
        self.mood_url: str | None = None if self._server is None else self._server.url
        """The page URL with its token, known once built (for notification links)."""

    @property
    def on_lan(self) -> bool:
        """True when a phone on the local network can open the page."""
        return self._server is not None and self.lan and not self.mood_url.startswith("http://127.")

    def _now_s(self) -> float:
        return 0.0 if self.time is None else self.time.now_s()

    async def start(self, session: SessionInfo) -> None:
        """Begin tracking; serve the page."""
        self._session = session
        self.writer.hold()
        self.tracker = MoodTracker(
            session.session_id,
            session.start_utc,
            self.writer,
            PromptScheduler(self.config),
            self.diary,
            self._prompt_changed,
        )
        if self._server is not None:
            await self._server.start()

    def _prompt_changed(self, prompt: Prompt) -> None:
        if prompt.status == "open":
            self.stream.publish(PromptOpened(prompt.asked_s, prompt))
        elif prompt.status in ("expired", "withdrawn"):
            if prompt.status == "withdrawn":
                self._withdrawn.append(prompt.number)
            self.stream.publish(PromptExpired(self._now_s(), prompt))

    def _ask(self, event: Event) -> None:
        key = (event.label, event.onset_s)
        if self.tracker is None or key in self._seen:
            return
        self._seen.add(key)
        self.tracker.letdown(event.onset_s, event.detected_s)

    async def on_letdown_detected(self, e: LetdownDetected) -> None:
        """A letdown: ask about the last minute or two (once per letdown)."""
        self._letdowns[e.number] = e.event.onset_s
        self._ask(e.event)

    async def on_letdown_retracted(self, e: LetdownRetracted) -> None:
        """A rise taken back: the page stops listing it and its open question is withdrawn."""
        self._letdowns.pop(e.number, None)
        if self.tracker is not None:
            self.tracker.withdraw(e.event.onset_s, e.t_s)

    async def on_felt_marked(self, e: FeltMarked) -> None:
        """A felt letdown: ask the letdown question."""
        self._felt.append(e.t_s)
        self._ask(e.event)

    async def on_status(self, e: Status) -> None:
        """Expire prompts, ask baseline ones, take diary answers."""
        if self.tracker is not None:
            self.tracker.tick(e.status.t_s)
            self.writer.flush(e.status.t_s)

    async def stop(self, summary: SessionSummary) -> None:
        """Close the open prompt unanswered, stop the page, release the writer."""
        if self._server is not None:
            await self._server.stop()
        if self.tracker is not None:
            self.tracker.close(summary.duration_s)
        await released(self.writer)

    # -- what the page (and the terminal's keys) may call --

    def submit_answer(
        self, score: object, feelings: object = None, prompt: object = None, channel: str = "page"
    ) -> str:
        """Store an answer given now; returns a sentence for the person.

        The answer is also published as :class:`AnswerGiven` (the terminal shows it).

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
        tracker = self._running()
        now_s = self._now_s()
        outcome = tracker.answer(now_s, value, ticked, channel, number)
        self.stream.publish(
            AnswerGiven(
                now_s,
                score=value,
                channel=channel,
                status=outcome.status,
                message=outcome.message,
                prompt_number=None if outcome.prompt is None else outcome.prompt.number,
                feelings=tuple(ticked),
            )
        )
        return outcome.message

    def undo(self) -> str:
        """Take back the answer just given (the page's "undo", a few seconds)."""
        return self._running().undo(self._now_s())

    def ask_less(self) -> str:
        """Fewer mood questions this session (the page's "Ask less")."""
        return self._running().ask_less(self._now_s())

    def snooze(self) -> str:
        """No more mood questions this session."""
        return self._running().snooze(self._now_s())

    def _running(self) -> MoodTracker:
        if self.tracker is None:
            raise RuntimeError("the mood sink has not been started")
        return self.tracker

    def felt(self) -> None:
        """Mark "I feel a letdown now" (from the page)."""
        self.stream.publish(felt_mark(self._now_s(), "mood page"))

    def state(self) -> dict[str, Any]:
        """What the page shows: session clock (s), letdowns so far, the open prompt."""
        if self.tracker is None:
            raise RuntimeError("the mood sink has not been started")
        prompt = self.tracker.open
        kind = self._session.kind if self._session else "pumping"
        onsets = self._felt if kind == "nursing" else sorted(self._letdowns.values())
        return {
            "t_s": round(self._now_s(), 1),
            "kind": kind,
            "letdowns": [round(t, 1) for t in onsets],
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
            "withdrawn": list(self._withdrawn),
        }
