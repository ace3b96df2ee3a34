"""What a live session tells its sinks (console, recorder, notifications, mood, MQTT).

``live.py`` calls these hooks from its event loop. A hook must return quickly:
a sink that talks to the network or a user hands work to its own queue/worker,
so a slow sink never delays detection or recording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from ..model import Event


@dataclass(frozen=True)
class SessionInfo:
    """Who and what a live session is."""

    session_id: str
    """Random id, also used in file and topic names."""
    start_utc: datetime
    """Session start (t_s = 0), timezone-aware UTC."""
    source: str
    """Human description of the source, e.g. ``serial:/dev/ttyACM0``."""
    kind: str = "pumping"
    """``pumping`` or ``nursing``."""
    record_dir: Path | None = None
    """Folder the recording is written to, if any."""
    channels: tuple[str, ...] = ()
    """Sensor channels, e.g. ``("weight_g",)``."""

    def utc_at(self, t_s: float) -> datetime:
        """The UTC time of session time ``t_s`` (seconds)."""
        return self.start_utc + timedelta(seconds=t_s)


@dataclass(frozen=True)
class SessionStatus:
    """A snapshot of a running session, sent about once a second."""

    t_s: float
    """Session time of the newest sample, s."""
    flow_ml_s: float | None
    """Current smoothed flow (both sides summed), mL/s; None before the filters settle."""
    volume_ml: float
    """Milk expressed so far, mL."""
    letdowns: int
    """Letdowns detected so far."""
    lost_frames: int = 0
    crc_errors: int = 0
    reconnects: int = 0
    gaps: int = 0
    connected: bool = True


@dataclass(frozen=True)
class SessionSummary:
    """What a session amounted to, sent once when it stops."""

    duration_s: float
    letdowns: tuple[Event, ...]
    """Complete letdown events, in order."""
    volume_ml: float
    time_to_first_letdown_s: float | None
    time_to_80pct_volume_s: float | None
    """Session time by which 80% of the volume had come, s (when to stop pumping)."""
    felt: tuple[Event, ...] = field(default_factory=tuple)


class SessionControl(Protocol):
    """What a sink may ask of the running session (given to ``Sink.start``)."""

    def now_s(self) -> float:
        """Current session time, s."""

    def mark_felt(self, source: str) -> None:
        """Record "I feel a letdown now" (a ``felt_letdown`` event) from ``source``."""

    def status(self) -> SessionStatus:
        """The latest status snapshot."""

    def letdowns(self) -> list[Event]:
        """Letdowns detected so far (newest version of each)."""


class Sink(Protocol):
    """A live-session consumer. All hooks are awaited on the session's event loop."""

    async def start(self, session: SessionInfo, control: SessionControl) -> None:
        """The session began."""

    async def on_event(self, event: Event, session: SessionInfo) -> None:
        """A letdown was detected (``end_s is None``), completed, or a felt mark arrived."""

    async def on_status(self, status: SessionStatus, session: SessionInfo) -> None:
        """About once a second."""

    async def stop(self, summary: SessionSummary, session: SessionInfo) -> None:
        """The session ended (also after Ctrl-C); flush and release resources."""
