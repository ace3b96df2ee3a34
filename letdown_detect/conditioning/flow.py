"""One channel on the internal grid -> smoothed milk flow in mL/s."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..model import Channel
from .filters import RollingMedian, SosFilter


class FlowParams(Protocol):
    """The settings a flow estimator reads (see ``DetectorConfig`` for units and meaning)."""

    rate_hz: float
    median_s: float
    cutoff_hz: float
    max_step_ml_s: float
    max_fill_s: float


class FlowEstimator:
    """Causal flow estimate for one channel on a uniform grid.

    Cumulative channels (volume, weight, pressure) are scaled to mL, median
    filtered, differentiated with implausible jumps removed, then low-passed;
    flow channels are median filtered and low-passed. Gaps up to
    ``max_fill_s`` are bridged by interpolating the channel between the
    samples around them (for a cumulative channel: the mean flow across the
    gap); longer gaps give NaN and restart the filters.

    Args:
        channel: column name, e.g. ``weight_g_left``.
        ml_per_unit: millilitres per channel unit (1/g_per_ml, 1/pa_per_ml, 1).
        params: filter settings.
    """

    def __init__(self, channel: str, ml_per_unit: float, params: FlowParams) -> None:
        self.channel = channel
        self.ml_per_unit = ml_per_unit
        self.params = params
        self._cumulative = Channel(channel).is_cumulative
        window = max(1, int(round(params.median_s * params.rate_hz)) | 1)
        self._median = RollingMedian(window)
        self._lowpass = SosFilter(params.cutoff_hz, params.rate_hz)
        self.reset()

    @property
    def delay_s(self) -> float:
        """How late a rise shows in the output: median plus low-pass delay, s."""
        median_delay = (self._median.window - 1) / 2 / self.params.rate_hz
        return median_delay + self._lowpass.delay_s + (0.5 / self.params.rate_hz) * self._cumulative

    def reset(self) -> None:
        """Back to the just-built state."""
        self._median.reset()
        self._lowpass.reset()
        self._last_x: float | None = None  # newest finite input, channel units
        self._last_m: float | None = None  # newest median output, mL
        self._pending = np.empty(0)  # grid times of an unfinished gap
        self.steps_removed = 0
        """Implausible jumps cut out so far (tare, touches, lift-off)."""

    def process(self, t_s: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Feed grid samples (NaN = missing); get ``(t_s, flow_ml_s, raw_flow_ml_s)``.

        Samples inside a gap are returned once the gap ends (or is declared
        long), so the output may trail the input by the gap length.
        """
        t = np.concatenate([self._pending, t_s])
        x = np.concatenate([np.full(self._pending.size, np.nan), x])
        self._pending = np.empty(0)
        out_f = np.full(t.size, np.nan)
        out_r = np.full(t.size, np.nan)
        missing = ~np.isfinite(x)
        if not missing.any():
            out_f[:], out_r[:] = self._run(x)
            return t, out_f, out_r
        edges = np.flatnonzero(np.diff(np.r_[0, missing.view(np.int8), 0]))
        pos = 0
        max_fill = int(self.params.max_fill_s * self.params.rate_hz)
        for start, stop in zip(edges[::2], edges[1::2]):
            if start > pos:
                out_f[pos:start], out_r[pos:start] = self._run(x[pos:start])
            if stop == t.size and stop - start <= max_fill:  # gap still open: wait for its end
                self._pending = t[start:stop]
                return t[:start], out_f[:start], out_r[:start]
            if stop - start > max_fill or self._last_x is None:
                self._restart()
            else:
                fill = self._last_x + (x[stop] - self._last_x) * np.arange(1, stop - start + 1) / (
                    stop - start + 1
                )
                out_f[start:stop], out_r[start:stop] = self._run(fill)
            pos = stop
        if pos < t.size:
            out_f[pos:], out_r[pos:] = self._run(x[pos:])
        return t, out_f, out_r

    def _restart(self) -> None:
        """A long gap: flow is unknown, filters start afresh with the next sample."""
        self._median.reset()
        self._lowpass.reset()
        self._last_x = None
        self._last_m = None

    def _run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flow of a run of finite samples."""
        self._last_x = float(x[-1])
        m = self._median.process(x * self.ml_per_unit)
        if self._cumulative:
            prev = m[0] if self._last_m is None else self._last_m
            step = np.diff(np.r_[prev, m])
            jump = np.abs(step) > self.params.max_step_ml_s / self.params.rate_hz
            self.steps_removed += int(jump.sum())
            raw = np.where(jump, 0.0, step) * self.params.rate_hz
            self._last_m = float(m[-1])
        else:
            raw = m
        return self._lowpass.process(raw), raw
