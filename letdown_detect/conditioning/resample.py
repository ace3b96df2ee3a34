"""Causal resampling of uneven timestamps onto a uniform internal grid."""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError

_NO_TIMES = np.empty(0)
_NO_TIMES.flags.writeable = False


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
        self.reset()

    def reset(self) -> None:
        """Forget everything: the next sample starts a new grid."""
        self._no_values = np.empty((0, self.channels))
        # Samples of the bin still filling, as plain lists: appending one is cheap.
        self._held_t: list[float] = []
        self._held_v: list[list[float]] = []
        self._last_bin: int | None = None  # newest emitted non-empty bin
        self._last_val: np.ndarray | None = None
        self._last_t = -np.inf  # newest sample time already binned, s
        self.gaps = 0
        """Silences longer than ``gap_s`` seen so far."""
        self.dropped = 0
        """Samples dropped for being out of order or not finite in time."""

    def process(self, t_s: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feed samples (times in s, values shape (n, channels)); get completed grid bins.

        Returns:
            Grid times (bin centres, s) and values (NaN where a gap), shape (m,), (m, channels).
        """
        t_s = np.asarray(t_s, float)
        if t_s.size == 1 and self._held_t:
            # Fast paths for live sources, one sample at a time.
            t_new = float(t_s[0])
            held_bin = math.floor(self._held_t[0] * self.rate_hz)
            if t_new > self._held_t[-1] and math.floor(t_new * self.rate_hz) == held_bin:
                self._held_t.append(t_new)  # inside the bin still filling
                self._held_v.append(np.asarray(values, float).reshape(-1).tolist())
                return _NO_TIMES, self._no_values
            if t_new > self._held_t[-1] and math.floor(t_new * self.rate_hz) > held_bin:
                # It opens a later bin, so the held one is complete (same result as the
                # general path below, without its sorting and grouping).
                held_t = np.array(self._held_t)
                means = _bin_means(np.array(self._held_v), np.zeros(1, np.int64))
                grid, out = self._fill(np.array([held_bin]), means, held_t[:1], held_t[-1:])
                self._held_t = [t_new]
                self._held_v = [np.asarray(values, float).reshape(-1).tolist()]
                return grid, out
        t = np.concatenate([np.array(self._held_t), t_s])
        v = np.concatenate(
            [
                np.array(self._held_v).reshape(-1, self.channels),
                np.asarray(values, float).reshape(-1, self.channels),
            ]
        )
        if t.size == 0:
            return np.empty(0), np.empty((0, self.channels))
        # Out-of-order or non-finite times are counted and skipped, never reordered.
        keep = np.isfinite(t)
        if keep.any():
            running = np.maximum.accumulate(np.where(keep, t, -np.inf))
            keep &= t > np.concatenate([[self._last_t], running[:-1]])
        self.dropped += int((~keep).sum())
        t, v = t[keep], v[keep]
        if t.size == 0:
            self._held_t, self._held_v = t.tolist(), v.tolist()
            return np.empty(0), np.empty((0, self.channels))
        bins = np.floor(t * self.rate_hz).astype(np.int64)
        done = bins < bins[-1]
        self._held_t, self._held_v = t[~done].tolist(), v[~done].tolist()
        if not done.any():
            return np.empty(0), np.empty((0, self.channels))
        t, v, bins = t[done], v[done], bins[done]
        starts = np.flatnonzero(np.concatenate([[True], bins[1:] != bins[:-1]]))
        means = _bin_means(v, starts)
        ubins = bins[starts]
        first_t = t[starts]
        last_t = np.concatenate([t[starts[1:] - 1], [t[-1]]])
        return self._fill(ubins, means, first_t, last_t)

    def _fill(
        self, ubins: np.ndarray, means: np.ndarray, first_t: np.ndarray, last_t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Lay non-empty bins on the grid, interpolating short holes and marking gaps."""
        if ubins.size == 1 and self._last_bin is not None and ubins[0] == self._last_bin + 1:
            # The next bin, no hole before it: the common live case, nothing to fill.
            self._last_bin, self._last_val = int(ubins[0]), means[-1].copy()
            self._last_t = float(last_t[-1])
            return (ubins + 0.5) / self.rate_hz, means
        if self._last_bin is None:
            start = int(ubins[0])
            prev_bins, prev_vals = ubins[:-1], means[:-1]
            prev_last_t = last_t[:-1]
            nxt_bins, nxt_vals, nxt_first_t = ubins[1:], means[1:], first_t[1:]
        else:
            start = self._last_bin + 1
            prev_bins = np.concatenate([[self._last_bin], ubins[:-1]])
            prev_vals = np.concatenate([self._last_val[None, :], means[:-1]])
            prev_last_t = np.concatenate([[self._last_t], last_t[:-1]])
            nxt_bins, nxt_vals, nxt_first_t = ubins, means, first_t
        stop = int(ubins[-1])
        grid = np.arange(start, stop + 1)
        out = np.full((grid.size, self.channels), np.nan)
        out[ubins - start] = means
        holes = nxt_bins - prev_bins > 1
        if holes.any():
            b0, b1 = prev_bins[holes], nxt_bins[holes]
            short = nxt_first_t[holes] - prev_last_t[holes] <= self.gap_s
            self.gaps += int((~short).sum())
            b0, b1 = b0[short], b1[short]
            v0, v1 = prev_vals[holes][short], nxt_vals[holes][short]
            # Every empty bin of every short hole at once: hole k owns bins b0[k]+1 .. b1[k]-1.
            sizes = b1 - b0 - 1
            owner = np.repeat(np.arange(sizes.size), sizes)
            pos = np.arange(owner.size) - np.repeat(np.cumsum(sizes) - sizes, sizes) + 1
            frac = (pos / (b1 - b0)[owner])[:, None]
            out[b0[owner] + pos - start] = v0[owner] + (v1 - v0)[owner] * frac
        self._last_bin, self._last_val, self._last_t = stop, means[-1].copy(), float(last_t[-1])
        return (grid + 0.5) / self.rate_hz, out


def _bin_means(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Mean of the finite values of each bin (rows ``starts[i]`` up to the next start)."""
    finite = np.isfinite(values)
    sums = np.add.reduceat(np.where(finite, values, 0.0), starts, axis=0)
    counts = np.add.reduceat(finite.astype(np.int64), starts, axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
