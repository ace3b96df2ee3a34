"""StoreSink: every live session, its letdowns and felt marks land in the session store.

Writes go through a :class:`~letdown_detect.store.writer.StoreWriter`, so a
locked or broken database delays them (and finally rescues them to a file)
instead of stopping the session.
"""

from __future__ import annotations

from ..model import Event
from ..sinks.base import SessionControl, SessionInfo, SessionStatus, SessionSummary
from .writer import StoreWriter


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


class StoreSink:
    """Live-session sink that stores the session, letdowns (both versions) and felt marks.

    Args:
        writer: the store writer, shared with the mood sink.
    """

    def __init__(self, writer: StoreWriter) -> None:
        self.writer = writer

    async def start(self, session: SessionInfo, control: SessionControl) -> None:
        """Create the session row."""
        self.writer.hold()
        self.writer.submit(
            "add_session",
            0.0,
            session_id=session.session_id,
            start_utc=session.start_utc.isoformat(),
            kind=session.kind,
            source=session.source,
            recording_path=None if session.record_dir is None else str(session.record_dir),
        )

    async def on_event(self, event: Event, session: SessionInfo) -> None:
        """Store a letdown (the complete version replaces the first) or a felt mark; a
        retracted rise takes its stored letdown back."""
        if event.label == "retracted":
            self.writer.submit(
                "retract_event",
                event.detected_s,
                session_id=session.session_id,
                onset_s=event.onset_s,
            )
        elif event.label in ("letdown", "felt_letdown"):
            self.writer.submit(
                "add_event", event.detected_s, session_id=session.session_id, **event_fields(event)
            )

    async def on_status(self, status: SessionStatus, session: SessionInfo) -> None:
        """Retry writes the database refused earlier."""
        self.writer.flush(status.t_s)

    async def stop(self, summary: SessionSummary, session: SessionInfo) -> None:
        """Store the complete letdowns, the end time, duration and volume; release the writer."""
        for event in (*summary.letdowns, *summary.felt):
            await self.on_event(event, session)
        self.writer.submit(
            "end_session",
            summary.duration_s,
            session_id=session.session_id,
            end_utc=session.utc_at(summary.duration_s).isoformat(),
            duration_s=summary.duration_s,
            volume_ml=summary.volume_ml,
        )
        self.writer.release()
