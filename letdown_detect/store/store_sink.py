"""StoreSink: every live session, its letdowns and felt marks land in the session store.

Writes go through a :class:`StoreWorker`: a :class:`~letdown_detect.store.writer.StoreWriter`
run on a thread of its own, so SQLite never blocks the session's event loop,
and a locked or broken database delays the writes (and finally rescues them
to a file) instead of stopping the session.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..model import Event
from ..sinks.base import (
    FeltMarked,
    LetdownCompleted,
    LetdownDetected,
    LetdownRetracted,
    SessionInfo,
    SessionSummary,
    Sink,
    Status,
)
from .writer import StoreWriter


class StoreWorker:
    """A :class:`StoreWriter` on its own thread: ``submit`` queues and returns at once.

    Writes keep their order; the thread ends when the last holder releases
    the writer (the store sink and the mood sink share one).

    Args:
        writer: the writer the thread drives.
    """

    def __init__(self, writer: StoreWriter) -> None:
        self.writer = writer
        self.path = writer.path
        self._jobs: queue.Queue[Callable[[], Any] | None] = queue.Queue()
        self._holders = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, writer: StoreWorker | StoreWriter) -> StoreWorker:
        """The one worker of ``writer`` (sinks sharing a writer share its thread)."""
        if isinstance(writer, StoreWorker):
            return writer
        worker = getattr(writer, "_letdown_worker", None)
        if worker is None:
            worker = cls(writer)
            writer._letdown_worker = worker  # type: ignore[attr-defined]
        return worker

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def _do(self, job: Callable[[], Any]) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="letdown-store", daemon=True)
                self._thread.start()
        self._jobs.put(job)

    def submit(self, op: str, now_s: float, **kwargs: object) -> None:
        """Queue ``Store.<op>(**kwargs)`` (``now_s``: session time, s, paces retries)."""
        self._do(lambda: self.writer.submit(op, now_s, **kwargs))

    def flush(self, now_s: float | None = None) -> None:
        """Queue a retry of the writes the database refused earlier."""
        self._do(lambda: self.writer.flush(now_s))

    def drain(self, timeout_s: float = 10.0) -> bool:
        """Block until every write queued so far was tried; False on timeout."""
        if self._thread is None:
            return True
        done = threading.Event()
        self._do(done.set)
        return done.wait(timeout_s)

    def hold(self) -> None:
        """A sink starts using this worker."""
        self._holders += 1

    def release(self, timeout_s: float = 10.0) -> Path | None:
        """A sink is done; the last one closes the writer and waits for the thread."""
        self._holders = max(0, self._holders - 1)
        if self._holders:
            return None
        done: list[Path | None] = []
        self._do(lambda: done.append(self.writer.close()))
        self._jobs.put(None)
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        return done[0] if done else None


def event_fields(event: Event) -> dict[str, object]:
    """The ``Store.add_event`` arguments for an event (times in s, flow in mL/s)."""
    return {
        "label": event.label,
        "onset_s": event.onset_s,
        "detected_s": event.detected_s,
        "end_s": event.end_s,
        "peak_flow_ml_s": event.peak_flow_ml_s,
        "volume_ml": event.volume_ml,
        "channel": event.channel,
        "score": event.score,
    }


class StoreSink(Sink):
    """Live-session sink that stores the session, letdowns (both versions) and felt marks.

    Args:
        writer: the store worker, shared with the mood sink (a plain
            ``StoreWriter`` is wrapped in one).
    """

    def __init__(self, writer: StoreWorker | StoreWriter) -> None:
        self.writer = StoreWorker.of(writer)
        self._session: SessionInfo | None = None

    async def start(self, session: SessionInfo) -> None:
        """Create the session row (with the recording's CSV path, so ``import`` finds it)."""
        self._session = session
        self.writer.hold()
        self.writer.submit(
            "add_session",
            0.0,
            session_id=session.session_id,
            start_utc=session.start_utc.isoformat(),
            kind=session.kind,
            source=session.source,
            recording_path=None if session.recording is None else str(session.recording.resolve()),
        )

    def _add(self, event: Event) -> None:
        assert self._session is not None
        self.writer.submit(
            "add_event",
            event.detected_s,
            session_id=self._session.session_id,
            **event_fields(event),
        )

    async def on_letdown_detected(self, e: LetdownDetected) -> None:
        """Store a letdown at detection."""
        self._add(e.event)

    async def on_letdown_completed(self, e: LetdownCompleted) -> None:
        """The complete version replaces the first."""
        self._add(e.event)

    async def on_felt_marked(self, e: FeltMarked) -> None:
        """Store a felt mark."""
        self._add(e.event)

    async def on_letdown_retracted(self, e: LetdownRetracted) -> None:
        """A retracted rise takes its stored letdown back."""
        assert self._session is not None
        self.writer.submit(
            "retract_event",
            e.event.detected_s,
            session_id=self._session.session_id,
            onset_s=e.event.onset_s,
        )

    async def on_status(self, e: Status) -> None:
        """Retry writes the database refused earlier."""
        self.writer.flush(e.status.t_s)

    async def stop(self, summary: SessionSummary) -> None:
        """Store the complete letdowns, the end time, duration and volume; release the writer."""
        session = self._session
        assert session is not None
        for event in (*summary.letdowns, *summary.felt):
            self._add(event)
        self.writer.submit(
            "end_session",
            summary.duration_s,
            session_id=session.session_id,
            end_utc=session.utc_at(summary.duration_s).isoformat(),
            duration_s=summary.duration_s,
            volume_ml=summary.volume_ml,
        )
        await released(self.writer)


async def released(writer: StoreWorker) -> None:
    """Release ``writer`` without blocking the event loop while its thread finishes."""
    import asyncio

    await asyncio.to_thread(writer.release)
