"""NotifySink: "Letdown detected" to phones and desktops (apprise) and a terminal bell.

The session's hooks only queue messages and return. Each target has its own
queue and worker task, and sends from a thread, so a slow, hanging or dead
service delays nothing but its own later messages; failures are logged with
the URL's secrets masked and retried with exponential backoff a bounded number
of times. Rate limit and numbering use session time (``detected_s``), not the
wall clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TextIO

from ..model import Event
from ..sinks.base import SessionControl, SessionInfo, SessionStatus, SessionSummary
from .delivery import Outcome, Target
from .messages import Message, letdown_message, summary_message

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
    """Wall time from queueing to the final attempt's end, s."""


class NotifySink:
    """Send one notification per letdown to every target, at most one per ``min_interval_s``.

    Args:
        urls: apprise URLs (checked already), e.g. ``ntfy://ntfy.sh/TOPIC``; the
            desktop's URL (``desktop.desktop_url()``) goes here too.
        min_interval_s: no notification within this many session seconds of
            the previous one, s.
        summary: send a "session ended" message when the session stops.
        include_mood: ask the mood question in the notification text (off by
            default: lock screens are public; the link then just says "Check in").
        bell: a terminal stream to ring (``"\\a"``) with each notification, or None.
        mood_url: the mood page, linked in each message; when None, the page of a
            mood sink in the same session is used (found at ``start``).
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
        self._letdowns = 0
        self._last_sent_s: float | None = None

    async def start(self, session: SessionInfo, control: SessionControl) -> None:
        """Find the mood page, start one worker per target."""
        if self.mood_url is None:
            # LiveSession is the control and keeps its sinks (constructor argument);
            # the mood sink publishes its page as ``mood_url``.
            from ..mood.live_options import mood_url

            self.mood_url = mood_url(list(getattr(control, "sinks", ())))
        self._executor = ThreadPoolExecutor(
            max_workers=max(len(self._targets), 1), thread_name_prefix="letdown-notify"
        )
        self._queues = [asyncio.Queue(self.queue_size) for _ in self._targets]
        self._workers = [
            asyncio.create_task(self._work(target, queue), name=f"notify {target.name}")
            for target, queue in zip(self._targets, self._queues, strict=True)
        ]

    async def on_event(self, event: Event, session: SessionInfo) -> None:
        """Ring and queue "Letdown detected" for a new letdown; returns at once."""
        if event.label != "letdown" or event.complete:
            return
        self._letdowns += 1
        last = self._last_sent_s
        if last is not None and event.detected_s - last < self.min_interval_s:
            log.info(
                "letdown %d at %.1f s: no notification, %.0f s after the previous one",
                self._letdowns,
                event.detected_s,
                event.detected_s - last,
            )
            return
        self._last_sent_s = event.detected_s
        self._ring()
        local = session.utc_at(event.detected_s).astimezone()
        self._queue(
            letdown_message(
                self._letdowns, event.detected_s, local, self.mood_url, self.include_mood
            )
        )

    async def on_status(self, status: SessionStatus, session: SessionInfo) -> None:
        """Status snapshots are not notified."""

    async def stop(self, summary: SessionSummary, session: SessionInfo) -> None:
        """Queue the summary (if on), wait up to ``drain_timeout_s`` for delivery, stop."""
        if self.summary:
            self._queue(summary_message(summary, session.kind))
        try:
            await asyncio.wait_for(
                asyncio.gather(*(q.join() for q in self._queues)), self.drain_timeout_s
            )
        except asyncio.TimeoutError:
            left = sum(q.qsize() for q in self._queues)
            log.warning("notifications: gave up at session end; %d queued messages not sent", left)
        finally:
            for worker in self._workers:
                worker.cancel()
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)

    def _ring(self) -> None:
        if self.bell is None:
            return
        try:
            self.bell.write("\a")
            self.bell.flush()
        except (OSError, ValueError):
            self.bell = None

    def _queue(self, message: Message) -> None:
        now = time.monotonic()
        for target, queue in zip(self._targets, self._queues, strict=True):
            if queue.full():
                queue.get_nowait()
                queue.task_done()
                log.warning("notifications to %s are backed up; dropped the oldest", target.name)
            queue.put_nowait((message, now))

    async def _work(self, target: Target, queue: asyncio.Queue[tuple[Message, float]]) -> None:
        while True:
            message, queued = await queue.get()
            try:
                await self._deliver(target, message, queued)
            except Exception:
                # Our bug, but a notification must never take the session down.
                log.exception("notification to %s crashed", target.name)
            finally:
                queue.task_done()

    async def _deliver(self, target: Target, message: Message, queued: float) -> None:
        loop = asyncio.get_running_loop()
        for attempt in range(1, self.retries + 2):
            outcome = await loop.run_in_executor(self._executor, target.send, message)
            if outcome.ok or attempt > self.retries:
                break
            delay_s = self.backoff_s * 2 ** (attempt - 1)
            log.warning(
                "notification to %s failed (attempt %d of %d, retry in %.1f s): %s",
                target.name,
                attempt,
                self.retries + 1,
                delay_s,
                outcome.reason,
            )
            await asyncio.sleep(delay_s)
        if not outcome.ok:
            log.error("notification to %s not delivered: %s", target.name, outcome.reason)
        latency_s = time.monotonic() - queued
        self.deliveries.append(Delivery(target.name, message.title, outcome, attempt, latency_s))
