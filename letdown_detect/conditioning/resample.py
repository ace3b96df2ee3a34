"""Causal resampling of uneven timestamps onto a uniform internal grid.

A Bluetooth scale sends its samples in radio packets of 2-4, stamped when they
arrive, a few ms apart: samples measured over a third of a second land in one grid
bin, the bins after it are empty, and the pump ripple between them is lost to
aliasing (its harmonics fold down to a fraction of a hertz, where no smoother
of the pump cycle removes them). A stream whose samples mostly arrive so close
together is re-timed: the samples of one packet were measured evenly over the time
since the previous packet, at most one mean interval apart, the newest at its
arrival.
"""

from __future__ import annotations

import math

import numpy as np

from .._compiled import inline_kernel, kernel, loop_input
from ..errors import ConfigError
from ..params import DetectorConfig
from .filters import ew_mean, ew_step

#: Running state of a resampler (``Resampler.state``), by name.
RESAMPLE_STATE = np.dtype(
    [
        ("held_n", "i8"),  # samples in the bin still filling (0 before the first sample)
        ("held_bin", "i8"),  # its bin index
        ("has_last", "b1"),  # a bin was emitted yet
        ("last_bin", "i8"),  # the newest emitted bin
        ("gaps", "i8"),  # silences longer than gap_s
        ("dropped", "i8"),  # samples out of order or not finite in time
        ("held_first_t", "f8"),  # the filling bin's first and last sample times, s
        ("held_last_t", "f8"),
        ("last_t", "f8"),  # the last sample time of the newest emitted bin, s
        ("newest_t", "f8"),  # arrival time of the newest sample accepted, s
        ("interval_z", "f8"),  # mean interval between arrivals (ew_step: sum, count), s
        ("interval_n", "f8"),
        ("short_z", "f8"),  # share of intervals under burst_frac of the mean (ew_step)
        ("short_n", "f8"),
        ("pending", "i8"),  # samples of the packet still arriving
    ],
    align=True,
)
#: Per channel: the filling bin's sum and count of finite values, and the newest bin's mean.
CHANNEL_STATE = np.dtype([("sum", "f8"), ("count", "f8"), ("last", "f8")], align=True)
#: Most samples one radio packet holds; a longer run of close arrivals is released in parts.
MAX_PACKET = 16
#: Arrivals over which the mean interval and the share of close arrivals are measured
#: (a time constant, in arrivals), and how many are measured before the share counts.
_MEASURE_N = 100.0
_MEASURED_AFTER = 10.0


class Resampler:
    """Average samples into bins of ``1/rate_hz`` s; fill short holes, mark gaps.

    Bin ``b`` covers ``[b/rate_hz, (b+1)/rate_hz)`` and is stamped at its centre.
    A bin is emitted once a sample past it arrives (no look-ahead beyond that; a
    stream that comes in packets waits for the next packet). Empty bins between two
    samples less than ``gap_s`` apart are interpolated linearly (a slow sensor or a
    lost sample); across a longer silence they are NaN: a gap, never invented flow.
    Output never depends on the chunking.

    Args:
        rate_hz: internal sample rate, Hz.
        gap_s: longest silence still bridged by interpolation, s.
        channels: number of channels (columns).
        burst_frac: arrivals closer than this fraction of the mean interval came in
            one packet.
        burst_share: a stream is re-timed while more than this share of its arrivals
            come so close.

    >>> r = Resampler(rate_hz=10.0, gap_s=1.0, channels=1)
    >>> t, v = r.process(np.array([0.01, 0.06, 0.12, 0.31, 0.42]), np.arange(5.0)[:, None])
    >>> t.round(2).tolist(), v[:, 0].round(2).tolist()
    ([0.05, 0.15, 0.25, 0.35], [0.5, 2.0, 2.5, 3.0])
    """

    def __init__(
        self,
        rate_hz: float,
        gap_s: float,
        channels: int,
        burst_frac: float = DetectorConfig.burst_frac,
        burst_share: float = DetectorConfig.burst_share,
    ) -> None:
        if rate_hz <= 0 or gap_s <= 0:
            raise ConfigError("resampling needs a positive rate_hz and gap_s", "rate_hz")
        self.rate_hz = rate_hz
        self.gap_s = gap_s
        self.channels = channels
        self._knobs = (float(rate_hz), float(gap_s), float(burst_frac), float(burst_share))
        # Most live samples complete no bin: hand back these instead of allocating.
        self._none_t, self._none_v = np.empty(0), np.empty((0, channels))
        self.reset()

    def reset(self) -> None:
        """Forget everything: the next sample starts a new grid."""
        self._state = np.zeros(1, RESAMPLE_STATE)
        st = self._state[0]
        st["held_first_t"], st["last_t"] = np.nan, np.nan
        st["held_last_t"], st["newest_t"] = -np.inf, -np.inf
        self._chans = np.zeros(self.channels, CHANNEL_STATE)
        self._packet_t = np.zeros(MAX_PACKET)  # arrival times of the packet still arriving
        self._packet_v = np.zeros((MAX_PACKET, self.channels))

    @property
    def state(self) -> dict[str, np.ndarray]:
        """The ``RESAMPLE_STATE`` record, each channel's ``CHANNEL_STATE`` and the packet
        still arriving (copies). Restore by assigning it."""
        return {
            "resample": self._state.copy(),
            "channels": self._chans.copy(),
            "packet_t": self._packet_t.copy(),
            "packet_v": self._packet_v.copy(),
        }

    @state.setter
    def state(self, saved: dict[str, np.ndarray]) -> None:
        self._state, self._chans = saved["resample"].copy(), saved["channels"].copy()
        self._packet_t, self._packet_v = saved["packet_t"].copy(), saved["packet_v"].copy()

    @property
    def gaps(self) -> int:
        """Silences longer than ``gap_s`` seen so far."""
        return int(self._state[0]["gaps"])

    @property
    def dropped(self) -> int:
        """Samples dropped for being out of order or not finite in time."""
        return int(self._state[0]["dropped"])

    def process(self, t_s: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feed samples (times in s, values shape (n, channels)); get completed grid bins.

        Returns:
            Grid times (bin centres, s) and values (NaN where a gap), shape (m,), (m, channels).
        """
        t_s = loop_input(t_s)
        values = loop_input(values).reshape(-1, self.channels)
        rows = _rows_bound(self._state, t_s, self.rate_hz)
        if rows == 0:
            grid_t, grid_v = self._none_t, self._none_v
        else:
            grid_t, grid_v = np.empty(rows), np.empty((rows, self.channels))
        m = _resample_run(
            self._knobs, self._state, self._chans, self._packet_t, self._packet_v, t_s, values,
            grid_t, grid_v,
        )  # fmt: skip
        if m == 0:  # most live samples: the grid bin is still filling
            return self._none_t, self._none_v
        return grid_t[:m], grid_v[:m]


@kernel
def _rows_bound(state, t, rate: float) -> int:
    """Most grid bins a call with these arrival times can emit. A bin is emitted when a
    later sample is binned, and every sample binned while an arrival is taken (a packet's
    re-timed back from theirs) arrived before it: no bin past the one before the newest
    accepted arrival is emitted. A corrupt far-future time is held, never emitted, so it
    sizes nothing."""
    st = state[0]
    newest, before, first = st.newest_t, st.newest_t, math.nan
    for x in t:
        if math.isfinite(x) and x > newest:
            before, newest = newest, x
            if math.isnan(first):
                first = x
    if not math.isfinite(before):
        return 0
    if st.has_last:
        start = st.last_bin + 1
    elif st.held_n > 0:
        start = st.held_bin
    else:
        start = math.floor(first * rate)
    return max(0, math.floor(before * rate) - start + 1)


@kernel
def _resample_run(knobs, state, chans, packet_t, packet_v, t, values, grid_t, grid_v) -> int:
    """Take samples one by one, re-timing packets; bin them, and emit each completed bin
    (and the empty ones before it) into ``grid_t`` and ``grid_v``. Returns how many."""
    rate, gap, burst_frac, burst_share = knobs
    st = state[0]
    log_keep = -1.0 / _MEASURE_N
    keep = math.exp(log_keep)
    m = 0
    for i in range(t.size):
        ti = t[i]
        # Out-of-order or non-finite times are counted and skipped, never reordered.
        if not (math.isfinite(ti) and ti > st.newest_t):
            st.dropped += 1
            continue
        dt = ti - st.newest_t
        close = False
        if dt <= gap:
            if st.interval_n > 0:
                close = dt < burst_frac * ew_mean(st.interval_z, st.interval_n, log_keep)
                st.short_z, st.short_n, _ = ew_step(
                    st.short_z, st.short_n, keep, log_keep, 1.0 if close else 0.0
                )
            st.interval_z, st.interval_n, _ = ew_step(
                st.interval_z, st.interval_n, keep, log_keep, dt
            )
        st.newest_t = ti
        measured = st.short_n >= _MEASURED_AFTER
        packets = measured and ew_mean(st.short_z, st.short_n, log_keep) > burst_share
        # A packet is complete when the next sample arrives apart from it.
        if st.pending > 0 and (not close or not packets or st.pending == MAX_PACKET):
            m = _release(st, chans, packet_t, packet_v, rate, gap, grid_t, grid_v, m)
        if packets:
            packet_t[st.pending] = ti
            for c in range(values.shape[1]):  # (a slice assignment takes numba 2 s to compile)
                packet_v[st.pending, c] = values[i, c]
            st.pending += 1
        else:
            m = _bin(st, chans, ti, values, i, rate, gap, grid_t, grid_v, m)
    return m


@inline_kernel
def _release(st, chans, packet_t, packet_v, rate, gap, grid_t, grid_v, m: int) -> int:
    """Bin the samples of a complete packet at the times they were measured: evenly over
    the time since the sample before them, at most one mean interval apart, the newest at
    its arrival."""
    k = st.pending
    newest = packet_t[k - 1]
    mean = ew_mean(st.interval_z, st.interval_n, -1.0 / _MEASURE_N)
    step = min(mean, (newest - st.held_last_t) / k)  # never back past the sample before
    for j in range(k):
        tj = newest - (k - 1 - j) * step
        m = _bin(st, chans, tj, packet_v, j, rate, gap, grid_t, grid_v, m)
    st.pending = 0
    return m


@inline_kernel
def _bin(st, chans, ti, values, row, rate, gap, grid_t, grid_v, m: int) -> int:
    """Add sample ``row`` of ``values``, taken at ``ti``, to its bin, first emitting the held
    bin when this one is past it."""
    b = math.floor(ti * rate)
    if st.held_n > 0 and b > st.held_bin:
        m = _emit(st, chans, rate, gap, grid_t, grid_v, m)
    if st.held_n == 0:
        st.held_bin = b
        st.held_first_t = ti
    st.held_n += 1
    st.held_last_t = ti
    for c in range(chans.size):
        x = values[row, c]
        if math.isfinite(x):
            chans[c].sum += x
            chans[c].count += 1.0
    return m


@inline_kernel
def _emit(st, chans, rate, gap, grid_t, grid_v, m: int) -> int:
    """Emit the completed held bin at row ``m``, after the empty bins between it and the
    previous emitted bin (interpolated across a short hole, NaN across a gap)."""
    held_bin = st.held_bin
    hole = held_bin - st.last_bin - 1 if st.has_last else 0
    short = st.held_first_t - st.last_t <= gap
    if hole > 0 and not short:
        st.gaps += 1
    if m + hole + 1 > grid_t.size:  # _rows_bound is exact about this; never write past it
        raise IndexError("resampler: more grid bins than its bound")
    for j in range(hole + 1):
        grid_t[m + j] = (held_bin - hole + j + 0.5) / rate
    for c in range(chans.size):
        ch = chans[c]
        mean = ch.sum / ch.count if ch.count > 0 else np.nan
        for j in range(hole):
            if short:
                grid_v[m + j, c] = ch.last + (mean - ch.last) * ((j + 1) / (hole + 1))
            else:
                grid_v[m + j, c] = np.nan
        grid_v[m + hole, c] = mean
        ch.last = mean
        ch.sum = 0.0
        ch.count = 0.0
    st.has_last, st.last_bin, st.held_n = True, held_bin, 0
    st.last_t = st.held_last_t
    return m + hole + 1
