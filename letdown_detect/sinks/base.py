"""What a live session tells its sinks: typed events on one stream, and the Sink contract.

Everything that happens in a session is one :class:`SessionEvent` published
on the session's :class:`EventStream`: the session publishes letdowns, link
and status events; the mood sink publishes prompts and answers; the console
and the mood page publish felt marks and stop requests. Every sink receives
every event, in order, through its own queue (``live.py``), and handles the
kinds it cares about by overriding a hook of :class:`Sink`; the others are
no-ops. Sinks never look each other up: what one needs from another (the
mood page's URL, a way to answer a prompt) is given to its constructor by the
composition root (``compose.py``).

Times are session seconds (``t_s``) taken from the session's injected clock;
a sink turns them into wall-clock text with ``SessionInfo.local_text``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from ..model import Event, SampleBlock, SessionInfo, SessionStatus, SessionSummary

__all__ = [
    "AnswerGiven",
    "EventStream",
    "FeltMarked",
    "LetdownCompleted",
    "LetdownDetected",
    "LetdownRetracted",
    "LinkLost",
    "LinkRestored",
    "Notice",
    "PromptExpired",
    "PromptOpened",
    "SessionEvent",
    "SessionInfo",
    "SessionStatus",
    "SessionSummary",
    "Sink",
    "Status",
    "StopRequested",
    "felt_mark",
]


@dataclass(frozen=True)
class SessionEvent:
    """Something that happened at session time ``t_s`` (s)."""

    t_s: float
    """Session time it happened, s."""
    hook: ClassVar[str] = ""
    """The :class:`Sink` method that handles this kind."""


@dataclass(frozen=True)
class LetdownDetected(SessionEvent):
    """A letdown was detected (``event.end_s`` is None); ``t_s`` is ``event.detected_s``."""

    number: int
    """Its number in this session: the same in the terminal, notifications, store, summary."""
    event: Event
    hook: ClassVar[str] = "on_letdown_detected"


@dataclass(frozen=True)
class LetdownCompleted(SessionEvent):
    """A letdown's flow fell away (or the stream ended): ``event`` has its end and volume."""

    number: int
    event: Event
    hook: ClassVar[str] = "on_letdown_completed"


@dataclass(frozen=True)
class LetdownRetracted(SessionEvent):
    """A detected rise collapsed within seconds: it was not a letdown.

    Its number is free again: the next letdown detected gets it.
    """

    number: int
    """The number it had been given."""
    event: Event
    """The rise, label ``retracted``."""
    hook: ClassVar[str] = "on_letdown_retracted"


@dataclass(frozen=True)
class FeltMarked(SessionEvent):
    """The parent marked "I feel a letdown now" (``event.label == "felt_letdown"``)."""

    event: Event
    """The mark; ``event.channel`` says where it came from (``keyboard``, ``mood page``)."""
    hook: ClassVar[str] = "on_felt_marked"


@dataclass(frozen=True)
class PromptOpened(SessionEvent):
    """A mood question opened (``prompt`` is a :class:`letdown_detect.mood.prompt.Prompt`)."""

    prompt: Any
    hook: ClassVar[str] = "on_prompt_opened"


@dataclass(frozen=True)
class AnswerGiven(SessionEvent):
    """A mood answer was accepted and handed to the store."""

    score: int
    """0-10."""
    channel: str
    """Where it was given: ``page``, ``action``, ``terminal``, ``diary``."""
    status: str
    """``answered``, ``late`` or ``unprompted``."""
    message: str
    """The sentence the person was shown."""
    prompt_number: int | None = None
    feelings: tuple[str, ...] = ()
    hook: ClassVar[str] = "on_answer_given"


@dataclass(frozen=True)
class PromptExpired(SessionEvent):
    """A mood question closed unanswered (``prompt.status`` ``expired``), or was withdrawn
    because its rise was taken back (``withdrawn``)."""

    prompt: Any
    hook: ClassVar[str] = "on_prompt_expired"


@dataclass(frozen=True)
class LinkLost(SessionEvent):
    """The cable or radio link dropped; the session is reconnecting."""

    reason: str
    hook: ClassVar[str] = "on_link_lost"


@dataclass(frozen=True)
class LinkRestored(SessionEvent):
    """The link is back after ``down_s`` host seconds."""

    down_s: float
    hook: ClassVar[str] = "on_link_restored"


@dataclass(frozen=True)
class Status(SessionEvent):
    """About once a second: the session's state."""

    status: SessionStatus
    hook: ClassVar[str] = "on_status"


@dataclass(frozen=True)
class Notice(SessionEvent):
    """A sentence for the person at the terminal (e.g. "preparing the detector")."""

    text: str
    hook: ClassVar[str] = "on_notice"


@dataclass(frozen=True)
class StopRequested(SessionEvent):
    """Someone asked the session to stop (the ``q`` key)."""

    source: str = "keyboard"
    hook: ClassVar[str] = "on_stop_requested"


class EventStream:
    """One ordered fan-out of :class:`SessionEvent`: every subscriber gets every event.

    ``publish`` only hands the event to each subscriber's ``deliver`` (a queue
    put in a live session) and returns; nobody is called back synchronously.
    """

    def __init__(self) -> None:
        self._subscribers: list[Callable[[SessionEvent], None]] = []

    def subscribe(self, deliver: Callable[[SessionEvent], None]) -> None:
        """Receive every event published from now on."""
        self._subscribers.append(deliver)

    def unsubscribe(self, deliver: Callable[[SessionEvent], None]) -> None:
        """Stop receiving events."""
        if deliver in self._subscribers:
            self._subscribers.remove(deliver)

    def publish(self, event: SessionEvent) -> None:
        """Hand ``event`` to every subscriber, in subscription order."""
        for deliver in list(self._subscribers):
            deliver(event)


class Sink:
    """A live-session consumer: override the hooks you need; the rest do nothing.

    Every hook is awaited on the session's event loop, from this sink's own
    queue, in the order events happened; a hook must return quickly (hand
    network or disk work to a worker). A hook that raises or takes longer
    than the session's ``sink_timeout_s`` is counted and logged, never fatal.
    """

    def handles(self, hook: str) -> bool:
        """True when this sink overrides ``hook`` (no queue work for no-op hooks)."""
        method = getattr(type(self), hook, None)
        return method is not None and method is not getattr(Sink, hook, None)

    async def start(self, session: SessionInfo) -> None:
        """The session began (its source is open)."""

    async def on_block(self, block: SampleBlock) -> None:
        """Samples in session time, as they arrive (the recorder writes them)."""

    async def on_letdown_detected(self, e: LetdownDetected) -> None:
        """A letdown was detected."""

    async def on_letdown_completed(self, e: LetdownCompleted) -> None:
        """A letdown ended."""

    async def on_letdown_retracted(self, e: LetdownRetracted) -> None:
        """A detected rise was taken back."""

    async def on_felt_marked(self, e: FeltMarked) -> None:
        """A felt-letdown mark."""

    async def on_prompt_opened(self, e: PromptOpened) -> None:
        """A mood question opened."""

    async def on_answer_given(self, e: AnswerGiven) -> None:
        """A mood answer was accepted."""

    async def on_prompt_expired(self, e: PromptExpired) -> None:
        """A mood question closed unanswered, or was withdrawn with its rise."""

    async def on_link_lost(self, e: LinkLost) -> None:
        """The link dropped."""

    async def on_link_restored(self, e: LinkRestored) -> None:
        """The link is back."""

    async def on_status(self, e: Status) -> None:
        """About once a second."""

    async def on_notice(self, e: Notice) -> None:
        """A sentence for the person at the terminal."""

    async def on_stop_requested(self, e: StopRequested) -> None:
        """Someone asked the session to stop."""

    async def stop(self, summary: SessionSummary) -> None:
        """The session ended (also after Ctrl-C); flush and release resources."""


def felt_mark(t_s: float, source: str) -> FeltMarked:
    """The event for "I feel a letdown now" at session time ``t_s`` (s) from ``source``."""
    event = Event(t_s, t_s, 0.0, source, 0.0, end_s=t_s, label="felt_letdown")
    return FeltMarked(t_s, event)
