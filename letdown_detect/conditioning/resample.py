"""Causal resampling of uneven timestamps onto a uniform internal grid."""

from __future__ import annotations

import math

import numpy as np

from .._compiled import kernel, loop_input
from ..errors import ConfigError

# Integer state, int64: samples in the bin still filling (0 before the first sample), its
# bin index, whether a bin was emitted yet, the newest emitted non-empty bin, counters.
_HELD_N, _HELD_BIN, _HAS_LAST, _LAST_BIN, _GAPS, _DROPPED = range(6)
# Float state: configuration, then the filling bin's first and last sample times (the
# last is the newest sample accepted) and the last sample time of the newest emitted bin.
_RATE, _GAP, _HELD_FIRST_T, _HELD_LAST_T, _LAST_T = range(5)
# Per-channel state, rows of a (3, channels) array.
_SUM, _COUNT, _LAST_VAL = range(3)


class Resampler:
    """Average samples into bins of ``1/rate_hz`` s; fill short holes, mark gaps.

    Bin ``b`` covers ``[b/rate_hz, (b+1)/rate_hz)`` and is stamped at its centre.
    A bin is emitted once a sample past it arrives (no look-ahead beyond that).
    Empty bins between two samples less than ``gap_s`` apart are interpolated
    linearly (a slow sensor or a lost sample); across a longer silence they are
    NaN: a gap, never invented flow. Output never depends on the chunking.

    Args:
        rate_hz: internal sample rate, Hz.
        gap_s: longest silence still bridged by interpolation, s.
        channels: number of channels (columns).

    >>> r = Resampler(rate_hz=10.0, gap_s=1.0, channels=1)
    >>> t, v = r.process(np.array([0.01, 0.06, 0.12, 0.31, 0.42]), np.arange(5.0)[:, None])
    >>> t.round(2).tolist(), v[:, 0].round(2).tolist()
    ([0.05, 0.15, 0.25, 0.35], [0.5, 2.0, 2.5, 3.0])
    """

    def __init__(self, rate_hz: float, gap_s: float, channels: int) -> None:
        if rate_hz <= 0 or gap_s <= 0:
            raise ConfigError("resampling needs a positive rate_hz and gap_s", "rate_hz")
        self.rate_hz = rate_hz
        self.gap_s = gap_s
        self.channels = channels
        # Most live samples complete no bin: hand back these instead of allocating.
        self._none_t, self._none_v = np.empty(0), np.empty((0, channels))
        self.reset()

    def reset(self) -> None:
        """Forget everything: the next sample starts a new grid."""
        self._ints = np.zeros(6, np.int64)
        self._floats = np.array([self.rate_hz, self.gap_s, np.nan, -np.inf, np.nan])
        self._chans = np.zeros((3, self.channels))

    @property
    def state(self) -> dict[str, np.ndarray]:
        """Counters, times and per-channel sums of the bin still filling (copies)."""
        return {
            "ints": self._ints.copy(),
            "floats": self._floats.copy(),
            "chans": self._chans.copy(),
        }

    @state.setter
    def state(self, saved: dict[str, np.ndarray]) -> None:
        self._ints, self._floats = saved["ints"].copy(), saved["floats"].copy()
        self._chans = saved["chans"].copy()

    @property
    def gaps(self) -> int:
        """Silences longer than ``gap_s`` seen so far."""
        return int(self._ints[_GAPS])

    @property
    def dropped(self) -> int:
        """Samples dropped for being out of order or not finite in time."""
        return int(self._ints[_DROPPED])

    def process(self, t_s: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feed samples (times in s, values shape (n, channels)); get completed grid bins.

        Returns:
            Grid times (bin centres, s) and values (NaN where a gap), shape (m,), (m, channels).
        """
        t_s = loop_input(t_s)
        values = loop_input(values).reshape(-1, self.channels)
        # Exact, not just an upper bound: a corrupt far-future time stays held (every later
        # sample is dropped as out of order), so it must not size the output.
        m = _resample_count(self._ints, self._floats, t_s)
        if m == 0:
            grid_t, grid_v = self._none_t, self._none_v
        else:
            grid_t, grid_v = np.empty(m), np.empty((m, self.channels))
        _resample_run(self._ints, self._floats, self._chans, t_s, values, grid_t, grid_v)
        return grid_t, grid_v


@kernel
def _resample_count(ints: np.ndarray, floats: np.ndarray, t: np.ndarray) -> int:
    """How many grid bins ``_resample_run`` will emit for these sample times."""
    rate, newest = floats[_RATE], floats[_HELD_LAST_T]
    held_n, held_bin = ints[_HELD_N], ints[_HELD_BIN]
    has_last, last_bin = ints[_HAS_LAST] == 1, ints[_LAST_BIN]
    m = 0
    for i in range(t.size):
        if not (math.isfinite(t[i]) and t[i] > newest):
            continue
        newest = t[i]
        b = math.floor(t[i] * rate)
        if held_n > 0 and b > held_bin:
            m += held_bin - last_bin if has_last else 1
            has_last, last_bin = True, held_bin
        held_n, held_bin = 1, b
    return m


@kernel
def _resample_run(ints, floats, chans, t, values, grid_t, grid_v) -> None:
    """Bin samples one by one; emit each bin (and the empty ones before it) into
    ``grid_t`` and ``grid_v`` once a sample past it arrives."""
    rate = floats[_RATE]
    m = 0
    for i in range(t.size):
        # Out-of-order or non-finite times are counted and skipped, never reordered.
        if not (math.isfinite(t[i]) and t[i] > floats[_HELD_LAST_T]):
            ints[_DROPPED] += 1
            continue
        b = math.floor(t[i] * rate)
        if ints[_HELD_N] > 0 and b > ints[_HELD_BIN]:
            m = _emit(ints, floats, chans, grid_t, grid_v, m)
        if ints[_HELD_N] == 0:
            ints[_HELD_BIN] = b
            floats[_HELD_FIRST_T] = t[i]
        ints[_HELD_N] += 1
        floats[_HELD_LAST_T] = t[i]
        for c in range(values.shape[1]):
            if math.isfinite(values[i, c]):
                chans[_SUM, c] += values[i, c]
                chans[_COUNT, c] += 1.0


@kernel
def _emit(ints, floats, chans, grid_t, grid_v, m: int) -> int:
    """Emit the completed held bin at row ``m``, after the empty bins between it and the
    previous emitted bin (interpolated across a short hole, NaN across a gap)."""
    rate, held_bin = floats[_RATE], ints[_HELD_BIN]
    hole = held_bin - ints[_LAST_BIN] - 1 if ints[_HAS_LAST] == 1 else 0
    short = floats[_HELD_FIRST_T] - floats[_LAST_T] <= floats[_GAP]
    if hole > 0 and not short:
        ints[_GAPS] += 1
    for j in range(hole + 1):
        grid_t[m + j] = (held_bin - hole + j + 0.5) / rate
    for c in range(chans.shape[1]):
        count = chans[_COUNT, c]
        mean = chans[_SUM, c] / count if count > 0 else np.nan
        v0 = chans[_LAST_VAL, c]
        for j in range(hole):
            if short:
                grid_v[m + j, c] = v0 + (mean - v0) * ((j + 1) / (hole + 1))
            else:
                grid_v[m + j, c] = np.nan
        grid_v[m + hole, c] = mean
        chans[_LAST_VAL, c] = mean
        chans[_SUM, c] = 0.0
        chans[_COUNT, c] = 0.0
    ints[_HAS_LAST], ints[_LAST_BIN], ints[_HELD_N] = 1, held_bin, 0
    floats[_LAST_T] = floats[_HELD_LAST_T]
    return m + hole + 1
