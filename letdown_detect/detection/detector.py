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
from typing import NamedTuple

import numpy as np

from .._compiled import kernel, loop_input
from ..conditioning.filters import copied, ew_mean, ew_step
from ..conditioning.rolling import extreme_push, extreme_state
from ..model import Event
from ..params import DetectorConfig

#: Running state of one detector (``LetdownDetector.state``), by name. ``base`` ..
#: ``score`` describe the open letdown (the active one while not armed); ``rise_*`` the
#: base and threshold of the rise just confirmed.
DETECTOR_STATE = np.dtype(
    [
        ("n", "i8"),  # samples consumed
        ("run", "i8"),  # consecutive samples above the threshold
        ("armed", "b1"),  # a new letdown may be detected
        ("open", "b1"),  # a letdown is running (not yet completed)
        ("floor_age", "i8"),  # samples the baseline may look back over since re-arming
        ("event", "i8"),  # why the loop paused: DETECTED or COMPLETED
        ("volume_ml", "f8"),  # integral of the smoothed flow so far
        ("settled_t", "f8"),  # time detection may begin (inf before the first sample)
        ("floor_min", "f8"),  # lowest dip-closed flow since re-arming
        ("noise_z", "f8"),  # the noise's running mean square: weighted sum, then count
        ("noise_n", "f8"),
        ("run_noise_z", "f8"),  # the noise's sum and count before the current run began
        ("run_noise_n", "f8"),
        ("last_t", "f8"),  # time of the newest sample
        ("last_delay", "f8"),  # and how late its flow showed a change, s
        ("base", "f8"),  # the open letdown: flow it rose from, its peak, its threshold,
        ("peak", "f8"),
        ("threshold", "f8"),
        ("foot_t", "f8"),  # its onset (flow time base), the flow's delay there, and when
        # the sample that detected it became known (a gap's bridge is known after the gap)
        ("foot_delay", "f8"),
        ("detected_t", "f8"),
        ("volume_at_foot", "f8"),
        ("score", "f8"),  # rise / threshold at detection
        ("rise_base", "f8"),
        ("rise_threshold", "f8"),
        ("rise_sigma", "f8"),  # the flow's noise deviation then
    ],
    align=True,  # a plain aligned record: numba types it from a cache on every call
)
# Why the loop paused (``event``).
_DETECTED, _COMPLETED = 1, 2


class DetectorKnobs(NamedTuple):
    """What the compiled loop reads, converted once (see ``DetectorConfig``)."""

    min_rise_ml_s: float
    noise_k: float
    rel_rise: float
    end_frac: float
    rearm_frac: float
    rearm_threshold_frac: float
    min_interval_s: float
    rate_hz: float
    settle_s: float
    keep: float  # EwMean decay per sample (noise_tau_s)
    window: int  # baseline_s, samples (odd)
    confirm: int  # confirm_s, samples
    weak_confirm: int  # weak_confirm_s, samples
    strong_rise: float
    lag: int  # noise_lag_s, samples
    noise_min: int  # noise_min_s, samples


class LetdownDetector:
    """Detect letdowns in one smoothed flow stream on the internal grid.

    Args:
        channel: name reported in events (a channel, or ``both`` for a fused sum).
        config: detector parameters.
        delay_s: how late the flow estimate shows a rise (filter delay), s;
            removed from reported onsets and ends unless ``process`` is given each
            sample's own delay.
    """

    def __init__(self, channel: str, config: DetectorConfig, delay_s: float) -> None:
        self.channel = channel
        self.config = config
        self.delay_s = delay_s
        rate = config.rate_hz
        window = round(config.baseline_s * rate) | 1
        self._history = window + round(config.lookback_s * rate)
        self._dip = round(config.dip_s * rate) | 1
        self._knobs = DetectorKnobs(
            min_rise_ml_s=float(config.min_rise_ml_s),
            noise_k=float(config.noise_k),
            rel_rise=float(config.rel_rise),
            end_frac=float(config.end_frac),
            rearm_frac=float(config.rearm_frac),
            rearm_threshold_frac=float(config.rearm_threshold_frac),
            min_interval_s=float(config.min_interval_s),
            rate_hz=float(rate),
            settle_s=float(config.settle_s),
            keep=math.exp(-1.0 / (config.noise_tau_s * rate)),  # as EwMean's
            window=window,
            confirm=max(1, round(config.confirm_s * rate)),
            weak_confirm=max(1, round(config.weak_confirm_s * rate)),
            strong_rise=float(config.strong_rise),
            lag=max(1, round(config.noise_lag_s * rate)),
            noise_min=round(config.noise_min_s * rate),
        )
        self.reset()

    def reset(self) -> None:
        """Back to the just-built state."""
        self._state = np.zeros(1, DETECTOR_STATE)
        st = self._state[0]
        st["armed"] = True
        st["settled_t"], st["floor_min"], st["last_t"] = np.inf, np.inf, np.nan
        # Dip-closed flow (rolling max over dip_s), then its rolling min over baseline_s.
        self._closing = extreme_state(self._dip, True)
        self._lowest = extreme_state(self._knobs.window, False)
        self._lagged = np.zeros(2 * self._knobs.lag)  # flow of the last 2 * lag samples
        # t, flow, volume and the flow's delay of the newest samples for the onset
        # look-back: the kept history and the sample being decided.
        self._ring = np.zeros((4, self._history + 1))

    @property
    def state(self) -> dict[str, object]:
        """The running state (copies): the ``DETECTOR_STATE`` record, the baseline windows,
        the noise's lagged samples and the look-back ring. Restore by assigning it."""
        return copied(
            {
                "detector": self._state,
                "closing": self._closing,
                "lowest": self._lowest,
                "lagged": self._lagged,
                "ring": self._ring,
            }
        )

    @state.setter
    def state(self, saved: dict[str, object]) -> None:
        saved = copied(saved)
        self._state, self._closing, self._lowest = (
            saved["detector"],
            saved["closing"],
            saved["lowest"],
        )
        self._lagged, self._ring = saved["lagged"], saved["ring"]

    def process(
        self,
        t_s: np.ndarray,
        flow_ml_s: np.ndarray,
        delay_s: np.ndarray | None = None,
        known_s: np.ndarray | None = None,
        floor_ml_s: np.ndarray | None = None,
    ) -> list[Event]:
        """Feed grid samples of smoothed flow, mL/s (NaN samples are skipped), how late
        each shows a change, s (``None``: the detector's ``delay_s``), when each became
        known, s (``None``: at its own time; later for a gap's bridge), and the sensor's
        floor under the bar at each, mL/s (``None``: ``min_rise_ml_s`` alone; the flow
        bump of the sensor's resolution, see ``conditioning/resolution.py``).

        Returns:
            Events detected (``end_s is None``) or completed within this chunk; a
            detection's ``detected_s`` is when the sample that decided it became known.
        """
        timed = self.process_timed(t_s, flow_ml_s, delay_s, known_s, floor_ml_s)
        return [event for _, event in timed]

    def process_timed(
        self,
        t_s: np.ndarray,
        flow_ml_s: np.ndarray,
        delay_s: np.ndarray | None = None,
        known_s: np.ndarray | None = None,
        floor_ml_s: np.ndarray | None = None,
    ) -> list[tuple[float, Event]]:
        """``process``, each event with the grid time of the sample that decided it, s (to
        merge the events of several detectors in the order they were decided)."""
        t, f = loop_input(t_s), loop_input(flow_ml_s)
        d = np.full(t.size, self.delay_s) if delay_s is None else loop_input(delay_s)
        known = t if known_s is None else known_s
        floor = np.zeros(t.size) if floor_ml_s is None else loop_input(floor_ml_s)
        events: list[tuple[float, Event]] = []
        i = self._walk(t, f, d, floor, 0)
        while i >= 0:
            decided = float(t[i])
            if self._state[0]["event"] == _DETECTED:
                events.extend((decided, event) for event in self._detect(float(known[i])))
            else:
                st = self._state[0]
                events.append((decided, self._complete(decided, st["volume_ml"], float(d[i]))))
            i = self._walk(t, f, d, floor, i + 1)
        return events

    def _walk(
        self, t: np.ndarray, f: np.ndarray, d: np.ndarray, floor: np.ndarray, start: int
    ) -> int:
        """Run the compiled loop from sample ``start`` to the next event (its index) or
        the end of the chunk (-1)."""
        close, low = self._closing, self._lowest
        return _detector_run(
            self._knobs, self._state, close[0], close[1], close[2],
            low[0], low[1], low[2], self._lagged, self._ring, t, f, d, floor, start,
        )  # fmt: skip

    def flush(self) -> list[Event]:
        """End of stream: complete the letdown still running, if any."""
        st = self._state[0]
        if not st["open"]:
            return []
        return [self._complete(float(st["last_t"]), st["volume_ml"], float(st["last_delay"]))]

    def _lookback(self) -> np.ndarray:
        """Times, flows, volumes and delays (rows) of the kept samples, oldest first."""
        n, size = int(self._state[0]["n"]), self._ring.shape[1]
        if n <= size:
            return self._ring[:, :n]
        return np.roll(self._ring, -(n % size), axis=1)

    def _detect(self, known_t: float) -> list[Event]:
        """A letdown became certain at the newest sample, known at ``known_t`` (s): complete
        the open one, start this."""
        cfg = self.config
        all_t, all_f, all_v, all_d = self._lookback()
        at = all_t.size - 1
        st = self._state[0]
        base, threshold = st["rise_base"], st["rise_threshold"]
        # The base is the lowest flow of the look-back, about two noise deviations under
        # the flow's mean before the rise: a level closer to it than that finds the last
        # noise dip, which may lie many seconds before the rise began.
        above = max(cfg.onset_frac * (all_f[at] - base), cfg.onset_noise_k * st["rise_sigma"])
        level = base + above
        below = np.flatnonzero(all_f[: at + 1] <= level)
        if below.size:
            k = int(below[-1])
            f0, f1 = all_f[k], all_f[min(k + 1, at)]
            frac = 0.0 if f1 == f0 else (level - f0) / (f1 - f0)
            foot = float(all_t[k] + frac * (all_t[min(k + 1, at)] - all_t[k]))
        else:
            foot = float(all_t[0])
        events = []
        if st["open"]:
            foot = max(foot, float(st["foot_t"]) + 1.0 / cfg.rate_hz)
        volume_at_foot = np.interp(foot, all_t, all_v)
        delay_at_foot = np.interp(foot, all_t, all_d)
        if st["open"]:  # the open letdown ends where this one begins
            events.append(self._complete(foot, volume_at_foot, delay_at_foot))
        rise = float(all_f[at] - base)
        st["foot_t"], st["detected_t"] = foot, known_t
        st["foot_delay"], st["volume_at_foot"] = delay_at_foot, volume_at_foot
        st["base"], st["peak"], st["threshold"] = base, all_f[at], threshold
        st["score"] = rise / threshold
        st["open"] = True
        events.append(self._event())
        return events

    def _complete(self, end_t: float, end_volume: float, end_delay: float) -> Event:
        """Close the open letdown at ``end_t`` (flow time base), where the volume integral
        was ``end_volume`` (mL) and the flow ``end_delay`` late (s).

        A rise that collapsed, or was cut off by the end of the stream, within
        ``evidence_s`` of its detection is completed as ``retracted``: a hand
        pressing on the bottle or the bottle lifted off, not milk ejection.
        """
        st = self._state[0]
        st["open"] = False
        volume = float(end_volume - st["volume_at_foot"])
        late = end_t - st["detected_t"] >= self.config.evidence_s
        label = "letdown" if late else "retracted"
        return self._event(end_t=end_t - end_delay, volume=volume, label=label)

    def _event(
        self, end_t: float | None = None, volume: float | None = None, label: str = "letdown"
    ) -> Event:
        """The open letdown as an event (complete when its delay-corrected ``end_t`` is
        given)."""
        st = self._state[0]
        half_bin = 0.5 / self.config.rate_hz  # a grid bin is known once it has ended
        return Event(
            onset_s=float(st["foot_t"] - st["foot_delay"]),
            detected_s=float(st["detected_t"]) + half_bin,
            peak_flow_ml_s=float(st["peak"]),
            channel=self.channel,
            score=float(st["score"]),
            end_s=None if end_t is None else float(end_t),
            volume_ml=volume,
            label=label,
        )


@kernel
def _detector_run(
    knobs, state, close_meta, close_idx, close_val, low_meta, low_idx, low_val, lagged, ring, t, f,
    delay, floor, start: int,
) -> int:  # fmt: skip
    """Walk the samples from ``start``; return the index of the first one after which an
    event must be built (why in ``state.event``), or -1 at the end of the chunk.

    Every sample, finite ones only, updates the noise, the volume, the history and the
    baseline windows. While armed, a rise above the threshold for ``confirm`` samples
    is a detection (the loop pauses; Python finds the onset and opens the letdown) and
    flow falling back near the open letdown's base completes it. While a letdown is
    active, its peak is tracked until flow collapses (completed, then re-armed) or has
    fallen enough from the peak to allow a new letdown (re-armed).
    """
    st = state[0]
    window, confirm, lag = knobs.window, knobs.confirm, knobs.lag
    keep = knobs.keep
    log_keep = math.log(keep)
    end_frac = knobs.end_frac
    size = ring.shape[1]
    for i in range(start, t.size):
        x, ti = f[i], t[i]
        if not np.isfinite(x):
            continue
        n = st.n
        if n == 0:  # the stream's first flow pads the look-backs before it began
            st.settled_t = ti + knobs.settle_s
            lagged[:] = x
        st.n = n + 1
        # Noise: mean square of the second difference at lag samples, E[d2^2] = 6 sigma^2
        # for independent noise; blind to steady decays, and a mean square (not a mean
        # absolute value) so sparse bumps, e.g. from a coarsely quantised sensor, count fully.
        p = n % (2 * lag)
        d2 = x - 2.0 * lagged[(p + lag) % (2 * lag)] + lagged[p]
        lagged[p] = x
        # Measured on settled flow only: the filters' start-up transient (the smoother
        # seeded with one rippling sample) would dominate a mean square for many minutes.
        mean_sq = ew_mean(st.noise_z, st.noise_n, log_keep) if st.noise_n > 0 else 0.0
        # And only while armed: during a detected rise the second difference measures the
        # rise's own curvature, and would raise the bar for the next letdown.
        settled = ti - 2 * lag / knobs.rate_hz >= st.settled_t  # its lagged samples too
        before_z, before_n = st.noise_z, st.noise_n
        if settled and st.armed:
            st.noise_z, st.noise_n, mean_sq = ew_step(
                st.noise_z, st.noise_n, keep, log_keep, d2 * d2
            )
        sigma = math.sqrt(mean_sq / 6.0)
        st.volume_ml += max(x, 0.0) / knobs.rate_hz
        st.last_t, st.last_delay = ti, delay[i]
        slot = n % size
        ring[0, slot], ring[1, slot], ring[2, slot], ring[3, slot] = ti, x, st.volume_ml, delay[i]
        # Baseline = lowest flow over the look-back after closing dips shorter than
        # dip_s: a flow estimate that dips (an artifact) and recovers is not a new rise.
        closed = extreme_push(close_meta, close_idx, close_val, x)
        lowest = extreme_push(low_meta, low_idx, low_val, closed)
        valid = ti >= st.settled_t
        if st.armed:
            # Never a base from before a re-arm or the end of the settling time
            # (infinite until then: nothing can be detected).
            since = st.floor_min
            if valid and closed < since:
                since = closed
            age = st.floor_age + (1 if valid else 0)
            base = max(since if age < window else lowest, 0.0)
            least = max(knobs.min_rise_ml_s, floor[i])  # the sensor's floor, then its noise
            threshold = max(max(least, knobs.noise_k * sigma), knobs.rel_rise * base)
            # A rise is judged only against a measured noise: before that the bar would be
            # the bare floor, and the stream's start (bottle placed, pump starting) crosses it.
            judged = st.noise_n >= knobs.noise_min
            run = st.run + 1 if judged and x - base > threshold else 0
            if run == 1:
                st.run_noise_z, st.run_noise_n = before_z, before_n
            strong = x - base > knobs.strong_rise * threshold
            if (run >= confirm and strong) or run >= knobs.weak_confirm:
                st.run, st.armed, st.event = 0, False, _DETECTED
                # The confirmed rise was milk, not noise: the noise goes back to what it
                # was before the run (the slow look watches a rise for 10 s, and a big
                # one's curvature held its bar up for minutes, over the next letdown).
                # A run that falls back stays in: it was noise, or an artifact's echo.
                st.noise_z, st.noise_n = st.run_noise_z, st.run_noise_n
                st.rise_base, st.rise_threshold, st.rise_sigma = base, threshold, sigma
                return i
            st.run = run
            _advance_floor(st, closed, valid, window)
            if st.open and x < st.base + end_frac * (st.peak - st.base):
                st.open, st.event = False, _COMPLETED
                return i
        else:
            peak = max(st.peak, x)
            st.peak = peak
            base = st.base
            collapsed = x < base + end_frac * (peak - base)  # fell straight back
            drop = max(knobs.rearm_frac * (peak - base), knobs.rearm_threshold_frac * st.threshold)
            late = ti - st.foot_t >= knobs.min_interval_s
            if collapsed or (x < peak - drop and late):
                st.armed, st.run, st.floor_age = True, 0, 0
                # A new letdown must rise from flow after this point, not from before
                # the last one.
                st.floor_min = np.inf
                _advance_floor(st, closed, valid, window)
                if collapsed:  # completed now (retracted if too soon)
                    st.open, st.event = False, _COMPLETED
                    return i
    return -1


@kernel
def _advance_floor(st, closed: float, valid: bool, window: int) -> None:
    """Account a consumed sample in the baseline's look-back limits: how many samples it
    may look back over (capped at the window) and their lowest dip-closed flow."""
    if valid and st.floor_age < window:
        st.floor_min = min(st.floor_min, closed)
        st.floor_age += 1
