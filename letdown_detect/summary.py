"""What a pumping session amounted to: letdowns, volume, and when pumping stopped paying off."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .model import Event, SessionSummary

#: Below this total, mL, a "time to 80% of the volume" would describe noise.
MIN_VOLUME_ML = 1.0


def time_to_fraction(
    t_s: Sequence[float], volume_ml: Sequence[float], fraction: float = 0.8
) -> float | None:
    """Session time by which ``fraction`` of the final volume had come, s.

    Args:
        t_s: increasing session times, s.
        volume_ml: volume expressed by then, mL (same length).
        fraction: share of the final volume, 0-1.

    Returns:
        The first time the volume reached ``fraction`` of its last value, or
        ``None`` when less than ``MIN_VOLUME_ML`` came (sensor noise, not milk).

    >>> time_to_fraction([0, 60, 120, 180], [0.0, 40.0, 80.0, 100.0])
    120.0
    """
    v = np.asarray(volume_ml, dtype=float)
    if v.size == 0 or not np.isfinite(v[-1]) or v[-1] < MIN_VOLUME_ML:
        return None
    reached = np.flatnonzero(v >= fraction * v[-1])
    return float(np.asarray(t_s, dtype=float)[reached[0]])


def count_gaps(t_s: np.ndarray, previous_s: float | None, gap_s: float) -> int:
    """Silences longer than ``gap_s`` in ``t_s`` (and since ``previous_s``), the one
    definition of a gap: the detector's own ``DetectorConfig.gap_s``, beyond which
    the resampler stops bridging.

    >>> count_gaps(np.array([3.0, 3.1, 5.0]), 1.0, 1.5)
    2
    """
    gaps = int((np.diff(t_s) > gap_s).sum())
    if previous_s is not None and t_s.size and t_s[0] - previous_s > gap_s:
        gaps += 1
    return gaps


class LetdownNumbers:
    """One numbering of a session's letdowns, shared by every sink through the events.

    Letdown #n is the n-th kept (not retracted) letdown by onset, which is how
    the summary lists them; a retracted rise gives its number back, so the
    next letdown detected gets it.
    """

    def __init__(self) -> None:
        self._kept: dict[tuple[str, float], Event] = {}

    @staticmethod
    def _key(event: Event) -> tuple[str, float]:
        return (event.channel, round(event.onset_s, 6))

    def _rank(self, event: Event) -> int:
        return 1 + sum(e.onset_s < event.onset_s for e in self._kept.values())

    def keep(self, event: Event) -> int:
        """A letdown detected or completed: its number."""
        self._kept[self._key(event)] = event
        return self._rank(event)

    def retract(self, event: Event) -> int:
        """A rise taken back: the number it had (0 if it was never announced)."""
        key = self._key(event)
        if key not in self._kept:
            return 0
        number = self._rank(self._kept[key])
        del self._kept[key]
        return number

    def letdowns(self) -> list[Event]:
        """The kept letdowns (newest version of each), by onset."""
        return sorted(self._kept.values(), key=lambda e: e.onset_s)


def summarize(
    duration_s: float,
    letdowns: Sequence[Event],
    volume_curve: Sequence[tuple[float, float]],
    felt: Sequence[Event] = (),
) -> SessionSummary:
    """Build the session summary.

    Args:
        duration_s: session length, s.
        letdowns: the newest version of each detected letdown.
        volume_curve: ``(t_s, volume_ml)`` pairs, increasing in time (about one a second).
        felt: the parent's own "I feel a letdown" marks.
    """
    ordered = tuple(sorted(letdowns, key=lambda e: e.onset_s))
    t = [p[0] for p in volume_curve]
    v = [p[1] for p in volume_curve]
    volume = float(v[-1]) if v and np.isfinite(v[-1]) else 0.0
    return SessionSummary(
        duration_s=duration_s,
        letdowns=ordered,
        volume_ml=volume,
        time_to_first_letdown_s=ordered[0].onset_s if ordered else None,
        time_to_80pct_volume_s=time_to_fraction(t, v, 0.8),
        felt=tuple(sorted(felt, key=lambda e: e.onset_s)),
    )


def clock_text(t_s: float | None, decimals: int = 0) -> str:
    """Session seconds as ``m:ss`` (or ``h:mm:ss``), with ``decimals`` of a second; ``-``
    when unknown. An onset found just before the session start is negative.

    >>> clock_text(75.4), clock_text(3725.0), clock_text(None), clock_text(-2.3, 1)
    ('1:15', '1:02:05', '-', '-0:02.3')
    """
    if t_s is None or not np.isfinite(t_s):
        return "-"
    scale = 10**decimals
    total = round(abs(t_s) * scale) if decimals else int(abs(t_s))
    hours, rest = divmod(total, 3600 * scale)
    minutes, seconds = divmod(rest, 60 * scale)
    width = 2 + (decimals + 1 if decimals else 0)
    secs = f"{seconds / scale:0{width}.{decimals}f}"
    sign = "-" if t_s < 0 else ""
    return f"{sign}{hours}:{minutes:02d}:{secs}" if hours else f"{sign}{minutes}:{secs}"


def format_summary(summary: SessionSummary) -> list[str]:
    """The summary as plain lines for a terminal or a text file."""
    lines = [
        f"Session: {clock_text(summary.duration_s)}, {summary.volume_ml:.0f} mL in total, "
        f"{len(summary.letdowns)} letdown{'s' if len(summary.letdowns) != 1 else ''}.",
        f"First letdown after {clock_text(summary.time_to_first_letdown_s)}"
        if summary.letdowns
        else "No letdown detected.",
    ]
    for number, event in enumerate(summary.letdowns, 1):
        volume = "" if event.volume_ml is None else f", {event.volume_ml:.1f} mL"
        peak = f"peak {event.peak_flow_ml_s:.2f} mL/s"
        lines.append(f"  #{number} at {clock_text(event.onset_s)}: {peak}{volume}")
    if summary.time_to_80pct_volume_s is not None:
        lines.append(
            f"80% of the milk had come by {clock_text(summary.time_to_80pct_volume_s)} "
            "(pumping much longer than this adds little)."
        )
    if summary.felt:
        marks = ", ".join(clock_text(e.onset_s) for e in summary.felt)
        lines.append(f"You marked a felt letdown at {marks}.")
    return lines
