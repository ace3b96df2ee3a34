"""The causal letdown detector: a new, sustained acceleration of milk flow.

A milk ejection shows as flow rising within seconds to tens of seconds and
decaying over minutes; a later ejection often starts while flow from the
previous one is still high, so it is a new rise on top of falling flow, not
a rise from zero (Prime et al. 2011; Kent et al. 2008). The detector
therefore measures the rise of smoothed flow above its lowest value over the
last ``baseline_s`` seconds and reports a letdown once that rise stays above
a threshold for ``confirm_s``. The threshold is the largest of an absolute
floor, a multiple of the running noise estimate, and a fraction of the flow
the rise starts from. The onset is found by looking back to where the rise
began, corrected by the known filter delay; the detection time is the moment
the detector became sure. A new letdown is possible once flow has fallen
from its peak (re-arming), so one rise gives one event.

All state is O(1): a fixed-length history, window states and a few scalars in
small arrays. A compiled loop walks the samples and pauses only where an event
must be built (a detection or a completion); Python then does that rare work
(the onset look-back, the ``Event``) and resumes the loop at the next sample,
so output is identical for any chunking.
"""

from __future__ import annotations

import math

import numpy as np

from .._compiled import kernel
from ..conditioning.filters import ewmean_push
from ..conditioning.rolling import extreme_push, extreme_state
from ..model import Event
from ..params import DetectorConfig

# Parameters, float64.
_MIN_RISE, _NOISE_K, _REL_RISE, _END_FRAC, _REARM_FRAC, _MIN_INTERVAL, _RATE, _SETTLE, _KEEP = (
    range(9)
)
# Window lengths (samples) and counters, int64.
_WINDOW, _CONFIRM, _LAG, _N, _RUN, _ARMED, _OPEN, _FLOOR_AGE, _EVENT = range(9)
# Running values, float64. BASE..SCORE describe the open letdown (the active one while
# not armed); RISE_* the base and threshold of the rise just confirmed.
(
    _VOLUME,
    _SETTLED_T,
    _FLOOR_MIN,
    _NOISE_Z,  # the noise's running mean square: sum, then count (as ewmean_push reads)
    _NOISE_N,
    _LAST_T,
    _BASE,
    _PEAK,
    _THRESHOLD,
    _FOOT_T,
    _DETECTED_T,
    _VOLUME_AT_FOOT,
    _SCORE,
    _RISE_BASE,
    _RISE_THRESHOLD,
) = range(15)
# Why the loop paused (in the int state's _EVENT slot).
_DETECTED, _COMPLETED = 1, 2


class LetdownDetector:
    """Detect letdowns in one smoothed flow stream on the internal grid.

    Args:
        channel: name reported in events (a channel, or ``both`` for a fused sum).
        config: detector parameters.
        delay_s: how late the flow estimate shows a rise (filter delay), s;
            removed from reported onsets and ends.
    """

    def __init__(self, channel: str, config: DetectorConfig, delay_s: float) -> None:
        self.channel = channel
        self.config = config
        self.delay_s = delay_s
        rate = config.rate_hz
        self._window = round(config.baseline_s * rate) | 1
        self._history = self._window + round(120.0 * rate)
        self._confirm = max(1, round(config.confirm_s * rate))
        self._lag = max(1, round(config.noise_lag_s * rate))
        self._dip = round(config.dip_s * rate) | 1
        self._params = np.array(
            [
                config.min_rise_ml_s,
                config.noise_k,
                config.rel_rise,
                config.end_frac,
                config.rearm_frac,
                config.min_interval_s,
                rate,
                config.settle_s,
                math.exp(-1.0 / (config.noise_tau_s * rate)),  # as EwMean's
            ],
            float,
        )
        self.reset()

    def reset(self) -> None:
        """Back to the just-built state."""
        self._counts = np.zeros(9, np.int64)
        self._counts[[_WINDOW, _CONFIRM, _LAG]] = self._window, self._confirm, self._lag
        self._counts[_ARMED] = 1
        self._state = np.zeros(15)
        self._state[[_SETTLED_T, _FLOOR_MIN, _LAST_T]] = np.inf, np.inf, np.nan
        # Dip-closed flow (rolling max over dip_s), then its rolling min over baseline_s.
        self._closing = extreme_state(self._dip, True)
        self._lowest = extreme_state(self._window, False)
        self._lagged = np.zeros(2 * self._lag)  # flow of the last 2 * lag samples
        # t, flow and volume of the newest samples for the onset look-back: the kept
        # history and the sample being decided.
        self._ring = np.zeros((3, self._history + 1))

    @property
    def _volume(self) -> float:
        """Integral of smoothed flow so far, mL."""
        return float(self._state[_VOLUME])

    def process(self, t_s: np.ndarray, flow_ml_s: np.ndarray) -> list[Event]:
        """Feed grid samples of smoothed flow, mL/s (NaN samples are skipped).

        Returns:
            Events detected (``end_s is None``) or completed within this chunk.
        """
        t = np.ascontiguousarray(t_s, float)
        f = np.ascontiguousarray(flow_ml_s, float)
        events: list[Event] = []
        i = self._walk(t, f, 0)
        while i >= 0:
            if self._counts[_EVENT] == _DETECTED:
                events.extend(self._detect())
            else:
                events.append(self._complete(float(t[i]), self._state[_VOLUME]))
            i = self._walk(t, f, i + 1)
        return events

    def _walk(self, t: np.ndarray, f: np.ndarray, start: int) -> int:
        """Run the compiled loop from sample ``start`` to the next event (its index) or
        the end of the chunk (-1)."""
        close, low = self._closing, self._lowest
        return _detector_run(
            self._params, self._counts, self._state, close[0], close[1], close[2],
            low[0], low[1], low[2], self._lagged, self._ring, t, f, start,
        )  # fmt: skip

    def flush(self) -> list[Event]:
        """End of stream: complete the letdown still running, if any."""
        if not self._counts[_OPEN]:
            return []
        return [self._complete(float(self._state[_LAST_T]), self._state[_VOLUME])]

    def _lookback(self) -> np.ndarray:
        """Times, flows and volumes (rows) of the kept samples, oldest first."""
        n, size = int(self._counts[_N]), self._ring.shape[1]
        if n <= size:
            return self._ring[:, :n]
        return np.roll(self._ring, -(n % size), axis=1)

    def _detect(self) -> list[Event]:
        """A letdown became certain at the newest sample: complete the open one, start this."""
        cfg = self.config
        all_t, all_f, all_v = self._lookback()
        at = all_t.size - 1
        base, threshold = self._state[_RISE_BASE], self._state[_RISE_THRESHOLD]
        level = base + cfg.onset_frac * (all_f[at] - base)
        below = np.flatnonzero(all_f[: at + 1] <= level)
        if below.size:
            k = int(below[-1])
            f0, f1 = all_f[k], all_f[min(k + 1, at)]
            frac = 0.0 if f1 == f0 else (level - f0) / (f1 - f0)
            foot = float(all_t[k] + frac * (all_t[min(k + 1, at)] - all_t[k]))
        else:
            foot = float(all_t[0])
        events = []
        if self._counts[_OPEN]:
            foot = max(foot, float(self._state[_FOOT_T]) + 1.0 / cfg.rate_hz)
            events.append(self._complete(foot, np.interp(foot, all_t, all_v)))
        rise = float(all_f[at] - base)
        s = self._state
        s[_FOOT_T], s[_DETECTED_T] = foot, all_t[at]
        s[_VOLUME_AT_FOOT] = np.interp(foot, all_t, all_v)
        s[_BASE], s[_PEAK], s[_THRESHOLD] = base, all_f[at], threshold
        s[_SCORE] = rise / threshold
        self._counts[_OPEN] = 1
        events.append(self._event())
        return events

    def _complete(self, end_t: float, end_volume: float) -> Event:
        """Close the open letdown at ``end_t`` (flow time base), where the volume integral
        was ``end_volume`` (mL).

        A rise that collapsed, or was cut off by the end of the stream, within
        ``evidence_s`` of its detection is completed as ``retracted``: a hand
        pressing on the bottle or the bottle lifted off, not milk ejection.
        """
        self._counts[_OPEN] = 0
        volume = float(end_volume - self._state[_VOLUME_AT_FOOT])
        late = end_t - self._state[_DETECTED_T] >= self.config.evidence_s
        return self._event(end_t=end_t, volume=volume, label="letdown" if late else "retracted")

    def _event(
        self, end_t: float | None = None, volume: float | None = None, label: str = "letdown"
    ) -> Event:
        """The open letdown as an event (complete when ``end_t`` is given)."""
        s = self._state
        half_bin = 0.5 / self.config.rate_hz  # a grid bin is known once it has ended
        return Event(
            onset_s=float(s[_FOOT_T]) - self.delay_s,
            detected_s=float(s[_DETECTED_T]) + half_bin,
            peak_flow_ml_s=float(s[_PEAK]),
            channel=self.channel,
            score=float(s[_SCORE]),
            end_s=None if end_t is None else end_t - self.delay_s,
            volume_ml=volume,
            label=label,
        )


@kernel
def _detector_run(
    params: np.ndarray,
    counts: np.ndarray,
    state: np.ndarray,
    close_meta: np.ndarray,
    close_idx: np.ndarray,
    close_val: np.ndarray,
    low_meta: np.ndarray,
    low_idx: np.ndarray,
    low_val: np.ndarray,
    lagged: np.ndarray,
    ring: np.ndarray,
    t: np.ndarray,
    f: np.ndarray,
    start: int,
) -> int:
    """Walk the samples from ``start``; return the index of the first one after which an
    event must be built (why in ``counts[_EVENT]``), or -1 at the end of the chunk.

    Every sample, finite ones only, updates the noise, the volume, the history and the
    baseline windows. While armed, a rise above the threshold for ``confirm`` samples
    is a detection (the loop pauses; Python finds the onset and opens the letdown) and
    flow falling back near the open letdown's base completes it. While a letdown is
    active, its peak is tracked until flow collapses (completed, then re-armed) or has
    fallen enough from the peak to allow a new letdown (re-armed).
    """
    window, confirm, lag = counts[_WINDOW], counts[_CONFIRM], counts[_LAG]
    keep = params[_KEEP]
    log_keep = math.log(keep)
    end_frac = params[_END_FRAC]
    size = ring.shape[1]
    for i in range(start, t.size):
        x, ti = f[i], t[i]
        if not np.isfinite(x):
            continue
        n = counts[_N]
        if n == 0:  # the stream's first flow pads the look-backs before it began
            state[_SETTLED_T] = ti + params[_SETTLE]
            lagged[:] = x
        counts[_N] = n + 1
        # Noise: mean square of the second difference at lag samples, E[d2^2] = 6 sigma^2
        # for independent noise; blind to steady decays, and a mean square (not a mean
        # absolute value) so sparse bumps, e.g. from a coarsely quantised sensor, count fully.
        p = n % (2 * lag)
        d2 = x - 2.0 * lagged[(p + lag) % (2 * lag)] + lagged[p]
        lagged[p] = x
        sigma = math.sqrt(ewmean_push(state, _NOISE_Z, keep, log_keep, d2 * d2) / 6.0)
        state[_VOLUME] += max(x, 0.0) / params[_RATE]
        state[_LAST_T] = ti
        slot = n % size
        ring[0, slot], ring[1, slot], ring[2, slot] = ti, x, state[_VOLUME]
        # Baseline = lowest flow over the look-back after closing dips shorter than
        # dip_s: a flow estimate that dips (an artifact) and recovers is not a new rise.
        closed = extreme_push(close_meta, close_idx, close_val, x)
        lowest = extreme_push(low_meta, low_idx, low_val, closed)
        valid = ti >= state[_SETTLED_T]
        if counts[_ARMED]:
            # Never a base from before a re-arm or the end of the settling time
            # (infinite until then: nothing can be detected).
            since = state[_FLOOR_MIN]
            if valid and closed < since:
                since = closed
            age = counts[_FLOOR_AGE] + (1 if valid else 0)
            base = max(since if age < window else lowest, 0.0)
            threshold = max(
                max(params[_MIN_RISE], params[_NOISE_K] * sigma), params[_REL_RISE] * base
            )
            run = counts[_RUN] + 1 if x - base > threshold else 0
            if run >= confirm:
                counts[_RUN], counts[_ARMED], counts[_EVENT] = 0, 0, _DETECTED
                state[_RISE_BASE], state[_RISE_THRESHOLD] = base, threshold
                return i
            counts[_RUN] = run
            _advance_floor(counts, state, closed, valid, window)
            if counts[_OPEN] and x < state[_BASE] + end_frac * (state[_PEAK] - state[_BASE]):
                counts[_OPEN], counts[_EVENT] = 0, _COMPLETED
                return i
        else:
            peak = max(state[_PEAK], x)
            state[_PEAK] = peak
            base = state[_BASE]
            collapsed = x < base + end_frac * (peak - base)  # fell straight back
            drop = max(params[_REARM_FRAC] * (peak - base), 0.5 * state[_THRESHOLD])
            late = ti - state[_FOOT_T] >= params[_MIN_INTERVAL]
            if collapsed or (x < peak - drop and late):
                counts[_ARMED], counts[_RUN], counts[_FLOOR_AGE] = 1, 0, 0
                # A new letdown must rise from flow after this point, not from before
                # the last one.
                state[_FLOOR_MIN] = np.inf
                _advance_floor(counts, state, closed, valid, window)
                if collapsed:  # completed now (retracted if too soon)
                    counts[_OPEN], counts[_EVENT] = 0, _COMPLETED
                    return i
    return -1


@kernel
def _advance_floor(
    counts: np.ndarray, state: np.ndarray, closed: float, valid: bool, window: int
) -> None:
    """Account a consumed sample in the baseline's look-back limits: how many samples it
    may look back over (capped at the window) and their lowest dip-closed flow."""
    if valid and counts[_FLOOR_AGE] < window:
        state[_FLOOR_MIN] = min(state[_FLOOR_MIN], closed)
        counts[_FLOOR_AGE] += 1
