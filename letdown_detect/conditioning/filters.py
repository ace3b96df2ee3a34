"""Causal streaming filters that carry their state between chunks."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, lfilter, sosfilt, sosfilt_zi

from ..errors import ConfigError
from ._windows import rolling_max, rolling_median, rolling_min

#: Chunks up to this many samples take the plain-float path of ``SosFilter``.
_SMALL = 8


class SosFilter:
    """Causal Butterworth low-pass in second-order sections, state carried in ``zi``.

    Args:
        cutoff_hz: -3 dB frequency, Hz.
        sample_rate_hz: sample rate of the input, Hz.
        order: filter order.

    >>> f = SosFilter(cutoff_hz=0.5, sample_rate_hz=10.0)
    >>> x = np.r_[np.zeros(5), np.ones(45)]
    >>> y = np.r_[f.process(x[:7]), f.process(x[7:])]
    >>> bool(np.allclose(y, SosFilter(0.5, 10.0).process(x)))
    True
    """

    def __init__(self, cutoff_hz: float, sample_rate_hz: float, order: int = 2) -> None:
        if not 0 < cutoff_hz < sample_rate_hz / 2:
            raise ConfigError(
                f"filter cut-off {cutoff_hz} Hz must lie between 0 and half the "
                f"sample rate ({sample_rate_hz / 2} Hz)",
                "cutoff_hz",
            )
        self.cutoff_hz = cutoff_hz
        self.sample_rate_hz = sample_rate_hz
        self.order = order
        self._sos = butter(order, cutoff_hz, fs=sample_rate_hz, output="sos")
        self._coefs = [tuple(float(c) for c in row) for row in self._sos]
        self.reset()

    @property
    def delay_s(self) -> float:
        """Group delay at 0 Hz, s (how late a slow rise shows at the output)."""
        # The low-frequency group delay is the centroid of the impulse response.
        n = int(20 * self.sample_rate_hz / self.cutoff_hz)
        impulse = sosfilt(self._sos, np.r_[1.0, np.zeros(n - 1)])
        return float((np.arange(n) * impulse).sum() / impulse.sum() / self.sample_rate_hz)

    def reset(self) -> None:
        """Back to the just-built state; the next sample seeds the filter (no start-up ramp)."""
        self._zi: np.ndarray | None = None

    def process(self, x: np.ndarray) -> np.ndarray:
        """Filter a chunk of finite samples; returns a new array of the same length."""
        if x.size == 0:
            return np.empty(0)
        if self._zi is None:
            self._zi = sosfilt_zi(self._sos) * x[0]
        if x.size > _SMALL:
            y, self._zi = sosfilt(self._sos, x, zi=self._zi)
            return y
        # Live chunks of a few samples: the same transposed direct-form II recursion as
        # scipy's sosfilt, in plain floats (bit-identical, without its per-call overhead).
        zi = self._zi.tolist()
        out = []
        for v in x.tolist():
            for z, (b0, b1, b2, _a0, a1, a2) in zip(zi, self._coefs, strict=True):
                y = b0 * v + z[0]
                z[0] = b1 * v - a1 * y + z[1]
                z[1] = b2 * v - a2 * y
                v = y
            out.append(v)
        self._zi = np.array(zi)
        return np.array(out)


class EwMean:
    """Exponentially weighted mean with time constant ``tau_s``, unbiased from the start.

    Until about ``tau_s`` has passed it is the plain mean of the samples so far
    (bias-corrected like Adam's moments), so a fresh estimate is not pulled
    towards an arbitrary seed.

    >>> m = EwMean(tau_s=1.0, sample_rate_hz=10.0)
    >>> [round(float(v), 6) for v in m.process(np.array([2.0, 4.0]))]
    [2.0, 3.049958]
    """

    def __init__(self, tau_s: float, sample_rate_hz: float) -> None:
        self.tau_s = tau_s
        self.sample_rate_hz = sample_rate_hz
        self._keep = float(np.exp(-1.0 / (tau_s * sample_rate_hz)))
        self._b, self._a = np.array([1.0 - self._keep]), np.array([1.0, -self._keep])
        self.reset()

    def reset(self) -> None:
        """Forget the mean."""
        self._zi = np.zeros(1)
        self._count = 0

    def process(self, x: np.ndarray) -> np.ndarray:
        """Running means after each sample of the chunk."""
        if x.size == 0:
            return np.empty(0)
        if x.size > _SMALL:
            y, self._zi = lfilter(self._b, self._a, x, zi=self._zi)
        else:  # same one-pole recursion as lfilter, in plain floats (bit-identical)
            z, gain, out = float(self._zi[0]), 1.0 - self._keep, []
            for v in x.tolist():
                out.append(gain * v + z)
                z = self._keep * out[-1]
            y, self._zi = np.array(out), np.array([z])
        n = self._count + np.arange(1, x.size + 1)
        self._count += x.size
        return y / -np.expm1(n * np.log(self._keep))


class RollingStat:
    """Causal median, minimum or maximum over the last ``window`` samples (odd ``window``).

    A median removes spikes shorter than half the window (delay ``(window - 1) / 2``
    samples); a minimum then a maximum (an opening) removes positive spikes shorter
    than the window but keeps wider pulses whole. The window is seeded with the
    first sample, so start-up needs no special case.

    >>> RollingStat(3).process(np.array([1.0, 1.0, 9.0, 1.0, 2.0, 3.0])).tolist()
    [1.0, 1.0, 1.0, 1.0, 2.0, 2.0]
    >>> RollingStat(3, "max").process(np.array([1.0, 0.0, 0.0, 4.0])).tolist()
    [1.0, 1.0, 1.0, 4.0]
    """

    def __init__(self, window: int, stat: str = "median") -> None:
        if window < 1 or window % 2 == 0:
            raise ConfigError(f"a rolling window must be an odd count >= 1, got {window}", "window")
        if stat not in _STATS:
            raise ConfigError(f"unknown rolling statistic {stat!r}", "stat")
        self.window = window
        self.stat = stat
        self.reset()

    def reset(self) -> None:
        """Forget the window; the next sample seeds it."""
        self._tail: np.ndarray | None = None

    def process(self, x: np.ndarray) -> np.ndarray:
        """The statistic after each sample of the chunk (finite samples only)."""
        if x.size == 0:
            return np.empty(0)
        if self.window == 1:
            return x.copy()
        if self._tail is None:
            self._tail = np.full(self.window - 1, x[0])
        full = np.concatenate([self._tail, x])
        self._tail = full[-(self.window - 1) :]
        return _STATS[self.stat](full, self.window)


_STATS = {"median": rolling_median, "min": rolling_min, "max": rolling_max}
