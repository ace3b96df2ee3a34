"""One channel on the internal grid -> smoothed milk flow in mL/s.

The chain is linear first, nonlinear after (issue 12): bin means on the grid,
then a smoother that averages over whole measured pump cycles (``cycle.py``)
removes ripple and spurts (any shape, any cycle from ``ripple_min_hz`` up); only
then do thresholds see the signal, scaled by what is left of the ripple and
noise. A nonlinear stage that sees raw ripple rectifies it, and a ripple period
that is not a whole number of grid samples beats into slow oscillations that
look like flow.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Protocol

import numpy as np

from .._compiled import kernel, loop_input
from ..model import Channel
from .cycle import CycleArrays, CycleParams, box_delay, cycle_arrays, cycle_knobs, cycle_push
from .filters import SosFilter, copied, ew_mean, ew_step, sos_push

#: Running state of one flow estimator (``FlowEstimator.state``), by name.
FLOW_STATE = np.dtype(
    [
        ("fed", "i8"),  # inputs since the restart (also the slot of the next raw sample)
        ("level_ml", "f8"),  # smoothed level of the previous sample (cumulative), mL
        ("gate_on", "b1"),  # an artifact excursion is running
        ("gate_start", "i8"),  # sample where it began
        ("held_from", "i8"),  # sample whose smoothed level is level0 (before its leading tail)
        ("last_on", "i8"),  # newest sample seen inside an excursion (-big: none)
        ("level0_ml", "f8"),  # level before the excursion, mL
        ("held_ml_s", "f8"),  # flow held while an artifact is cut out, mL/s
        ("peak_exc_ml", "f8"),  # largest displacement of the level in the excursion, mL
        ("dev_z", "f8"),  # running mean square of the deviation from the flow estimate:
        ("dev_n", "f8"),  # weighted sum and samples (bias-corrected EwMean)
        ("spike_z", "f8"),  # running mean square of the spike test's deviation
        ("spike_n", "f8"),
        ("zero_z", "f8"),  # running share of exactly-zero samples (drop counters)
        ("zero_n", "f8"),
        ("counting", "b1"),  # the sensor was found to count drops (latched)
        ("signed", "b1"),  # the sensor has read a negative flow: it does not count drops
        ("anchor_ml_s", "f8"),  # smoothed flow a calm run began at, mL/s
        ("calm", "i8"),  # samples since, all within half the artifact bar of it
        ("calm_sum", "f8"),  # their smoothed flows' sum, mL/s
        ("out_ml_s", "f8"),  # newest output, mL/s
        ("cut", "i8"),  # artifact excursions cut out ever (kept across restarts)
    ],
    align=True,  # a plain aligned record: numba types it from a cache on every call
)


class FlowKnobs(NamedTuple):
    """What the compiled loop reads, converted once to samples (see ``DetectorConfig``)."""

    rate_hz: float
    margin: int  # artifact_margin_s, samples
    lead: int  # half the smoother's length, samples: how early an artifact's tail begins
    touch: int  # touch_s, samples
    settle: int  # twice the low-pass's delay, samples: how long a release takes to show
    max_step_ml_s: float
    artifact_k: float
    return_frac: float
    spike_k: float
    impulsive_share: float
    keep: float  # EwMean decay per sample (noise_tau_s)
    log_keep: float


class FlowParams(CycleParams, Protocol):
    """The settings a flow estimator reads (see ``DetectorConfig`` for units and meaning)."""

    spike_k: float
    spike_s: float
    impulsive_share: float
    cutoff_hz: float
    cumulative_cutoff_hz: float
    max_step_ml_s: float
    artifact_k: float
    artifact_margin_s: float
    touch_s: float
    return_frac: float
    noise_tau_s: float
    max_fill_s: float


def smoother_kernel(ripple_min_hz: float, rate_hz: float, boxes: int = 2) -> np.ndarray:
    """Weights of ``boxes`` cascaded boxcars of one slowest pump cycle each (sum 1): the
    smoother while no pump cycle is measured (``cycle.py``), and the level either side of
    a gap.

    A boxcar of one cycle nulls that cycle and its harmonics; two in cascade keep every
    other cycle's sidelobes 26 dB down, with a non-negative kernel: a step comes out as
    a monotone ramp of known length, never an overshoot.

    >>> w = smoother_kernel(1.0, 10.0)
    >>> w.size, round(float(w.sum()), 6)
    (19, 1.0)
    """
    box = np.full(max(1, round(rate_hz / ripple_min_hz)), 1.0)
    w = box
    for _ in range(boxes - 1):
        w = np.convolve(w, box)
    return w / w.sum()


class FlowEstimator:
    """Causal flow estimate for one channel on a uniform grid.

    Cumulative channels (volume, weight, pressure) are scaled to mL, smoothed
    over whole pump cycles, differentiated, cleared of artifacts (a hand, a
    lift, a tare: the smoothed flow leaves the estimate faster than milk can;
    flow is held until the level is back or has settled elsewhere), then
    low-passed. Flow channels lose isolated spikes (bubbles; not the drops of a
    drop counter), are smoothed the same way and low-passed. Gaps up to
    ``max_fill_s`` are bridged by interpolating the channel between the
    samples around them; longer gaps give NaN and restart the filters.

    The running state is ``state`` (a ``FLOW_STATE`` record with the raw-sample
    ring and the low-pass ``zi``): read it, save it, restore it.

    Args:
        channel: column name, e.g. ``weight_g_left``.
        ml_per_unit: millilitres per channel unit (1/g_per_ml, 1/pa_per_ml, 1).
        params: filter settings.
    """

    def __init__(self, channel: str, ml_per_unit: float, params: FlowParams) -> None:
        self.channel = channel
        self.ml_per_unit = ml_per_unit
        self.params = params
        rate = params.rate_hz
        self._cumulative = Channel(channel).is_cumulative
        self._cycle_knobs = cycle_knobs(params)
        self._weights = smoother_kernel(params.ripple_min_hz, rate, self._cycle_knobs.boxes)
        self._window = self._weights.size  # samples each side a gap's bridge is drawn from
        # A cumulative channel's raw level still carries the whole pump ripple: a median
        # wider than three samples follows a fast cycle less and would clip its peaks (a
        # nonlinear stage on raw ripple, issue 12), so only flow sensors, whose glitches
        # are air bubbles, get the ``spike_s`` window.
        half = 1 if self._cumulative else max(1, round(params.spike_s * rate))
        self._spike_size = 2 * half + 1
        keep = math.exp(-1.0 / (params.noise_tau_s * rate))
        cutoff = params.cumulative_cutoff_hz if self._cumulative else params.cutoff_hz
        self._lowpass = SosFilter(cutoff, rate)
        self._knobs = FlowKnobs(
            rate_hz=float(rate),
            settle=round(2.0 * self._lowpass.delay_s * rate),
            margin=max(0, round(params.artifact_margin_s * rate)),
            lead=(self._weights.size - 1) // 2,
            touch=max(1, round(params.touch_s * rate)),
            max_step_ml_s=float(params.max_step_ml_s),
            artifact_k=float(params.artifact_k),
            return_frac=float(params.return_frac),
            spike_k=float(params.spike_k),
            impulsive_share=float(params.impulsive_share),
            keep=keep,
            log_keep=math.log(keep),
        )
        self._kernel = _cumulative_run if self._cumulative else _direct_run
        # The delay beside the smoother's: spike test (or the artifact margin) and low-pass.
        half = self._spike_size // 2  # the spike test judges the middle of its window
        extra = self._knobs.margin + half if self._cumulative else half  # samples
        self._fixed_delay_s = extra / rate + self._lowpass.delay_s
        self._scale = float(ml_per_unit)  # floats only: every call hits one compiled loop
        self.reset()

    @property
    def step_bump(self) -> float:
        """Height of the flow bump (mL/s) one step of 1 mL of a cumulative channel's level
        makes, at most (through the smoother at its shortest and the low-pass); 0 for
        flow channels."""
        if not self._cumulative:
            return 0.0
        rate = self.params.rate_hz
        least = max(1, round(self._cycle_knobs.least))
        spread = smoother_kernel(rate / least, rate, self._cycle_knobs.boxes)
        return float(np.convolve(spread, self._lowpass.impulse_response()).max() * rate)

    @property
    def delay_s(self) -> float:
        """How late a rise shows in the output while no pump cycle is measured (the
        longest smoother: what ``process`` reports until it measures one), s; ``process``
        gives each sample's own delay."""
        knobs = self._cycle_knobs
        smoother = knobs.boxes * box_delay.py_func(knobs.longest)  # samples
        return self._fixed_delay_s + smoother / self.params.rate_hz

    @property
    def jumps_cut(self) -> int:
        """Artifact excursions (hand, lift, tare) cut out so far."""
        return int(self._state[0]["cut"])

    @property
    def state(self) -> dict[str, object]:
        """The running state (copies): the ``FLOW_STATE`` record, the rings, the low-pass
        ``zi`` and any gap still waiting to be bridged. Restore by assigning it."""
        return copied(
            {
                "flow": self._state,
                "cycle": self._cycle,
                "levels": self._levels,
                "lowpass_past": self._lowpass_past,
                "recent": self._recent,
                "spike_window": self._spike_window,
                "zi": self._lowpass._zi,
                "pending": (self._pending_t, self._pending_x),
            }
        )

    @state.setter
    def state(self, saved: dict[str, object]) -> None:
        saved = copied(saved)
        self._state, self._cycle, self._levels = saved["flow"], saved["cycle"], saved["levels"]
        self._lowpass_past = saved["lowpass_past"]
        self._recent, self._spike_window = saved["recent"], saved["spike_window"]
        self._lowpass._zi = saved["zi"]
        self._pending_t, self._pending_x = saved["pending"]

    def reset(self) -> None:
        """Back to the just-built state."""
        self._state = np.zeros(1, FLOW_STATE)
        self._restart()
        self._pending_t: np.ndarray | None = None  # an unfinished gap and the samples after
        self._pending_x: np.ndarray | None = None  # it (in mL or mL/s)

    def process(self, t_s: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Feed grid samples (NaN = missing); get ``(t_s, flow_ml_s, delay_s)``: each
        output sample's flow and how late it shows a change (the smoother follows the
        measured pump cycle, so the delay does too; a sample held over an artifact is as
        late as the flow it holds), s.

        A gap is bridged once a smoother's worth of samples after it has arrived, so
        output may trail the input by the gap plus three slowest pump cycles.
        """
        return self.process_known(t_s, x)[:3]

    def process_known(
        self, t_s: np.ndarray, x: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``process``, and the grid time each output sample became known, s: its own time,
        or for a gap's bridge and the samples after it, the time of the last sample the
        bridge needed (a letdown seen on the bridge is news only then)."""
        if self._pending_t is None:  # the common case: runs of finite samples
            flow, delay = self._run(x, self._scale)
            if flow.size == x.size:
                return t_s, flow, delay, t_s
            t_head, t_s, x = t_s[: flow.size], t_s[flow.size :], x[flow.size :] * self.ml_per_unit
        else:
            t_head, flow, delay = t_s[:0], np.empty(0), np.empty(0)
            t_s = np.concatenate((self._pending_t, t_s))
            x = np.concatenate((self._pending_x, x * self.ml_per_unit))
            self._pending_t = self._pending_x = None
        t, out, late, known = self._bridge(t_s, x)
        return (
            np.concatenate((t_head, t)),
            np.concatenate((flow, out)),
            np.concatenate((delay, late)),
            np.concatenate((t_head, known)),
        )

    def _bridge(
        self, t: np.ndarray, x: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Flow, delay and known time (``process_known``) of samples with gaps (mL or mL/s,
        NaN = missing), up to an unsettled gap."""
        out = np.full(t.size, np.nan)
        late = np.full(t.size, np.nan)
        known = t.copy()
        missing = ~np.isfinite(x)
        edges = np.flatnonzero(np.diff(np.concatenate(([0], missing.view(np.int8), [0]))))
        window = self._window
        max_fill = int(self.params.max_fill_s * self.params.rate_hz)
        pos = 0
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            if start > pos:
                out[pos:start], late[pos:start] = self._run(x[pos:start], 1.0)
            pos = stop
            fed = int(self._state[0]["fed"])
            recent = self._recent if fed >= window else self._recent[:fed]
            if fed >= window:  # oldest first
                recent = np.roll(recent, -(fed % window))
            if stop - start > max_fill or recent.size == 0:
                self._restart()  # flow across a long gap is unknown
                continue
            # A long gap on a cumulative channel waits for two smoother lengths after it: the
            # flow after the gap, to place a rise that began inside it (below).
            kink = self._cumulative and stop - start > 2 * window
            need = 2 * window if kink else window
            after = x[stop : stop + need]
            settled = after.size == need or (after.size and not np.isfinite(after).all())
            if not settled:  # wait for enough samples after the gap to know its level
                self._pending_t, self._pending_x = t[start:], x[start:]
                return t[:start], out[:start], late[:start], known[:start]
            after = after[: int(np.argmin(np.isfinite(np.append(after, np.nan))))]
            known[start : stop + after.size] = t[stop + after.size - 1]
            # Bridge between ripple-free levels on either side: the smoother's own
            # weighted means over whole pump cycles (centred in time). A median or a short
            # mean of a rippling level depends on the ripple's phase at the gap's edge.
            later = after[window:]
            after = after[:window]
            x0, x1 = self._level_of(recent), self._level_of(after)
            i0 = start - (recent.size + 1) / 2
            st = self._state[0]
            if self._cumulative and st["gate_on"]:
                # The link dropped during an artifact (a hand, a lift): the level before
                # the gap is where the bottle would stand without it, the level before the
                # excursion plus the milk since, not the hand's weight.
                since = fed - 1 - st["held_from"]
                x0 = st["level0_ml"] + st["held_ml_s"] * since / self.params.rate_hz
            i1 = stop + (after.size - 1) / 2
            fill = x0 + (x1 - x0) * (np.arange(start, stop) - i0) / (i1 - i0)
            if self._cumulative:
                # A level that moved across the gap faster than milk can (the bottle
                # lifted, swapped or tared while the link was down) is a step, not flow:
                # the flow from before continues through the gap, and the step at its end
                # goes to the artifact gate like any other.
                rate = self.params.rate_hz
                before = float(self._state[0]["out_ml_s"])
                if abs((x1 - x0) * rate / (i1 - i0) - before) > self.params.max_step_ml_s:
                    fill = x0 + before * (np.arange(start, stop) - i0) / rate
                elif kink and later.size == window and not st["gate_on"]:
                    fill = self._kinked(fill, start, stop, i0, i1, x0, x1, before, later)
            out[start:stop], late[start:stop] = self._run(fill, 1.0)
        if pos < t.size:
            out[pos:], late[pos:] = self._run(x[pos:], 1.0)
        return t, out, late, known

    def _kinked(
        self, fill: np.ndarray, start: int, stop: int, i0: float, i1: float, x0: float,
        x1: float, before: float, later: np.ndarray,
    ) -> np.ndarray:  # fmt: skip
        """A gap's bridge with the flow from before it until a rise, then the flow after it:
        when the milk across the gap is more than the flow before it explains and less than
        the flow after it would, a letdown began inside the gap, where the two add up (a
        straight bridge dated it at the gap's start, up to a minute early)."""
        rate = self.params.rate_hz
        window = self._window
        after = (self._level_of(later) - x1) * rate / window  # flow after the gap, mL/s
        span = (i1 - i0) / rate
        milk = x1 - x0
        if not (after > before and before * span < milk < after * span):
            return fill
        rise = i0 + (milk - after * span) / (before - after) * rate  # sample the rise began
        i = np.arange(start, stop)
        return np.where(i < rise, x0 + before * (i - i0) / rate, x1 - after * (i1 - i) / rate)

    def _level_of(self, x: np.ndarray) -> float:
        """Ripple-free level of consecutive samples: the smoother's weighted mean when there
        are enough of them (its kernel is symmetric: centred in the middle), else the mean."""
        if x.size == self._weights.size:
            return float(np.dot(self._weights, x))
        return float(np.mean(x))

    def _restart(self) -> None:
        """Filters start afresh with the next sample (at reset, or after a long gap)."""
        cut = int(self._state[0]["cut"])
        self._state = np.zeros(1, FLOW_STATE)
        self._state[0]["cut"] = cut
        self._state[0]["last_on"] = -(1 << 40)
        self._lowpass.reset()
        self._recent = np.zeros(self._window)  # newest inputs (a smoother's worth), mL or mL/s
        self._cycle: CycleArrays = cycle_arrays(self._cycle_knobs)  # the pump-cycle smoother
        self._spike_window = np.zeros(self._spike_size)  # newest inputs the spike test sees
        # Smoothed level, its flow, the output and the smoother's delay (samples) of the
        # newest margin + lead + 1 samples (cumulative): what they were before an
        # artifact's leading tail began.
        self._levels = np.zeros((4, self._knobs.margin + self._knobs.lead + 1))
        # The low-pass's state after each of those samples (cumulative): what it was before
        # an artifact's leading tail got in.
        self._lowpass_past = np.zeros((self._levels.shape[1], self._lowpass._sos.shape[0], 2))

    def _run(self, x: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
        """Smoothed flow (mL/s) and its delay (s) of the samples of ``x`` (times ``scale``:
        mL or mL/s) up to the first missing one."""
        x = loop_input(x)
        raw = np.empty(x.size)
        late = np.empty(x.size)
        if self._lowpass._zi is None and x.size and np.isfinite(x[0]):
            first = 0.0 if self._cumulative else float(x[0]) * scale
            self._lowpass._zi = self._lowpass._zi_step * first
        zi = self._lowpass._zi if self._lowpass._zi is not None else np.zeros((1, 2))
        n = self._kernel(
            self._knobs, self._cycle_knobs, scale, self._state, self._recent,
            self._spike_window, *self._cycle, self._levels, self._lowpass_past,
            self._lowpass._sos, zi, self._lowpass._zi_step, x, raw, late,
        )  # fmt: skip
        return raw[:n], late[:n] / self.params.rate_hz + self._fixed_delay_s


@kernel
def _remember(st, recent, v: float) -> None:
    """Keep the newest inputs (a smoother's worth of them) for bridging a gap."""
    recent[st.fed % recent.size] = v


@kernel
def _median(window) -> float:
    """Median of a short window of odd length: an insertion sort of a copy (quick to
    compile, and as fast as a selection for a handful of samples)."""
    buf = window.copy()
    for i in range(1, buf.size):
        v, j = buf[i], i - 1
        while j >= 0 and buf[j] > v:
            buf[j + 1] = buf[j]
            j -= 1
        buf[j + 1] = v
    return buf[buf.size // 2]


@kernel
def _despike(knobs, st, window, v: float, counting: bool) -> float:
    """The sample in the middle of the window ending with ``v``, or the window's median
    when it stands further out than ``spike_k`` typical deviations: a glitch (a bubble,
    an ADC glitch, a knock) that no milk flow or level can make. A one-sample glitch
    beside an interpolated (empty) grid bin covers two grid samples, so the window spans
    ``spike_s`` on either side of the judged sample. Never for a sensor that counts
    drops (``counting``): there the impulses are the milk."""
    n, size = st.fed, window.size
    if n == 0:
        window[:] = v
    window[n % size] = v
    mid = window[(n - size // 2) % size]
    med = _median(window)
    dev = mid - med
    # A tenth of the noise time constant of the stream measures its typical deviation.
    known = st.spike_n * -knobs.log_keep >= 0.1
    mean_sq = ew_mean(st.spike_z, st.spike_n, knobs.log_keep) if known else 0.0
    bar = knobs.spike_k * math.sqrt(mean_sq)
    if not counting and known and abs(dev) > bar:
        st.cut += 1
        return med
    if not known or abs(dev) <= bar:  # spikes do not raise the bar they are judged by
        st.spike_z, st.spike_n, _ = ew_step(
            st.spike_z, st.spike_n, knobs.keep, knobs.log_keep, dev * dev
        )
    return mid


@kernel
def _cumulative_run(
    knobs, cknobs, scale, state, recent, spiky, cycle, diffs, acf, boxes, levels, past, sos,
    zi, zi_step, x, out, late,
) -> int:  # fmt: skip
    """Smoothed level, differentiated, artifacts held over, low-passed: flow of a
    cumulative channel, mL/s, and the smoother's delay behind each output, samples. Stops
    at the first missing sample; returns how many it took (the output is ``margin``
    samples late: an artifact seen now is cut out from ``margin`` samples before it)."""
    st = state[0]
    ring = levels.shape[1]
    m = knobs.margin
    for i in range(x.size):
        v = x[i] * scale
        if not np.isfinite(v):
            return i
        n = st.fed
        _remember(st, recent, v)
        level = cycle_push(cknobs, cycle, diffs, acf, boxes, _despike(knobs, st, spiky, v, False))
        smoother = cycle[0].delay  # samples; the smoother lets an artifact in this early
        lead = math.ceil(smoother)
        if n == 0:
            st.level_ml = level
            levels[0, :] = level
            levels[1, :] = 0.0
            levels[2, :] = 0.0
            levels[3, :] = smoother
        # Flow, mL/s, ripple already gone. The smoother reads the level ``smoother``
        # samples late; when that delay changes by ``dd`` in a sample the smoothed level
        # moves by (1 - dd) samples of milk, which the division undoes.
        dd = smoother - levels[3, (n - 1) % ring] if n > 0 else 0.0
        d = (level - st.level_ml) * knobs.rate_hz / (1.0 - dd)
        if n <= 2 * knobs.lead:
            # The smoother still holds copies of the first sample, taken at whatever phase
            # of the ripple it came: its level moves towards the true mean as real samples
            # replace them, which is no flow.
            d = 0.0
        st.level_ml = level
        slot = n % ring
        levels[0, slot], levels[1, slot], levels[3, slot] = level, d, smoother
        # Artifacts: the smoothed flow leaves the estimate faster than milk can, or by
        # many times the ripple and noise left after smoothing (measured on this stream).
        dev = d - st.out_ml_s
        # The stream's own deviation counts once a noise time constant of it is known;
        # a mean of a few samples would chase a transient that begins with the stream.
        known = st.dev_n * -knobs.log_keep >= 1.0
        mean_sq = ew_mean(st.dev_z, st.dev_n, knobs.log_keep) if known else 0.0
        wide = knobs.artifact_k * math.sqrt(mean_sq)  # the stream's typical deviations
        bar = max(knobs.max_step_ml_s, wide)
        # How long the smoothed flow has stayed put: an artifact's step is spread over the
        # whole smoother, so a calm run longer than the smoother has none inside it.
        if abs(d - st.anchor_ml_s) <= 0.5 * bar:
            st.calm += 1
            st.calm_sum += d
        else:
            st.anchor_ml_s, st.calm, st.calm_sum = d, 0, 0.0
        if not st.gate_on:
            if abs(dev) > bar:
                st.gate_on, st.gate_start, st.cut = True, n, st.cut + 1
                # Level and flow from before its leading tail: the smoother lets an
                # artifact in up to half its length before the bar sees it.
                st.held_from = n - m - lead
                st.level0_ml = levels[0, st.held_from % ring]
                st.held_ml_s, st.peak_exc_ml = levels[2, (n - lead) % ring], 0.0
                # The low-pass has already taken lead - margin samples of that tail: it
                # goes back to its state before them and takes the held flow instead (a
                # hand's few grams crossing the bar late left a bump of 0.3 mL/s that read
                # as a letdown, announced and taken back).
                before = n - lead + m - 1  # the sample whose state precedes the tail
                if lead > m and before >= 0 and n - before < ring:
                    for sec in range(zi.shape[0]):
                        zi[sec, 0], zi[sec, 1] = (
                            past[before % ring, sec, 0],
                            past[before % ring, sec, 1],
                        )
                    for _ in range(lead - m):
                        sos_push(sos, zi, st.held_ml_s)
            elif abs(dev) <= 0.5 * bar:
                # Only samples well inside the bar measure it: a transient the bar is
                # still catching up with must not raise it (it would chase the artifact).
                st.dev_z, st.dev_n, _ = ew_step(
                    st.dev_z, st.dev_n, knobs.keep, knobs.log_keep, dev * dev
                )
        if st.gate_on:
            st.last_on = n
            since = n - st.held_from  # samples since level0
            expected = st.level0_ml + st.held_ml_s * since / knobs.rate_hz
            away = abs(level - expected)
            st.peak_exc_ml = max(st.peak_exc_ml, away)
            # Back once the level is near where it was and the excursion has left the
            # smoother: a scale's own smoothing (first order, up to 1 s) brings the level
            # back along an exponential whose last fifth, let through, read as a dip or a
            # bump of 0.1-0.2 mL/s (a hand tugging on a 1 s-smoothed scale gave a retracted
            # alert every time). So the smoothed flow must also have stopped moving: over
            # half a smoother it changes by no more than the bar's typical deviations.
            still = abs(d - levels[1, (n - lead) % ring]) <= wide
            back = (
                away <= knobs.return_frac * st.peak_exc_ml
                and abs(dev) <= bar
                and (still or not known)
            )
            if back:
                st.gate_on = False  # back where it was (a touch, a lift)
            elif n - st.gate_start < knobs.touch or st.calm <= 2 * lead:
                pass  # still away, or still moving: an artifact's step fills the smoother
            elif level < expected:
                st.gate_on = False  # a new, lower level: tare, swapped or lifted bottle
            else:
                # A new, higher level, settled: a rise that only looked like a step (milk
                # pulls the level up; a hand seldom rests for long). From now on the flow
                # is its derivative: the estimate starts from it, or the held flow would
                # stay further from it than the bar and each sample would be cut out again.
                # It starts from the calm run's mean flow: one sample's derivative still
                # carries what ripple and noise the smoother lets through.
                st.gate_on = False
                calm = st.calm_sum / st.calm
                st.held_ml_s = st.out_ml_s = calm
                for sec in range(zi.shape[0]):  # the low-pass at rest there
                    zi[sec, 0], zi[sec, 1] = zi_step[sec, 0] * calm, zi_step[sec, 1] * calm
        st.fed = n + 1
        # The sample margin samples ago is decided now: cut out if an excursion was seen
        # within margin samples on either side of it.
        j = n - m
        g = st.held_ml_s if st.last_on >= j - m else levels[1, (j if j > 0 else 0) % ring]
        if j < 0:
            g = 0.0
        st.out_ml_s = sos_push(sos, zi, g)
        levels[2, slot] = st.out_ml_s
        for sec in range(zi.shape[0]):
            past[slot, sec, 0], past[slot, sec, 1] = zi[sec, 0], zi[sec, 1]
        out[i] = st.out_ml_s
        late[i] = levels[3, (j if j > 0 else 0) % ring]
        if st.last_on >= j - m - knobs.settle:
            # Held, or the low-pass still settling from it: the sample tells of the flow
            # from before the artifact's leading tail, not of now; its delay is that age
            # (a rise that began under a lifted bottle gets its onset there, not after).
            late[i] += max(0, j - st.held_from)
    return x.size


@kernel
def _direct_run(
    knobs, cknobs, scale, state, recent, spiky, cycle, diffs, acf, boxes, levels, past, sos,
    zi, zi_step, x, out, late,
) -> int:  # fmt: skip
    """Spikes replaced, smoothed, low-passed: flow of a flow channel, mL/s (half a spike
    window late: a spike is known once the samples after it are), and the smoother's
    delay behind each output, samples. Stops at the first missing sample; returns how
    many it took."""
    st = state[0]
    for i in range(x.size):
        v = x[i] * scale
        if not np.isfinite(v):
            return i
        n = st.fed
        _remember(st, recent, v)
        st.zero_z, st.zero_n, zeros = ew_step(
            st.zero_z, st.zero_n, knobs.keep, knobs.log_keep, 1.0 if v == 0.0 else 0.0
        )
        # A drop counter reads mostly zeros and whole drops: its impulses are the milk.
        # Latched: a sensor does not change kind, and during fast flow, when drops fall in
        # most samples, its zeros become rare while its impulses are still the milk.
        # A quantised sensor near zero flow also reads mostly zeros, but a drop counter
        # never reads a negative flow.
        st.signed = st.signed or v < 0.0
        st.counting = not st.signed and (st.counting or zeros > knobs.impulsive_share)
        mid = _despike(knobs, st, spiky, v, st.counting)
        out[i] = sos_push(sos, zi, cycle_push(cknobs, cycle, diffs, acf, boxes, mid))
        late[i] = cycle[0].delay
        st.fed = n + 1
    return x.size
