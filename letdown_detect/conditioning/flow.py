"""One channel on the internal grid -> smoothed milk flow in mL/s."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..model import Channel
from ._windows import windows
from .filters import RollingStat, SosFilter
from .steps import StepRemover

#: Widest window (in grid samples) searched for artifact jumps on cumulative channels.
_JUMP_LAGS = 5


class FlowParams(Protocol):
    """The settings a flow estimator reads (see ``DetectorConfig`` for units and meaning)."""

    rate_hz: float
    median_s: float
    spike_s: float
    cutoff_hz: float
    cumulative_cutoff_hz: float
    max_step_ml_s: float
    step_ml: float
    step_window_s: float
    touch_s: float
    max_fill_s: float


class FlowEstimator:
    """Causal flow estimate for one channel on a uniform grid.

    Cumulative channels (volume, weight, pressure) are scaled to mL, cleared
    of artifact steps, median filtered, differentiated with implausible jumps
    removed, then low-passed; flow channels lose their bubble spikes to an
    opening and are low-passed. Gaps up to
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
        window = max(1, round(params.median_s * params.rate_hz) | 1)
        self._median = RollingStat(window)
        # A flow sensor sees milk in spurts, one per pump cycle, often less than half of
        # it: a median would read the gaps between spurts. An opening (minimum, then
        # maximum) removes bubble spikes narrower than spike_s and keeps spurts whole.
        spike = max(1, round(params.spike_s * params.rate_hz) | 1)
        self._erode, self._dilate = RollingStat(spike, "min"), RollingStat(spike, "max")
        self._steps = StepRemover(
            params.step_ml,
            round(params.step_window_s * params.rate_hz),
            round(params.touch_s * params.rate_hz),
        )
        cutoff = params.cumulative_cutoff_hz if self._cumulative else params.cutoff_hz
        self._lowpass = SosFilter(cutoff, params.rate_hz)
        self.reset()

    @property
    def delay_s(self) -> float:
        """How late a rise shows in the output: median plus low-pass delay, s."""
        rate = self.params.rate_hz
        if not self._cumulative:  # a rise passes the opening once it is spike_s wide
            return (self._erode.window - 1) / rate + self._lowpass.delay_s
        median_delay = (self._median.window - 1) / 2 / rate
        jump_delay = (_JUMP_LAGS - 0.5) / rate
        return median_delay + self._lowpass.delay_s + jump_delay + self._steps.delay / rate

    def reset(self) -> None:
        """Back to the just-built state."""
        self._restart()
        self._pending_t = np.empty(0)  # an unfinished gap and the samples after it
        self._pending_x = np.empty(0)  # (in mL or mL/s)
        self.jumps_cut = 0
        """Increments cut out for rising or falling implausibly fast."""

    def process(self, t_s: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feed grid samples (NaN = missing); get ``(t_s, flow_ml_s)``.

        A gap is bridged once a median window of samples after it has arrived,
        so output may trail the input by the gap plus ``median_s``.
        """
        if x.size and not self._pending_t.size and np.isfinite(x).all():
            return t_s, self._run(x * self.ml_per_unit)
        t = np.concatenate((self._pending_t, t_s))
        x = np.concatenate((self._pending_x, x * self.ml_per_unit))
        self._pending_t = self._pending_x = np.empty(0)
        out = np.full(t.size, np.nan)
        missing = ~np.isfinite(x)
        edges = np.flatnonzero(np.diff(np.concatenate(([0], missing.view(np.int8), [0]))))
        window = self._median.window
        max_fill = int(self.params.max_fill_s * self.params.rate_hz)
        pos = 0
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            if start > pos:
                out[pos:start] = self._run(x[pos:start])
            pos = stop
            if stop - start > max_fill or self._recent.size == 0:
                self._restart()  # flow across a long gap is unknown
                continue
            after = x[stop : stop + window]
            settled = after.size == window or (after.size and not np.isfinite(after).all())
            if not settled:  # wait for enough samples after the gap to know its level
                self._pending_t, self._pending_x = t[start:], x[start:]
                return t[:start], out[:start]
            after = after[: int(np.argmin(np.isfinite(np.append(after, np.nan))))]
            # Bridge between robust levels on either side (medians, centred in time), so a
            # pump spurt at the gap's edge does not tilt the bridge.
            x0, x1 = float(np.median(self._recent)), float(np.median(after))
            i0 = start - (self._recent.size + 1) / 2
            i1 = stop + (after.size - 1) / 2
            fill = x0 + (x1 - x0) * (np.arange(start, stop) - i0) / (i1 - i0)
            out[start:stop] = self._run(fill)
        if pos < t.size:
            out[pos:] = self._run(x[pos:])
        return t, out

    def _restart(self) -> None:
        """Filters start afresh with the next sample (at reset, or after a long gap)."""
        for stage in (self._median, self._erode, self._dilate, self._lowpass, self._steps):
            stage.reset()
        self._recent = np.empty(0)  # newest finite inputs (up to one median window), mL
        self._tail_m: np.ndarray | None = None  # newest median outputs, mL

    def _run(self, x: np.ndarray) -> np.ndarray:
        """Smoothed flow of a run of finite samples (mL or mL/s), mL/s."""
        self._recent = np.concatenate((self._recent, x))[-self._median.window :]
        if self._cumulative:
            raw = self._differentiate(self._median.process(self._steps.process(x)))
        else:
            raw = self._dilate.process(self._erode.process(x))
        return self._lowpass.process(raw)

    def _differentiate(self, m: np.ndarray) -> np.ndarray:
        """Flow from a cumulative channel (mL -> mL/s) with artifact jumps cut out.

        An increment is cut when any window of 1..``_JUMP_LAGS`` samples around it rose or
        fell faster than ``max_step_ml_s``: a tare, a hand on the bottle or the bottle
        lifted off, even with soft edges. Deciding needs ``_JUMP_LAGS - 1`` samples after
        the increment, so the output is that much late (a fixed delay).
        """
        lags = _JUMP_LAGS
        if self._tail_m is None:
            self._tail_m = np.full(2 * lags, m[0])
        ext = np.concatenate((self._tail_m, m))
        self._tail_m = ext[-2 * lags :]
        q = np.arange(ext.size - m.size - (lags - 1), ext.size - (lags - 1))
        # too_fast[a, k-1]: ext rose or fell faster than max_step_ml_s from a to a+k.
        span = windows(ext, lags + 1)
        limits = self.params.max_step_ml_s * np.arange(1, lags + 1) / self.params.rate_hz
        too_fast = np.abs(span[:, 1:] - span[:, :1]) > limits
        # reach[a, j-1]: some window starting at a and at least j samples long is too fast.
        reach = np.logical_or.accumulate(too_fast[:, ::-1], axis=1)[:, ::-1]
        offsets = np.arange(1, lags + 1)
        cut = reach[q[:, None] - offsets, offsets - 1].any(axis=1)
        self.jumps_cut += int(cut.sum())
        return np.where(cut, 0.0, ext[q] - ext[q - 1]) * self.params.rate_hz
