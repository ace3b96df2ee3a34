"""One recording analysed: detected letdowns, the flow estimate and the session summary.

Shared by ``letdown batch``, ``plot``, ``report`` and ``evaluate`` so every tool
reports the same numbers. Pure computation: the caller loads the recording.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..model import Event
from ..params import DetectorConfig
from ..recording import Recording
from ..sinks.base import SessionSummary
from ..summary import summarize


@dataclass(frozen=True)
class Analysis:
    """What the detector found in one recording."""

    events: list[Event]
    """Complete detected letdowns, in onset order."""
    flow: pd.DataFrame | None
    """``t_s`` and the smoothed flow per channel (``flow_ml_s`` = total), mL/s;
    ``None`` when not asked for."""
    summary: SessionSummary
    """Duration, letdowns, volume, time to first letdown and (with flow) to 80% of the volume."""


def analyse(
    recording: Recording, config: DetectorConfig | None = None, with_flow: bool = True
) -> Analysis:
    """Detect letdowns over a whole recording and summarise the session.

    The total volume is the pipeline's own (the number a live session reports);
    the flow estimate (a second pass, for plots and the time to 80% of the
    volume) is skipped when ``with_flow`` is False, which halves the work in
    batch runs.

    Args:
        recording: a loaded session.
        config: detector parameters (default: the detector's defaults).
        with_flow: also compute the flow estimate and the time to 80% of the volume.
    """
    from ..pipeline import Pipeline, flow_frame, run_blocks

    pipeline = Pipeline(recording.channels, recording.meta.calibration, config)
    events = run_blocks(pipeline, [recording.to_block()])
    flow = flow_frame(recording, config) if with_flow else None
    duration_s = float(recording.data["t_s"].iloc[-1])
    curve = [] if flow is None else _volume_curve(flow, pipeline.config.rate_hz)
    summary = summarize(duration_s, [e for e in events if e.label == "letdown"], curve)
    return Analysis(events, flow, replace(summary, volume_ml=pipeline.status.volume_ml))


def _volume_curve(flow: pd.DataFrame, rate_hz: float) -> list[tuple[float, float]]:
    """``(t_s, mL so far)`` pairs from a flow frame on a ``rate_hz`` grid."""
    volume = cumulative_volume(flow, rate_hz)
    return list(zip(flow["t_s"].to_numpy(float), volume, strict=True))


def cumulative_volume(flow: pd.DataFrame, rate_hz: float | None = None) -> np.ndarray:
    """Milk expressed since the start at each ``t_s`` of ``flow``, all channels summed, mL.

    The same definition as the live status and the summary
    (:class:`~letdown_detect.conditioning.volume.SessionVolume`): the ``flow_ml_s``
    column (the total when double pumping) integrated with its sign on the grid,
    never decreasing; missing flow (NaN, a gap) counts as none.

    Args:
        flow: a flow frame (``t_s`` on the grid, ``flow_ml_s``).
        rate_hz: the grid rate, Hz (default: the detector's grid, ``DetectorConfig.rate_hz``).

    >>> flow = pd.DataFrame({"t_s": [0.0, 1.0, 2.0, 3.0], "flow_ml_s": [0.0, 2.0, 2.0, -9.0]})
    >>> cumulative_volume(flow, rate_hz=1.0).tolist()
    [0.0, 2.0, 4.0, 4.0]
    """
    from ..conditioning.volume import SessionVolume

    t = flow["t_s"].to_numpy(float)
    if t.size < 2:
        return np.zeros(t.size)
    rate = rate_hz if rate_hz is not None else DetectorConfig().rate_hz
    return SessionVolume(rate).process(flow["flow_ml_s"].to_numpy(float))


def summary_row(summary: SessionSummary) -> dict[str, float | int | None]:
    """A summary as one table row (units in the column names)."""
    volumes = [e.volume_ml for e in summary.letdowns if e.volume_ml is not None]
    return {
        "duration_s": summary.duration_s,
        "letdowns": len(summary.letdowns),
        "time_to_first_letdown_s": summary.time_to_first_letdown_s,
        "volume_ml": summary.volume_ml,
        "mean_volume_per_letdown_ml": float(np.mean(volumes)) if volumes else None,
    }
