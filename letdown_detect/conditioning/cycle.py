"""The pump-cycle smoother: averages over whole *measured* pump cycles (issue 12).

Pump ripple repeats with the pump's cycle (0.6-2 Hz; on a vacuum-coupled sensor with
strong 2nd and 3rd harmonics). A boxcar exactly one cycle long nulls that cycle and
every harmonic of it, with a non-negative kernel (a step comes out as a monotone ramp,
never an overshoot); two in cascade (``smoother_boxes``) also keep a cycle that is not
quite matched 25-40 dB down. The slowest cycle (``ripple_min_hz``) sets the longest
boxcar, which is safe for any pump; measuring the running cycle lets the boxcars be
that long only while the pump really is that slow. At a 1 Hz expression cycle the
smoother is 0.9 s late instead of 2.4 s (the earlier three fixed 1/0.6 s boxcars).

**Noise.** Shorter boxcars pass more sensor noise; the low-pass after them sets the
noise instead (``cumulative_cutoff_hz``), chosen so that the flow noise equals that of
the earlier chain while the whole chain is still about 1 s less late: a boxcar that
nulls the ripple exactly is the cheapest place to spend delay, and the low-pass the
cheapest place to buy noise.

**Measuring the cycle.** The running autocorrelation of the input's first difference
(the difference removes the level and its slow milk flow; ripple and noise remain) is
kept for lags between ``1/ripple_max_hz`` and ``1/ripple_min_hz``. The cycle is the
shortest lag whose peak comes within ``cycle_tie`` of the highest: for a periodic
signal the autocorrelation at one cycle is at least that at half a cycle (the
harmonics' terms at half a cycle alternate in sign), so a harmonic never wins, and
whole multiples of the cycle, which tie with it, lose to it. A parabola through the
peak refines it between samples. A peak below ``cycle_min_corr`` of the zero lag (no
ripple, or ripple weaker than the noise) is no measurement: the boxcars go back to the
longest. A difference beyond ``cycle_clip`` typical differences (a hand, a lift, a
tare) is clipped before it enters the autocorrelation, so an artifact does not blind
the tracker for minutes.

**Changing length.** The boxcars follow the measured cycle by at most ``cycle_slew``
samples per sample. The smoother's delay changes as fast, which adds at most that
fraction of the flow to the estimate (a level read ever less late rises faster than
the milk): 5% of the flow, where a new letdown must rise by 25% of it (``rel_rise``).
Each output sample carries the delay it was made with, and onsets are corrected by it.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Protocol

import numpy as np

from .._compiled import kernel, loop_input
from .filters import copied

#: Running state of one pump-cycle smoother, by name.
CYCLE_STATE = np.dtype(
    [
        ("fed", "i8"),  # inputs since the restart
        ("previous", "f8"),  # the previous input (its first difference is tracked)
        ("weight", "f8"),  # weight the autocorrelation has seen (for its bias correction)
        ("length", "f8"),  # the boxcars' length now, samples (fractional)
        ("delay", "f8"),  # the cascade's delay now, samples
    ],
    align=True,  # a plain aligned record: numba types it from a cache on every call
)


class CycleKnobs(NamedTuple):
    """What the compiled loop reads, converted once to samples (see ``DetectorConfig``)."""

    shortest: int  # 1/ripple_max_hz, samples (lowest lag searched)
    longest: float  # 1/ripple_min_hz, samples (the boxcars' length with no measurement)
    least: float  # smoother_min_s, samples (the boxcars' least length)
    boxes: int  # boxcars in cascade
    keep: float  # autocorrelation decay per sample (cycle_tau_s)
    min_corr: float
    tie: float
    clip: float
    slew: float  # samples per sample, shortening
    slew_up: float  # samples per sample, lengthening


class CycleParams(Protocol):
    """The settings a pump-cycle smoother reads (see ``DetectorConfig``)."""

    rate_hz: float
    ripple_min_hz: float
    ripple_max_hz: float
    cycle_tau_s: float
    cycle_min_corr: float
    cycle_tie: float
    cycle_clip: float
    cycle_slew: float
    cycle_slew_up: float
    smoother_min_s: float
    smoother_boxes: float


def cycle_knobs(params: CycleParams) -> CycleKnobs:
    """The smoother's settings in samples at the grid rate."""
    rate = params.rate_hz
    longest = max(1.0, rate / params.ripple_min_hz)
    return CycleKnobs(
        shortest=max(2, math.floor(rate / params.ripple_max_hz)),
        longest=longest,
        least=min(longest, params.smoother_min_s * rate),
        boxes=max(1, round(params.smoother_boxes)),
        keep=math.exp(-1.0 / (params.cycle_tau_s * rate)),
        min_corr=float(params.cycle_min_corr),
        tie=float(params.cycle_tie),
        clip=float(params.cycle_clip),
        slew=float(params.cycle_slew),
        slew_up=float(params.cycle_slew_up),
    )


@kernel
def box_delay(length: float) -> float:
    """Delay of one boxcar of ``length`` samples (fractional: the oldest sample weighs the
    fraction), samples: the centroid of its weights."""
    whole = int(length)
    part = length - whole
    return (whole * (whole - 1) / 2 + part * whole) / length


class CycleArrays(NamedTuple):
    """A smoother's arrays: its ``CYCLE_STATE`` record, the newest first differences, their
    autocorrelation by lag, and the newest input of each boxcar (rows)."""

    state: np.ndarray
    diffs: np.ndarray
    acf: np.ndarray
    boxes: np.ndarray


def cycle_arrays(knobs: CycleKnobs) -> CycleArrays:
    """Fresh arrays for a smoother: the boxcars start at the longest length."""
    lags = math.ceil(knobs.longest) + 2  # every lag searched, and one beyond (the parabola)
    state = np.zeros(1, CYCLE_STATE)
    state[0]["length"] = knobs.longest
    state[0]["delay"] = knobs.boxes * box_delay.py_func(knobs.longest)  # no compiled call
    return CycleArrays(state, np.zeros(lags), np.zeros(lags), np.zeros((knobs.boxes, lags)))


@kernel
def _box(row, slot: int, length: float) -> float:
    """Mean of the newest ``length`` samples of a ring ending at ``slot`` (the oldest one
    weighs the fraction of ``length``)."""
    size = row.size
    whole = int(length)
    acc = 0.0
    for k in range(whole):
        acc += row[(slot - k) % size]
    acc += (length - whole) * row[(slot - whole) % size]
    return acc / length


@kernel
def _peak(acf, k: int):
    """The parabola through the autocorrelation at lags ``k - 1 .. k + 1``: its vertex's
    lag offset and height (``k`` itself when the three do not curve down)."""
    curve = acf[k - 1] - 2.0 * acf[k] + acf[k + 1]
    if curve >= 0.0:
        return 0.0, acf[k]
    shift = 0.5 * (acf[k - 1] - acf[k + 1]) / curve
    return shift, acf[k] - 0.25 * (acf[k - 1] - acf[k + 1]) * shift


@kernel
def _measured_cycle(knobs, acf) -> float:
    """The pump cycle the autocorrelation shows, samples, or the longest boxcar when it
    shows none."""
    top = math.ceil(knobs.longest)
    best = 0.0
    for k in range(knobs.shortest, top + 1):
        if acf[k] >= acf[k - 1] and acf[k] >= acf[k + 1]:
            best = max(best, _peak(acf, k)[1])
    if acf[0] <= 0.0 or best < knobs.min_corr * acf[0]:
        return knobs.longest
    for k in range(knobs.shortest, top + 1):
        if acf[k] >= acf[k - 1] and acf[k] >= acf[k + 1]:
            shift, height = _peak(acf, k)
            if height >= knobs.tie * best:
                return min(max(k + shift, float(knobs.shortest)), knobs.longest)
    return knobs.longest


@kernel
def cycle_push(knobs, state, diffs, acf, boxes, v: float) -> float:
    """Add ``v`` to the smoother; return its output: the mean over whole measured pump
    cycles, ``knobs.boxes`` boxcars deep (``state.delay`` samples late). Before the first
    sample the past counts as copies of it."""
    st = state[0]
    n, size = st.fed, diffs.size
    slot = n % size
    if n == 0:
        for b in range(boxes.shape[0]):
            for k in range(boxes.shape[1]):
                boxes[b, k] = v
        st.previous = v
    # Track the cycle: the running autocorrelation of the clipped first difference.
    u = v - st.previous
    st.previous = v
    if st.weight > 0.5:  # the typical difference is known after about a time constant
        bound = knobs.clip * math.sqrt(acf[0] / st.weight)
        u = min(max(u, -bound), bound)
    diffs[slot] = u
    for k in range(min(n + 1, size)):
        acf[k] = knobs.keep * acf[k] + (1.0 - knobs.keep) * u * diffs[(slot - k) % size]
    st.weight = knobs.keep * st.weight + (1.0 - knobs.keep)
    cycle = _measured_cycle(knobs, acf)
    # Whole cycles: the fewest that span ``least``, but never longer than the longest.
    cycles = math.ceil(knobs.least / cycle - 0.05)  # (a cycle 5% short of it will do)
    while cycles > 1 and cycles * cycle > knobs.longest:
        cycles -= 1
    target = min(cycles * cycle, knobs.longest)
    st.length += min(max(target - st.length, -knobs.slew), knobs.slew_up)
    st.fed = n + 1
    # The cascade: each boxcar's newest input is the output of the one before.
    x = v
    for b in range(boxes.shape[0]):
        boxes[b, slot] = x
        x = _box(boxes[b], slot, st.length)
    st.delay = boxes.shape[0] * box_delay(st.length)
    return x


@kernel
def _cycle_run(knobs, state, diffs, acf, boxes, x, out, delay) -> None:
    for i in range(x.size):
        out[i] = cycle_push(knobs, state, diffs, acf, boxes, x[i])
        delay[i] = state[0]["delay"]


class CycleSmoother:
    """The pump-cycle smoother as a stage of its own (the flow estimator runs its loop
    inside its own): finite samples in, their mean over whole measured pump cycles out.

    >>> from letdown_detect.params import DetectorConfig
    >>> t = np.arange(0, 60, 0.1)
    >>> x = 0.3 * t + 2.0 * np.sin(2 * np.pi * 1.0 * t)  # a level rising under 1 Hz ripple
    >>> s = CycleSmoother(DetectorConfig())
    >>> y = s.process(x)
    >>> round(s.cycle_s, 2), bool(np.ptp(np.diff(y[-100:]) * 10) < 0.05)
    (1.0, True)
    """

    def __init__(self, params: CycleParams) -> None:
        self.rate_hz = float(params.rate_hz)
        self._knobs = cycle_knobs(params)
        self.reset()

    def reset(self) -> None:
        """Back to the just-built state."""
        self._arrays = cycle_arrays(self._knobs)

    @property
    def cycle_s(self) -> float:
        """The boxcars' length now, s (the measured pump cycle once it is known)."""
        return float(self._arrays.state[0]["length"]) / self.rate_hz

    @property
    def delay_s(self) -> float:
        """How late the output is now, s."""
        return float(self._arrays.state[0]["delay"]) / self.rate_hz

    @property
    def state(self) -> CycleArrays:
        """The running state (copies); restore by assigning it."""
        return CycleArrays(*copied(tuple(self._arrays)))

    @state.setter
    def state(self, saved: CycleArrays) -> None:
        self._arrays = CycleArrays(*copied(tuple(saved)))

    def process(self, x: np.ndarray) -> np.ndarray:
        """Smooth a chunk of finite samples; returns a new array of the same length."""
        out, delay = np.empty(x.size), np.empty(x.size)
        _cycle_run(self._knobs, *self._arrays, loop_input(x), out, delay)
        return out
