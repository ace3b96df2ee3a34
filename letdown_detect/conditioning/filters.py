"""Causal streaming filters that carry their state between chunks."""

from __future__ import annotations

import math

import numpy as np

from .._compiled import kernel
from ..errors import ConfigError
from .rolling import extreme_push, extreme_state, median_push, median_state


def copied(state):
    """A deep copy of a stage's state (arrays, and tuples or dicts of them; None kept)."""
    if isinstance(state, dict):
        return {k: copied(v) for k, v in state.items()}
    if isinstance(state, tuple):
        return tuple(copied(v) for v in state)
    return None if state is None else state.copy()


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
        self._sos = butter_sos(order, cutoff_hz, sample_rate_hz)
        self._zi_step = sos_step_zi(self._sos)
        self.reset()

    @property
    def delay_s(self) -> float:
        """Group delay at 0 Hz, s (how late a slow rise shows at the output)."""
        # The low-frequency group delay is the centroid of the impulse response.
        impulse = self.impulse_response()
        return float(
            (np.arange(impulse.size) * impulse).sum() / impulse.sum() / self.sample_rate_hz
        )

    def impulse_response(self) -> np.ndarray:
        """The response to a unit sample from rest, over 20 cut-off periods (sums to ~1)."""
        n = int(20 * self.sample_rate_hz / self.cutoff_hz)
        impulse = np.empty(n)
        _sos_run(self._sos, np.zeros((self._sos.shape[0], 2)), np.r_[1.0, np.zeros(n - 1)], impulse)
        return impulse

    def reset(self) -> None:
        """Back to the just-built state; the next sample seeds the filter (no start-up ramp)."""
        self._zi: np.ndarray | None = None

    @property
    def state(self) -> np.ndarray | None:
        """The sections' delays (``zi``/``zf`` as in scipy), a copy; None before a sample."""
        return copied(self._zi)

    @state.setter
    def state(self, zi: np.ndarray | None) -> None:
        self._zi = copied(zi)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Filter a chunk of finite samples; returns a new array of the same length."""
        if x.size == 0:
            return np.empty(0)
        if self._zi is None:
            self._zi = self._zi_step * x[0]
        out = np.empty(x.size)
        _sos_run(self._sos, self._zi, np.asarray(x, float), out)
        return out


def butter_sos(order: int, cutoff_hz: float, sample_rate_hz: float) -> np.ndarray:
    """Butterworth low-pass as second-order sections (even ``order``), by the bilinear
    transform with a pre-warped cut-off: the same response as ``scipy.signal.butter(...,
    output="sos")`` without importing scipy.signal (about 1 s of start-up).

    >>> sos = butter_sos(4, 1.0, 10.0)  # unit gain at 0 Hz, section by section
    >>> bool(np.allclose(sos[:, :3].sum(axis=1) / sos[:, 3:].sum(axis=1), 1.0))
    True
    """
    if order < 2 or order % 2:
        raise ConfigError(f"filter order must be even and >= 2, got {order}", "order")
    k = math.tan(math.pi * cutoff_hz / sample_rate_hz)  # pre-warped analog cut-off
    sections = []
    for j in range(order // 2):
        # Analog pole pair s^2 + c s + 1 of the normalised Butterworth prototype.
        c = 2.0 * math.cos(math.pi * (2 * j + 1) / (2 * order))
        d = 1.0 + c * k + k * k
        b0 = k * k / d
        sections.append([b0, 2 * b0, b0, 1.0, 2.0 * (k * k - 1.0) / d, (1.0 - c * k + k * k) / d])
    return np.array(sections)


def sos_step_zi(sos: np.ndarray) -> np.ndarray:
    """Section states (transposed direct form II) at rest after a unit input for ever:
    scale by the first sample to start a filter without a ramp (as ``sosfilt_zi``)."""
    zi = np.zeros((sos.shape[0], 2))
    v = 1.0
    for s, (b0, b1, b2, _a0, a1, a2) in enumerate(sos):
        y = v * (b0 + b1 + b2) / (1.0 + a1 + a2)
        zi[s, 1] = b2 * v - a2 * y
        zi[s, 0] = b1 * v - a1 * y + zi[s, 1]
        v = y
    return zi


@kernel
def sos_push(sos: np.ndarray, zi: np.ndarray, x: float) -> float:
    """One sample through transposed direct-form II sections (as scipy's ``sosfilt``);
    ``zi`` is updated in place."""
    v = x
    for s in range(sos.shape[0]):
        y = sos[s, 0] * v + zi[s, 0]
        zi[s, 0] = sos[s, 1] * v - sos[s, 4] * y + zi[s, 1]
        zi[s, 1] = sos[s, 2] * v - sos[s, 5] * y
        v = y
    return v


@kernel
def _sos_run(sos: np.ndarray, zi: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    for i in range(x.size):
        out[i] = sos_push(sos, zi, x[i])


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
        self._keep = math.exp(-1.0 / (tau_s * sample_rate_hz))
        self.reset()

    def reset(self) -> None:
        """Forget the mean."""
        self._state = np.zeros(2)  # [weighted sum, samples seen]

    @property
    def state(self) -> np.ndarray:
        """[weighted sum, samples seen], a copy (restore by assigning it)."""
        return copied(self._state)

    @state.setter
    def state(self, saved: np.ndarray) -> None:
        self._state = copied(saved)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Running means after each sample of the chunk."""
        out = np.empty(x.size)
        _ewmean_run(self._keep, self._state, np.asarray(x, float), out)
        return out


@kernel
def _ewmean_run(keep: float, state: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    log_keep = math.log(keep)
    for i in range(x.size):
        out[i] = ewmean_push(state, 0, keep, log_keep, x[i])


@kernel
def ewmean_push(state: np.ndarray, at: int, keep: float, log_keep: float, x: float) -> float:
    """Add ``x`` to the running mean whose weighted sum and sample count are
    ``state[at]`` and ``state[at + 1]``; return the mean (see ``ew_step``)."""
    state[at], state[at + 1], mean = ew_step(state[at], state[at + 1], keep, log_keep, x)
    return mean


@kernel
def ew_step(z: float, n: float, keep: float, log_keep: float, x: float):
    """One step of a bias-corrected running mean kept as a weighted sum ``z`` and a sample
    count ``n`` (``EwMean``'s, for compiled loops that keep such means among their own
    state): the new sum, count and mean. The one-pole mean ``z = keep z + (1 - keep) x``
    divided by the weight seen so far; ``log_keep`` is ``log(keep)``."""
    z = keep * z + (1.0 - keep) * x
    n = n + 1.0
    return z, n, ew_mean(z, n, log_keep)


@kernel
def ew_mean(z: float, n: float, log_keep: float) -> float:
    """The mean of a running sum ``z`` over ``n`` samples (see ``ew_step``; NaN at 0)."""
    return z / -math.expm1(n * log_keep)


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
        if stat not in ("median", "min", "max"):
            raise ConfigError(f"unknown rolling statistic {stat!r}", "stat")
        self.window = window
        self.stat = stat
        self.reset()

    def reset(self) -> None:
        """Forget the window; the next sample seeds it."""
        if self.stat == "median":
            self._state = median_state(self.window)
        else:
            self._state = extreme_state(self.window, self.stat == "max")

    @property
    def state(self) -> tuple[np.ndarray, ...]:
        """The window's arrays (see ``rolling.py``), copies (restore by assigning them)."""
        return copied(self._state)

    @state.setter
    def state(self, saved: tuple[np.ndarray, ...]) -> None:
        self._state = copied(saved)

    def process(self, x: np.ndarray) -> np.ndarray:
        """The statistic after each sample of the chunk (finite samples only)."""
        out = np.empty(x.size)
        run = _median_run if self.stat == "median" else _extreme_run
        run(*self._state, np.asarray(x, float), out)
        return out


@kernel
def _median_run(meta: np.ndarray, ring: np.ndarray, srt: np.ndarray, x, out) -> None:
    for i in range(x.size):
        out[i] = median_push(meta, ring, srt, x[i])


@kernel
def _extreme_run(meta: np.ndarray, idx: np.ndarray, val: np.ndarray, x, out) -> None:
    for i in range(x.size):
        out[i] = extreme_push(meta, idx, val, x[i])
