"""Data that flows between stages: sample blocks, channels and letdown events.

Units ride in names: seconds (``_s``), mL/s (``_ml_s``), mL (``_ml``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

#: Channel kinds a sensor can deliver, with their units in the name.
CHANNEL_KINDS: tuple[str, ...] = ("flow_ml_s", "volume_ml", "weight_g", "pressure_pa")
#: Side suffixes for double pumping.
SIDES: tuple[str, ...] = ("_left", "_right")
#: Channel kinds that accumulate milk (differentiated to get flow).
CUMULATIVE_KINDS: frozenset[str] = frozenset({"volume_ml", "weight_g", "pressure_pa"})


@dataclass(frozen=True)
class Channel:
    """One named sensor channel, e.g. ``weight_g_left``."""

    name: str
    """Full column name as in the recording header."""

    @property
    def kind(self) -> str:
        """The channel kind without a side suffix (``weight_g``)."""
        for side in SIDES:
            if self.name.endswith(side):
                return self.name[: -len(side)]
        return self.name

    @property
    def side(self) -> str | None:
        """``"left"``, ``"right"`` or ``None`` for a single-sided channel."""
        for side in SIDES:
            if self.name.endswith(side):
                return side[1:]
        return None

    @property
    def is_cumulative(self) -> bool:
        """True when the channel accumulates milk (volume, weight, pressure)."""
        return self.kind in CUMULATIVE_KINDS

    @classmethod
    def parse(cls, name: str) -> Channel | None:
        """The channel for a column name, or ``None`` when it is not a known kind."""
        channel = cls(name)
        return channel if channel.kind in CHANNEL_KINDS else None


@dataclass(frozen=True)
class SampleBlock:
    """A chunk of timestamped samples; any length, empty included.

    ``values[i, j]`` is channel ``channels[j]`` at time ``t_s[i]``; NaN is a
    missing sample (a gap), never a value.
    """

    t_s: np.ndarray
    """Sample times, seconds since the session start, shape (n,)."""
    values: np.ndarray
    """Samples in each channel's own unit, shape (n, len(channels))."""
    channels: tuple[str, ...]
    """Column names with units, e.g. ``("weight_g",)``."""

    def __post_init__(self) -> None:
        t = np.asarray(self.t_s, dtype=float).reshape(-1)
        v = np.asarray(self.values, dtype=float).reshape(t.size, len(self.channels))
        object.__setattr__(self, "t_s", t)
        object.__setattr__(self, "values", v)

    def __len__(self) -> int:
        return int(self.t_s.size)

    def column(self, name: str) -> np.ndarray:
        """The samples of one channel, shape (n,)."""
        return self.values[:, self.channels.index(name)]

    def split(self, sizes: list[int]) -> list[SampleBlock]:
        """Cut into consecutive blocks of the given sizes (the rest goes last)."""
        out, start = [], 0
        for size in [*sizes, len(self)]:
            stop = min(start + size, len(self))
            out.append(SampleBlock(self.t_s[start:stop], self.values[start:stop], self.channels))
            start = stop
        return out


@dataclass(frozen=True)
class Event:
    """One letdown (or a marked moment), with times in seconds since session start.

    A streaming detector emits each letdown twice: once at ``detected_s`` with
    ``end_s`` still ``None`` (for live sinks), and once complete, when its
    flow has fallen away or the stream ended (``end_s`` and ``volume_ml`` set).
    """

    onset_s: float
    """When flow started to rise (found by looking back), s."""
    detected_s: float
    """Time of the sample that made the detector sure, s."""
    peak_flow_ml_s: float
    """Highest smoothed flow during the letdown so far, mL/s."""
    channel: str
    """Channel it was seen on; ``"both"`` for a fused double-pumping letdown."""
    score: float
    """Rise above the detection threshold at detection (1.0 = just at it)."""
    end_s: float | None = None
    """When flow fell back or the next letdown began, s; ``None`` while running."""
    volume_ml: float | None = None
    """Milk expressed between onset and end, mL; ``None`` while running."""
    label: str = "letdown"
    """``letdown``, ``felt_letdown``, ``mood``, or ``retracted`` for a detected rise that
    collapsed within seconds (an artifact, reported so live views can take it back)."""
    side_onsets_s: dict[str, float] = field(default_factory=dict)
    """Onset per side (``{"left": 61.2, "right": 62.0}``) when double pumping, s."""
    one_sided: bool = False
    """True when only one side of a double pumping session showed this letdown."""

    @property
    def complete(self) -> bool:
        """True once end time and volume are known."""
        return self.end_s is not None

    @property
    def latency_s(self) -> float:
        """Detection latency: ``detected_s - onset_s``, s."""
        return self.detected_s - self.onset_s

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict in the ``letdown detect --json`` field names."""
        out: dict[str, object] = {
            "onset_s": round(self.onset_s, 3),
            "detected_s": round(self.detected_s, 3),
            "peak_flow_ml_s": round(self.peak_flow_ml_s, 4),
            "channel": self.channel,
            "end_s": None if self.end_s is None else round(self.end_s, 3),
            "volume_ml": None if self.volume_ml is None else round(self.volume_ml, 2),
            "score": round(self.score, 3),
            "label": self.label,
        }
        if self.side_onsets_s:
            out["side_onsets_s"] = {k: round(v, 3) for k, v in self.side_onsets_s.items()}
            out["one_sided"] = self.one_sided
        return out


@dataclass(frozen=True)
class SessionInfo:
    """Who and what a live session is (known once its source is open)."""

    session_id: str
    """Random id, also used in file and topic names."""
    start_utc: datetime
    """Session start (t_s = 0), timezone-aware UTC."""
    source: str
    """Human description of the source, e.g. ``serial:/dev/ttyACM0``."""
    kind: str = "pumping"
    """``pumping`` or ``nursing``."""
    recording: Path | None = None
    """The recording's CSV (``NAME.csv``) when one is written."""
    channels: tuple[str, ...] = ()
    """Sensor channels, e.g. ``("weight_g",)``; empty for a nursing session."""
    sample_rate_hz: float | None = None
    """Nominal sample rate the device announced, Hz."""
    device: str | None = None
    """Free text naming the sensor or firmware."""
    calibration: dict[str, float] = field(default_factory=dict)
    """``g_per_ml`` / ``pa_per_ml`` as announced by the device."""

    def utc_at(self, t_s: float) -> datetime:
        """The UTC time of session time ``t_s`` (seconds)."""
        return self.start_utc + timedelta(seconds=t_s)

    def local_text(self, t_s: float) -> str:
        """Session time ``t_s`` as local wall-clock time ``HH:MM:SS``."""
        return self.utc_at(t_s).astimezone().strftime("%H:%M:%S")


@dataclass(frozen=True)
class SessionStatus:
    """A snapshot of a running session, sent about once a second."""

    t_s: float
    """Session time of the newest sample (or of the host clock without samples), s."""
    flow_ml_s: float | None
    """Current smoothed flow (both sides summed), mL/s; None before the filters settle."""
    volume_ml: float
    """Milk expressed so far, mL."""
    letdowns: int
    """Letdowns detected so far (retracted rises not counted)."""
    lost_frames: int = 0
    """Frames missing from the device's sequence numbers."""
    crc_errors: int = 0
    """Frames dropped for a bad checksum."""
    reconnects: int = 0
    """Times the link was restored."""
    gaps: int = 0
    """Silences between samples longer than ``DetectorConfig.gap_s``."""
    connected: bool = True
    """False while the link is down."""
    down_s: float = 0.0
    """How long the link has been down, host seconds (0 while connected)."""


@dataclass(frozen=True)
class SessionSummary:
    """What a session amounted to, sent once when it stops."""

    duration_s: float
    """Session length, s."""
    letdowns: tuple[Event, ...]
    """Complete letdown events, in order: letdown #n is ``letdowns[n - 1]``."""
    volume_ml: float
    """Milk expressed, mL (see :func:`letdown_detect.summary.cumulative_volume`)."""
    time_to_first_letdown_s: float | None
    """Onset of the first letdown, s."""
    time_to_80pct_volume_s: float | None
    """Session time by which 80% of the volume had come, s (when to stop pumping)."""
    felt: tuple[Event, ...] = field(default_factory=tuple)
    """The parent's own felt-letdown marks, in order."""
