"""One channel on the internal grid -> smoothed milk flow in mL/s."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .._compiled import kernel
from ..model import Channel
from .filters import SosFilter
from .rolling import extreme_push, extreme_state, median_push, median_state
from .steps import StepRemover, steps_push

#: Widest window (in grid samples) searched for artifact jumps on cumulative channels.
_JUMP_LAGS = 5
#: Ring of the newest median levels the jump test looks at: a power of two (a slot is a
#: bit mask, not a division) holding at least ``2 * _JUMP_LAGS``.
_LEVELS = 1 << (2 * _JUMP_LAGS - 1).bit_length()
# Counters: inputs since the restart (and the slot of the next in the ring of recent ones),
# medians differentiated since, increments cut ever.
_FED, _SLOT, _DIFFERENTIATED, _CUT = range(4)


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
        self._window = max(1, round(params.median_s * params.rate_hz) | 1)  # median, samples
        # A flow sensor sees milk in spurts, one per pump cycle, often less than half of
        # it: a median would read the gaps between spurts. An opening (minimum, then
        # maximum) removes bubble spikes narrower than spike_s and keeps spurts whole.
        self._spike = max(1, round(params.spike_s * params.rate_hz) | 1)  # opening, samples
        self._steps = StepRemover(
            params.step_ml,
            round(params.step_window_s * params.rate_hz),
            round(params.touch_s * params.rate_hz),
        )
        # jump_limits[k - 1]: the most a median may rise or fall across k samples, mL.
        lags = np.arange(1, _JUMP_LAGS + 1)
        self._jump_limits = params.max_step_ml_s * lags / params.rate_hz
        cutoff = params.cumulative_cutoff_hz if self._cumulative else params.cutoff_hz
        self._lowpass = SosFilter(cutoff, params.rate_hz)
        # One compiled loop per chunk runs every stage before the low-pass, sample by sample.
        self._kernel = _cumulative_run if self._cumulative else _direct_run
        self._scale = float(ml_per_unit)  # floats only: every call hits one compiled loop
        self._rate = float(params.rate_hz)
        self.reset()

    @property
    def delay_s(self) -> float:
        """How late a rise shows in the output: median plus low-pass delay, s."""
        rate = self.params.rate_hz
        if not self._cumulative:  # a rise passes the opening once it is spike_s wide
            return (self._spike - 1) / rate + self._lowpass.delay_s
        median_delay = (self._window - 1) / 2 / rate
        jump_delay = (_JUMP_LAGS - 0.5) / rate
        return median_delay + self._lowpass.delay_s + jump_delay + self._steps.delay / rate

    @property
    def jumps_cut(self) -> int:
        """Increments cut out for rising or falling implausibly fast."""
        return int(self._counts[_CUT])

    def reset(self) -> None:
        """Back to the just-built state."""
        self._counts = np.zeros(4, np.int64)
        self._restart()
        self._pending_t: np.ndarray | None = None  # an unfinished gap and the samples after
        self._pending_x: np.ndarray | None = None  # it (in mL or mL/s)

    def process(self, t_s: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feed grid samples (NaN = missing); get ``(t_s, flow_ml_s)``.

        A gap is bridged once a median window of samples after it has arrived,
        so output may trail the input by the gap plus ``median_s``.
        """
        if self._pending_t is None:  # the common case: runs of finite samples
            flow = self._run(x, self._scale)
            if flow.size == x.size:
                return t_s, flow
            t_head, t_s, x = t_s[: flow.size], t_s[flow.size :], x[flow.size :] * self.ml_per_unit
        else:
            t_head, flow = t_s[:0], np.empty(0)
            t_s = np.concatenate((self._pending_t, t_s))
            x = np.concatenate((self._pending_x, x * self.ml_per_unit))
            self._pending_t = self._pending_x = None
        t, out = self._bridge(t_s, x)
        return np.concatenate((t_head, t)), np.concatenate((flow, out))

    def _bridge(self, t: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flow of samples with gaps (mL or mL/s, NaN = missing), up to an unsettled gap."""
        out = np.full(t.size, np.nan)
        missing = ~np.isfinite(x)
        edges = np.flatnonzero(np.diff(np.concatenate(([0], missing.view(np.int8), [0]))))
        window = self._window
        max_fill = int(self.params.max_fill_s * self.params.rate_hz)
        pos = 0
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            if start > pos:
                out[pos:start] = self._run(x[pos:start], 1.0)
            pos = stop
            recent = self._recent[: min(self._counts[_FED], window)]  # only its median counts
            if stop - start > max_fill or recent.size == 0:
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
            x0, x1 = float(np.median(recent)), float(np.median(after))
            i0 = start - (recent.size + 1) / 2
            i1 = stop + (after.size - 1) / 2
            fill = x0 + (x1 - x0) * (np.arange(start, stop) - i0) / (i1 - i0)
            out[start:stop] = self._run(fill, 1.0)
        if pos < t.size:
            out[pos:] = self._run(x[pos:], 1.0)
        return t, out

    def _restart(self) -> None:
        """Filters start afresh with the next sample (at reset, or after a long gap)."""
        self._steps.reset()
        self._lowpass.reset()
        self._counts[[_FED, _SLOT, _DIFFERENTIATED]] = 0
        self._recent = np.zeros(self._window)  # newest inputs (up to a median window), mL
        if self._cumulative:
            # The loop advances the StepRemover's own state, so its ``removed`` stays live.
            steps, median = self._steps._state, median_state(self._window)
            levels = np.zeros(_LEVELS)  # newest medians, mL
            self._state = (steps, median, levels, self._jump_limits, self._rate)
        else:
            self._state = (extreme_state(self._spike, False), extreme_state(self._spike, True))

    def _run(self, x: np.ndarray, scale: float) -> np.ndarray:
        """Smoothed flow (mL/s) of the samples of ``x`` (times ``scale``: mL or mL/s) up
        to the first missing one."""
        raw = np.empty(x.size)
        n = self._kernel(scale, self._recent, self._counts, *self._state, x, raw)
        return self._lowpass.process(raw if n == x.size else raw[:n])


@kernel
def _remember(recent, counts, v: float) -> None:
    """Keep the newest inputs (a median window of them) for bridging a gap."""
    slot = counts[_SLOT]
    recent[slot] = v
    counts[_SLOT] = slot + 1 if slot + 1 < recent.size else 0
    counts[_FED] += 1


@kernel
def _cumulative_run(scale, recent, counts, steps, median, levels, limits, rate, x, out) -> int:
    """Steps removed, median, differentiated: raw flow of a cumulative channel, mL/s.

    Stops at the first missing sample; returns how many it took.
    """
    # Unpacked once: arrays read from a tuple inside the loop are not hoisted (a third slower).
    s0, s1, s2, s3, s4, s5 = steps
    m0, m1, m2 = median
    for i in range(x.size):
        v = x[i] * scale
        if not np.isfinite(v):
            return i
        _remember(recent, counts, v)
        level = median_push(m0, m1, m2, steps_push(s0, s1, s2, s3, s4, s5, v))
        out[i] = _differentiate(levels, counts, limits, rate, level)
    return x.size


@kernel
def _direct_run(scale, recent, counts, erode, dilate, x, out) -> int:
    """Opened (minimum, then maximum): raw flow of a flow channel, mL/s.

    Stops at the first missing sample; returns how many it took.
    """
    # Unpacked once: arrays read from a tuple inside the loop are not hoisted (a third slower).
    e0, e1, e2 = erode
    d0, d1, d2 = dilate
    for i in range(x.size):
        v = x[i] * scale
        if not np.isfinite(v):
            return i
        _remember(recent, counts, v)
        out[i] = extreme_push(d0, d1, d2, extreme_push(e0, e1, e2, v))
    return x.size


@kernel
def _differentiate(levels, counts, limits, rate: float, level: float) -> float:
    """Flow from a cumulative channel (mL -> mL/s) with artifact jumps cut out.

    An increment is cut when any window of 1..``_JUMP_LAGS`` samples around it rose or
    fell faster than ``max_step_ml_s``: a tare, a hand on the bottle or the bottle
    lifted off, even with soft edges. Deciding needs ``_JUMP_LAGS - 1`` samples after
    the increment, so the output is that much late (a fixed delay). ``levels`` holds
    the newest medians (a power of two, at least ``2 * _JUMP_LAGS``); before the first the
    past counts as copies of it.
    """
    lags, mask = limits.size, levels.size - 1
    if counts[_DIFFERENTIATED] == 0:
        levels[:] = level
    e = counts[_DIFFERENTIATED] + 2 * lags  # level's position; the seed copies sit before it
    counts[_DIFFERENTIATED] += 1
    levels[e & mask] = level
    q = e - (lags - 1)  # the increment from q - 1 to q is decided now
    for a in range(q - lags, q):
        for k in range(q - a, lags + 1):
            if abs(levels[(a + k) & mask] - levels[a & mask]) > limits[k - 1]:
                counts[_CUT] += 1
                return 0.0
    return (levels[q & mask] - levels[(q - 1) & mask]) * rate
