"""One look at a session's stream: the flow estimators of its detection channels, all
with one low-pass, and a detector on their summed flow (``Pipeline`` runs a fast and a
slow one, ``DetectorConfig.slow_look``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .conditioning.flow import FlowEstimator
from .conditioning.resolution import Resolution
from .detection.detector import LetdownDetector
from .model import Event
from .params import DetectorConfig


class LookFlow(NamedTuple):
    """A look's flow estimate of a block: one row per detection channel."""

    t_s: np.ndarray
    """Grid times, s."""
    flow_ml_s: np.ndarray
    """Smoothed flow, mL/s."""
    delay_s: np.ndarray
    """How late each sample shows a change, s."""
    known_s: np.ndarray
    """When each grid time's samples became known (all channels), s: later than ``t_s``
    on a gap's bridge and the samples after it that the bridge needed."""

    def summed(self) -> tuple[np.ndarray, np.ndarray]:
        """The channels' summed flow (mL/s) and how late it shows a change (s)."""
        return self.flow_ml_s.sum(axis=0), summed_delay(self.delay_s)


class Look:
    """One look at the stream: a flow estimator per detection channel, all with this look's
    low-pass, and a detector on their summed flow.

    Args:
        name: the channel named in events (``both`` for a double pump's fused sum).
        channels: the detection channels.
        scales: millilitres per unit of each (``pipeline.ml_per_unit``).
        config: this look's settings (``DetectorConfig.slow_look()`` for the slow one).
        resolution: the sensor's resolution, shared by the looks (the floor under the bar).
    """

    def __init__(
        self,
        name: str,
        channels: Sequence[str],
        scales: Sequence[float],
        config: DetectorConfig,
        resolution: Resolution,
    ) -> None:
        self.flows = [
            FlowEstimator(c, scale, config) for c, scale in zip(channels, scales, strict=True)
        ]
        self.detector = LetdownDetector(name, config, self.flows[0].delay_s)
        self.resolution = resolution
        # The floor per mL of the sensor's step, mL/s, and the step under which the floor
        # stays below min_rise_ml_s for good (the resolution need not be measured finer).
        self._bump = config.quantum_frac * self.flows[0].step_bump if config.quantum_frac else 0.0
        self.fine_ml = config.min_rise_ml_s / self._bump if self._bump > 0 else np.inf
        self._half_bin = 0.5 / config.rate_hz
        self.reset()

    @property
    def delay_s(self) -> float:
        """How late this look's flow shows a change while no pump cycle is measured, s."""
        return self.flows[0].delay_s

    def reset(self) -> None:
        """Back to the just-built state."""
        for stage in [*self.flows, self.detector]:
            stage.reset()
        self._queues: list[list[np.ndarray]] = [[] for _ in self.flows]
        self.taken_s = -np.inf  # the newest grid time the detector has taken, s

    def estimate(self, t_grid: np.ndarray, v_grid: np.ndarray) -> LookFlow:
        """Grid samples (times, s; one column per channel) through the flow estimators."""
        if t_grid.size == 0:  # most live samples: the grid bin is still filling
            empty = np.empty((len(self.flows), 0))
            return LookFlow(t_grid, empty, empty, t_grid)
        outs = [flow.process_known(t_grid, v_grid[:, k]) for k, flow in enumerate(self.flows)]
        if len(outs) == 1:
            t, flow, delay, known = outs[0]
            return LookFlow(t, flow[None, :], delay[None, :], known)
        # Each side's estimator may hold back samples around its own gaps: emit the grid
        # times every side has produced, keep the rest queued.
        for queue, out in zip(self._queues, outs, strict=True):
            queue.append(np.vstack(out))
        stacked = [np.hstack(q) for q in self._queues]
        n = min(s.shape[1] for s in stacked)
        self._queues = [[s[:, n:]] for s in stacked]
        return LookFlow(
            t_s=stacked[0][0, :n],
            flow_ml_s=np.vstack([s[1, :n] for s in stacked]),
            delay_s=np.vstack([s[2, :n] for s in stacked]),
            known_s=np.max([s[3, :n] for s in stacked], axis=0),
        )

    def detect(
        self, flow: LookFlow, total: np.ndarray, late: np.ndarray, floor: np.ndarray
    ) -> list[tuple[float, Event]]:
        """The detector on the channels' summed flow (mL/s), its delay (s) and the floor
        under the bar (mL/s, ``floor``): events, each with the grid time that decided it."""
        if flow.t_s.size:
            self.taken_s = float(flow.t_s[-1])
        return self.detector.process_timed(flow.t_s, total, late, flow.known_s, floor)

    def floor(self, t_s: np.ndarray) -> np.ndarray:
        """The sensor's floor under this look's bar at grid times ``t_s``, mL/s: the flow
        bump ``quantum_frac`` of its smallest step makes (none for flow channels)."""
        if self._bump == 0.0:
            return np.zeros(t_s.size)
        return self._bump * self.resolution.at(t_s + self._half_bin)

    def run(self, t_grid: np.ndarray, v_grid: np.ndarray) -> list[tuple[float, Event]]:
        """``estimate`` then ``detect`` on the channels' sum."""
        flow = self.estimate(t_grid, v_grid)
        if flow.t_s.size == 0:
            return []
        return self.detect(flow, *flow.summed(), self.floor(flow.t_s))


def summed_delay(delay: np.ndarray) -> np.ndarray:
    """How late the summed flow of the channels shows a change, s, from each channel's
    (rows of ``delay``): sides are smoothed alike (their pump is one), so their mean."""
    return delay[0] if len(delay) == 1 else delay.mean(axis=0)
