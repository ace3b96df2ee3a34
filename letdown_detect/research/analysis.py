"""One recording analysed: detected letdowns, the flow estimate and the session summary.

Shared by ``letdown batch``, ``plot``, ``report`` and ``evaluate`` so every tool
reports the same numbers. Pure computation: the caller loads the recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..model import Event
from ..recording import Recording
from ..sinks.base import SessionSummary
from ..summary import summarize

if TYPE_CHECKING:
    from ..params import DetectorConfig


@dataclass(frozen=True)
class Analysis:
    """What the detector found in one recording."""

    events: list[Event]
    """Complete detected letdowns, in onset order."""
    flow: pd.DataFrame
    """``t_s`` and the smoothed flow of each channel, mL/s."""
    summary: SessionSummary
    """Duration, letdowns, volume, time to first letdown and to 80% of the volume."""


def analyse(recording: Recording, config: DetectorConfig | None = None) -> Analysis:
    """Detect letdowns and estimate flow over a whole recording.

    Args:
        recording: a loaded session.
        config: detector parameters (default: the detector's defaults).
    """
    from ..pipeline import detect_recording, flow_frame

    events = sorted(detect_recording(recording, config), key=lambda e: e.onset_s)
    flow = flow_frame(recording, config)
    duration_s = float(recording.data["t_s"].iloc[-1])
    return Analysis(events, flow, summarize_flow(events, flow, duration_s))


def cumulative_volume(flow: pd.DataFrame) -> np.ndarray:
    """Milk expressed since the start at each ``t_s`` of ``flow``, all channels summed, mL.

    Uses the ``flow_ml_s`` column (the total when double pumping); missing flow
    (NaN, a gap) counts as none. Noise is integrated with its sign so it
    cancels, and the volume never decreases (a bottle lifted off at the end
    shows as a large negative flow, not as milk going back).

    >>> flow = pd.DataFrame({"t_s": [0.0, 1.0, 2.0, 3.0], "flow_ml_s": [0.0, 2.0, 2.0, -9.0]})
    >>> cumulative_volume(flow).tolist()
    [0.0, 1.0, 3.0, 3.0]
    """
    t = flow["t_s"].to_numpy(float)
    total = np.nan_to_num(flow["flow_ml_s"].to_numpy(float))
    if t.size < 2:
        return np.zeros(t.size)
    steps = 0.5 * (total[1:] + total[:-1]) * np.diff(t)
    return np.maximum.accumulate(np.concatenate([[0.0], np.cumsum(steps)]))


def summarize_flow(
    events: Sequence[Event], flow: pd.DataFrame, duration_s: float
) -> SessionSummary:
    """The session summary from detected letdowns and the flow estimate.

    Args:
        events: complete letdown events.
        flow: ``t_s`` and flow per channel, mL/s (negative flow counts as 0).
        duration_s: session length, s.

    >>> flow = pd.DataFrame({"t_s": [0.0, 10.0, 20.0], "flow_ml_s": [1.0, 1.0, 1.0]})
    >>> s = summarize_flow([], flow, 20.0)
    >>> (s.volume_ml, s.time_to_80pct_volume_s, s.time_to_first_letdown_s)
    (20.0, 20.0, None)
    """
    letdowns = [e for e in events if e.label == "letdown"]
    curve = zip(flow["t_s"].to_numpy(float), cumulative_volume(flow), strict=True)
    return summarize(float(duration_s), letdowns, list(curve))


def summary_row(summary: SessionSummary) -> dict[str, float | int | None]:
    """A summary as one table row (units in the column names)."""
    volumes = [e.volume_ml for e in summary.letdowns if e.volume_ml is not None]
    return {
        "duration_s": summary.duration_s,
        "letdowns": len(summary.letdowns),
        "time_to_first_letdown_s": summary.time_to_first_letdown_s,
        "volume_ml": summary.volume_ml,
        "mean_volume_per_letdown_ml": float(np.mean(volumes)) if volumes else None,
        "time_to_80pct_volume_s": summary.time_to_80pct_volume_s,
    }
