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

All state is O(1): a fixed-length history, filter states and a few scalars.
The per-sample logic is vectorised per chunk and loops only over events, so
output is identical for any chunking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..conditioning._windows import rolling_max, rolling_min
from ..conditioning.filters import EwMean
from ..model import Event
from ..params import DetectorConfig


@dataclass
class _Running:
    """The letdown being tracked (times in the flow estimate's own time base)."""

    foot_t: float
    detected_t: float
    volume_at_foot: float
    base: float
    peak: float
    score: float
    threshold: float


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
        self._noise = EwMean(config.noise_tau_s, rate)
        self.reset()

    def reset(self) -> None:
        """Back to the just-built state."""
        self._noise.reset()
        self._hist_t = np.empty(0)
        self._hist_f = np.empty(0)
        self._hist_closed = np.empty(0)  # dip-closed flow of the newest samples
        self._hist_v = np.empty(0)
        self._volume = 0.0  # integral of smoothed flow so far, mL
        self._run = 0  # consecutive samples above threshold
        self._armed = True
        self._active: _Running | None = None  # rising or at its peak
        self._open: _Running | None = None  # not yet complete (may be the active one)
        self._last_t: float | None = None
        self._first_f: float | None = None  # pads the look-back before the stream began
        self._settled_t = np.inf  # no detection before the filters have settled
        self._floor_age = 0  # samples the baseline may look back over (capped at the window)
        self._floor_min = np.inf  # lowest flow over those samples while fewer than a window

    def process(self, t_s: np.ndarray, flow_ml_s: np.ndarray) -> list[Event]:
        """Feed grid samples of smoothed flow, mL/s (NaN samples are skipped).

        Returns:
            Events detected (``end_s is None``) or completed within this chunk.
        """
        ok = np.isfinite(flow_ml_s)
        t, f = t_s[ok], flow_ml_s[ok]
        if t.size == 0:
            return []
        cfg = self.config
        if self._first_f is None:
            self._first_f = float(f[0])
            self._settled_t = float(t[0]) + cfg.settle_s
        sigma = self._noise_sigma(f)
        volume = np.cumsum(np.concatenate(([self._volume], np.maximum(f, 0.0) / cfg.rate_hz)))[1:]
        # Baseline = lowest flow over the look-back after closing dips shorter than
        # dip_s (rolling max then rolling min): a flow estimate that dips (an artifact)
        # and recovers is not a new rise. Flow is never negative.
        # Closed values of past samples never change, so they are kept, not recomputed.
        w, d = self._window, self._dip
        past = self._hist_f[-(d - 1) :]
        closed = rolling_max(_padded(past, f, d - 1, self._first_f), d)
        past_closed = self._hist_closed[-(w - 1) :]
        rolling = rolling_min(_padded(past_closed, closed, w - 1, self._first_f), w)
        self._hist_closed = np.concatenate((past_closed, closed))[-(w - 1) :]
        # Look-back arrays: history followed by this chunk.
        all_t = np.concatenate((self._hist_t, t))
        all_f = np.concatenate((self._hist_f, f))
        all_v = np.concatenate((self._hist_v, volume))
        offset = self._hist_t.size
        events: list[Event] = []
        i, n = 0, t.size
        while i < n:
            if self._armed:
                base = self._baseline(closed[i:], rolling[i:], t[i:])
                threshold = np.maximum(
                    np.maximum(cfg.min_rise_ml_s, cfg.noise_k * sigma[i:]),
                    cfg.rel_rise * base,
                )
                above = (f[i:] - base) > threshold
                j, run = _first_run(above, self._run, self._confirm)
                k = -1
                if self._open is not None:
                    k = _first_below(f[i:], self._open, self._open.peak, cfg.end_frac)
                if k >= 0 and (j < 0 or k < j):
                    events.append(self._complete(t[i + k], all_t, all_v))
                    self._run = _run_after(above[: k + 1], self._run)
                    self._advance_floor(closed[i : i + k + 1], t[i : i + k + 1])
                    i += k + 1
                    continue
                if j < 0:
                    self._run = run
                    self._advance_floor(closed[i:], t[i:])
                    break
                events.extend(
                    self._detect(i + j + offset, all_t, all_f, all_v, base[j], threshold[j])
                )
                self._run = 0
                i += j + 1
            else:
                peak = np.maximum.accumulate(np.concatenate(([self._active.peak], f[i:])))[1:]
                r = self._first_rearm(t[i:], f[i:], peak)
                c = _first_below(f[i:], self._active, peak, self.config.end_frac)
                if c >= 0 and (r < 0 or c <= r):
                    # The rise fell straight back: complete it now (retracted if too soon).
                    self._active.peak = max(self._active.peak, float(f[i : i + c + 1].max()))
                    events.append(self._complete(t[i + c], all_t, all_v))
                    r = c
                if r < 0:
                    self._active.peak = max(self._active.peak, float(f[i:].max()))
                    break
                self._active.peak = max(self._active.peak, float(f[i : i + r + 1].max()))
                self._active = None
                self._armed = True
                self._run = 0
                # A new letdown must rise from flow after this point, not from before the last one.
                self._floor_age, self._floor_min = 0, np.inf
                self._advance_floor(closed[i + r : i + r + 1], t[i + r : i + r + 1])
                i += r + 1
        keep = self._history
        self._hist_t, self._hist_f, self._hist_v = all_t[-keep:], all_f[-keep:], all_v[-keep:]
        self._volume = float(volume[-1])
        self._last_t = float(t[-1])
        return events

    def flush(self) -> list[Event]:
        """End of stream: complete the letdown still running, if any."""
        if self._open is None or self._last_t is None:
            return []
        return [self._complete(self._last_t, self._hist_t, self._hist_v)]

    def _noise_sigma(self, f: np.ndarray) -> np.ndarray:
        """Running noise of the smoothed flow, mL/s, from its second difference at a lag of
        ``noise_lag_s``: blind to steady decays, so it measures wobble, not trends."""
        lag = self._lag
        past = self._hist_f[-2 * lag :]
        ext = np.concatenate((np.full(2 * lag - past.size, self._first_f), past, f))
        d2 = ext[2 * lag :] - 2.0 * ext[lag:-lag] + ext[: -2 * lag]
        # E[d2^2] = 6 sigma^2 for independent noise at that lag. A mean square (not a mean
        # absolute value) so sparse bumps, e.g. from a coarsely quantised sensor, count fully.
        return np.sqrt(self._noise.process(d2 * d2) / 6.0)

    def _baseline(self, closed: np.ndarray, rolling: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Flow a rise starts from: the rolling minimum, but never from before a re-arm or
        the end of the settling time (infinite until then: nothing can be detected)."""
        valid = t >= self._settled_t
        age = self._floor_age + np.cumsum(valid)
        since = np.minimum.accumulate(
            np.concatenate(([self._floor_min], np.where(valid, closed, np.inf)))
        )
        return np.maximum(np.where(age < self._window, since[1:], rolling), 0.0)

    def _advance_floor(self, closed: np.ndarray, t: np.ndarray) -> None:
        """Account consumed samples in the baseline's look-back limits."""
        valid = t >= self._settled_t
        if self._floor_age < self._window and valid.any():
            self._floor_min = min(self._floor_min, float(closed[valid].min()))
        self._floor_age = min(self._window, self._floor_age + int(valid.sum()))

    def _first_rearm(self, t: np.ndarray, f: np.ndarray, peak: np.ndarray) -> int:
        """Index where flow has fallen enough from its running ``peak`` to allow a new
        letdown, or -1."""
        run = self._active
        drop = np.maximum(self.config.rearm_frac * (peak - run.base), 0.5 * run.threshold)
        late = t - run.foot_t >= self.config.min_interval_s
        hits = np.flatnonzero((f < peak - drop) & late)
        return int(hits[0]) if hits.size else -1

    def _detect(
        self,
        at: int,
        all_t: np.ndarray,
        all_f: np.ndarray,
        all_v: np.ndarray,
        base: float,
        threshold: float,
    ) -> list[Event]:
        """A letdown became certain at look-back index ``at``: complete the open one, start this."""
        cfg = self.config
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
        if self._open is not None:
            foot = max(foot, self._open.foot_t + 1.0 / cfg.rate_hz)
            events.append(self._complete(foot, all_t, all_v))
        rise = float(all_f[at] - base)
        self._active = self._open = _Running(
            foot_t=foot,
            detected_t=float(all_t[at]),
            volume_at_foot=float(np.interp(foot, all_t, all_v)),
            base=float(base),
            peak=float(all_f[at]),
            score=rise / threshold,
            threshold=float(threshold),
        )
        self._armed = False
        events.append(self._event(self._open))
        return events

    def _complete(self, end_t: float, all_t: np.ndarray, all_v: np.ndarray) -> Event:
        """Close the open letdown at ``end_t`` (flow time base).

        A rise that collapsed, or was cut off by the end of the stream, within
        ``evidence_s`` of its detection is completed as ``retracted``: a hand
        pressing on the bottle or the bottle lifted off, not milk ejection.
        """
        run = self._open
        self._open = None
        volume = float(np.interp(end_t, all_t, all_v)) - run.volume_at_foot
        label = "letdown" if end_t - run.detected_t >= self.config.evidence_s else "retracted"
        return self._event(run, end_t=end_t, volume=volume, label=label)

    def _event(
        self,
        run: _Running,
        end_t: float | None = None,
        volume: float | None = None,
        label: str = "letdown",
    ) -> Event:
        half_bin = 0.5 / self.config.rate_hz  # a grid bin is known once it has ended
        return Event(
            onset_s=run.foot_t - self.delay_s,
            detected_s=run.detected_t + half_bin,
            peak_flow_ml_s=run.peak,
            channel=self.channel,
            score=run.score,
            end_s=None if end_t is None else end_t - self.delay_s,
            volume_ml=volume,
            label=label,
        )


def _first_below(f: np.ndarray, run: _Running, peak: float | np.ndarray, end_frac: float) -> int:
    """Index where flow falls back near where the letdown started (``end_frac`` of its rise
    above the base, the rise measured to ``peak``: fixed, or running), or -1."""
    hits = np.flatnonzero(f < run.base + end_frac * (peak - run.base))
    return int(hits[0]) if hits.size else -1


def _padded(past: np.ndarray, new: np.ndarray, length: int, pad: float) -> np.ndarray:
    """``past`` (padded to ``length`` with ``pad`` before the stream began) then ``new``."""
    return np.concatenate((np.full(length - past.size, pad), past, new))


def _first_run(above: np.ndarray, carry: int, need: int) -> tuple[int, int]:
    """First index where ``need`` consecutive Trues end (counting ``carry`` before the
    array), or -1; and the run length at the end of the array.

    >>> _first_run(np.array([True, False, True, True, True]), 0, 3)
    (4, 3)
    >>> _first_run(np.array([True, True]), 1, 5)
    (-1, 3)
    """
    if above.size == 0:
        return -1, carry
    idx = np.arange(above.size)
    last_false = np.maximum.accumulate(np.where(above, -1, idx))
    run = idx - last_false + np.where(last_false < 0, carry, 0)
    hits = np.flatnonzero(run >= need)
    return (int(hits[0]) if hits.size else -1), int(run[-1])


def _run_after(above: np.ndarray, carry: int) -> int:
    """Run length of Trues at the end of ``above``, continuing ``carry``."""
    return _first_run(above, carry, 1 << 60)[1]
