"""NotifySink: "Letdown detected" to phones and desktops (apprise) and a terminal bell.

The session's hooks only queue messages and return. Each target has its own
queue and worker task, and sends from a thread, so a slow, hanging or dead
service delays nothing but its own later messages; failures are retried with
exponential backoff a bounded number of times. A target that cannot be reached
is named once per outage at WARNING (at start, or at its first failure), with
the URL's secrets masked; each attempt is logged at DEBUG, and one line at the
end says how many messages were not sent. Numbers
are the session's (the terminal's); rate limit uses session time
(``detected_s``) and delivery latency the session's injected clock.

The mood page's link goes into a message only when the composition root
passes ``mood_url`` (the page is on the LAN and ``[notify] include_link`` is
true); otherwise a running page is mentioned as "open the mood page on this
computer". A "Letdown detected" whose rise is retracted is followed by
"Letdown N taken back". With ``include_mood`` the question asked between
letdowns (a baseline prompt) is sent too, as "Mood check": the question and
the way to the page, never an answer (a letdown's question rides in its
"Letdown detected").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TextIO

from ..clock import Clock, SystemClock
from ..sinks.base import (
    LetdownDetected,
    LetdownRetracted,
    PromptOpened,
    SessionInfo,
    SessionSummary,
    Sink,
)
from .delivery import Outcome, Target, unreachable_reason
from .messages import (
    Message,
    baseline_prompt_message,
    letdown_message,
    retraction_message,
    summary_message,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """The fate of one message at one target, kept on ``NotifySink.deliveries``."""

    target: str
    """The target URL, secrets masked."""
    title: str
    outcome: Outcome
    attempts: int
    latency_s: float
    """Clock time from queueing to the final attempt's end, s."""


class NotifySink(Sink):
    """Send one notification per letdown to every target, at most one per ``min_interval_s``.

    Args:
        urls: apprise URLs (checked already), e.g. ``ntfy://ntfy.sh/TOPIC``; the
            desktop's URL (``desktop.desktop_url()``) goes here too.
        min_interval_s: no notification within this many session seconds of
            the previous one, s (a "Mood check" never holds back a letdown's).
        summary: send a "session ended" message when the session stops.
        include_mood: ask the mood question in the notification text, and send the
            questions asked between letdowns too (off by default: lock screens are
            public; the link then just says "Check in").
        bell: a terminal stream to ring (``"\\a"``) with each notification, or None.
        mood_url: the mood page, linked in each message (only give it when a
            phone can open it and the user allowed links); None: no link.
        mood_page: a mood page runs on this computer (messages without a link
            then say to open it there).
        clock: the session's clock (delivery latency, retry waits).
        retries: extra attempts after a failed one.
        backoff_s: wait before the first retry, doubled for each further one, s.
        drain_timeout_s: at stop, how long to wait for queued messages, s (less
            than the live session's 5 s hook timeout).
        queue_size: messages waiting per target beyond which the oldest is dropped.
    """

    def __init__(
        self,
        urls: Sequence[str] = (),
        *,
        min_interval_s: float = 30.0,
        summary: bool = False,
        include_mood: bool = False,
        bell: TextIO | None = None,
        mood_url: str | None = None,
        mood_page: bool = False,
        clock: Clock | None = None,
        retries: int = 3,
        backoff_s: float = 2.0,
        drain_timeout_s: float = 4.0,
        queue_size: int = 32,
    ) -> None:
        self.urls = tuple(urls)
        self.min_interval_s = min_interval_s
        self.summary = summary
        self.include_mood = include_mood
        self.bell = bell
        self.mood_url = mood_url
        self.mood_page = mood_page
        self.clock = clock or SystemClock()
        self.retries = retries
        self.backoff_s = backoff_s
        self.drain_timeout_s = drain_timeout_s
        self.queue_size = queue_size
        self.deliveries: list[Delivery] = []
        """Every finished delivery of this session, in order of completion."""
        # Built now, before the session: a bad URL fails early, and apprise's
        # slow first import never stalls the session's event loop.
        self._targets = [Target(url) for url in self.urls]
        self._queues: list[asyncio.Queue[tuple[Message, float]]] = []
        self._workers: list[asyncio.Task[None]] = []
        self._executor: ThreadPoolExecutor | None = None
        self._sent: dict[int, float | None] = {}  # number -> the previous send time
        self._last_sent_s: float | None = None
        self._last_check_s: float | None = None  # the last "Mood check" sent
        self._session: SessionInfo | None = None
        self._probe: asyncio.Task[None] | None = None
        self._down: set[str] = set()  # targets named as failing, until a delivery works
        self._queued: Counter[str] = Counter()  # messages queued per target
        self._pending: Counter[str] = Counter()  # ... not finished yet (queued or in flight)
        self._unsent: Counter[str] = Counter()  # ... given up on (failed or dropped)

    async def start(self, session: SessionInfo) -> None:
        """Start one worker per target; check in the background that each can be reached."""
        self._session = session
        self._executor = ThreadPoolExecutor(
            max_workers=max(len(self._targets), 1), thread_name_prefix="letdown-notify"
        )
        self._queues = [asyncio.Queue(self.queue_size) for _ in self._targets]
        self._workers = [
            asyncio.create_task(self._work(target, queue), name=f"notify {target.name}")
            for target, queue in zip(self._targets, self._queues, strict=True)
        ]
        self._probe = asyncio.create_task(self._name_unreachable(), name="notify probe")

    async def _name_unreachable(self) -> None:
        loop = asyncio.get_running_loop()
        reasons = await asyncio.gather(
            *(
                loop.run_in_executor(self._executor, unreachable_reason, t.url)
                for t in self._targets
            )
        )
        for target, reason in zip(self._targets, reasons, strict=True):
            if reason is not None and target.name not in self._down:
                self._down.add(target.name)
                log.warning(
                    "notifications: %s cannot be reached (%s); the session goes on and "
                    "retries each message",
                    target.name,
                    reason,
                )

    async def on_letdown_detected(self, e: LetdownDetected) -> None:
        """Ring and queue "Letdown detected"; returns at once."""
        event, last = e.event, self._last_sent_s
        if last is not None and event.detected_s - last < self.min_interval_s:
            log.info(
                "letdown %d at %.1f s: no notification, %.0f s after the previous one",
                e.number,
                event.detected_s,
                event.detected_s - last,
            )
            return
        self._sent[e.number] = last
        self._last_sent_s = event.detected_s
        self._ring()
        session = self._info
        self._queue(
            letdown_message(
                e.number,
                event.onset_s,
                event.detected_s,
                session.utc_at(event.onset_s).astimezone(),
                session.utc_at(event.detected_s).astimezone(),
                self.mood_url,
                self.include_mood,
                self.mood_page,
            )
        )

    async def on_letdown_retracted(self, e: LetdownRetracted) -> None:
        """Take back a notified letdown ("that was not a letdown")."""
        if e.number not in self._sent:
            return
        # the next letdown gets this number, and is not held back by the interval
        self._last_sent_s = self._sent.pop(e.number)
        session = self._info
        self._queue(
            retraction_message(
                e.number,
                session.utc_at(e.event.onset_s).astimezone(),
                session.utc_at(e.t_s).astimezone(),
            )
        )

    async def on_prompt_opened(self, e: PromptOpened) -> None:
        """Queue "Mood check" for a question between letdowns (``include_mood`` only)."""
        prompt = e.prompt
        if not self.include_mood or prompt.kind != "baseline":
            return  # a letdown's question rides in its "Letdown detected"
        sent = [t for t in (self._last_sent_s, self._last_check_s) if t is not None]
        if sent and prompt.asked_s - max(sent) < self.min_interval_s:
            log.info(
                "mood check %d at %.1f s: no notification, %.0f s after the previous one",
                prompt.number,
                prompt.asked_s,
                prompt.asked_s - max(sent),
            )
            return
        self._last_check_s = prompt.asked_s
        self._ring()
        asked = self._info.utc_at(prompt.asked_s).astimezone()
        self._queue(baseline_prompt_message(asked, self.mood_url, self.mood_page))

    @property
    def _info(self) -> SessionInfo:
        assert self._session is not None, "hooks come after start()"
        return self._session

    async def stop(self, summary: SessionSummary) -> None:
        """Queue the summary (if on), wait up to ``drain_timeout_s`` for delivery, stop."""
        if self.summary:
            self._queue(summary_message(summary, self._info.kind))
        try:
            with contextlib.suppress(asyncio.TimeoutError):  # what is left is not sent
                await asyncio.wait_for(
                    asyncio.gather(*(q.join() for q in self._queues)), self.drain_timeout_s
                )
            self._say_unsent()
        finally:
            for task in (*self._workers, self._probe):
                if task is not None:
                    task.cancel()
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)

    def _say_unsent(self) -> None:
        """One line for the whole session: messages that never reached a target."""
        unsent = {t.name: self._unsent[t.name] + self._pending[t.name] for t in self._targets}
        unsent = {name: n for name, n in unsent.items() if n}
        if unsent:
            log.warning(
                "notifications: not sent: %s",
                "; ".join(
                    f"{n} of {self._queued[name]} message{'s' if self._queued[name] != 1 else ''}"
                    f" to {name}"
                    for name, n in unsent.items()
                ),
            )

    def _ring(self) -> None:
        if self.bell is None:
            return
        try:
            self.bell.write("\a")
            self.bell.flush()
        except (OSError, ValueError):
            self.bell = None

    def _queue(self, message: Message) -> None:
        now = self.clock.monotonic()
        for target, queue in zip(self._targets, self._queues, strict=True):
            if queue.full():
                queue.get_nowait()
                queue.task_done()
                self._pending[target.name] -= 1
                self._unsent[target.name] += 1
                log.info("notifications to %s are backed up; dropped the oldest", target.name)
            queue.put_nowait((message, now))
            self._queued[target.name] += 1
            self._pending[target.name] += 1

    async def _work(self, target: Target, queue: asyncio.Queue[tuple[Message, float]]) -> None:
        while True:
            message, queued = await queue.get()
            try:
                await self._deliver(target, message, queued)
            except Exception:
                # Our bug, but a notification must never take the session down.
                log.exception("notification to %s crashed", target.name)
                self._unsent[target.name] += 1
            finally:
                self._pending[target.name] -= 1
                queue.task_done()

    async def _deliver(self, target: Target, message: Message, queued: float) -> None:
        loop = asyncio.get_running_loop()
        for attempt in range(1, self.retries + 2):
            outcome = await loop.run_in_executor(self._executor, target.send, message)
            if outcome.ok:
                if target.name in self._down:
                    self._down.discard(target.name)
                    log.info("notifications to %s are delivered again", target.name)
                break
            if target.name not in self._down:  # once per outage, not at every attempt
                self._down.add(target.name)
                log.warning(
                    "notifications: %s failed (%s); the session goes on and retries each "
                    "message (not said again until it works)",
                    target.name,
                    outcome.reason,
                )
            if attempt > self.retries:
                break
            delay_s = self.backoff_s * 2 ** (attempt - 1)
            log.debug(
                "notification to %s failed (attempt %d of %d, retry in %.1f s): %s",
                target.name,
                attempt,
                self.retries + 1,
                delay_s,
                outcome.reason,
            )
            await self.clock.sleep(delay_s)
        if not outcome.ok:
            self._unsent[target.name] += 1
            log.debug("notification to %s not delivered: %s", target.name, outcome.reason)
        latency_s = self.clock.monotonic() - queued
        self.deliveries.append(Delivery(target.name, message.title, outcome, attempt, latency_s))
