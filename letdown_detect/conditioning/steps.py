"""Remove sudden level changes from a cumulative channel: tare, a hand, the bottle lifted."""

from __future__ import annotations

import math

import numpy as np

from .._compiled import kernel
from .filters import ewmean_push
from .rolling import median_push, median_state

# Int state: samples seen, edges removed, output index of the edge a touch's second edge
# would undo (-1: none waiting), then the configuration (half, pair).
_N, _REMOVED, _LAST, _HALF, _PAIR = range(5)
# Float state: configuration (step, EwMean decay and its log), the offset being subtracted,
# the EwMean of clipped strengths (weighted sum, samples: adjacent, as ewmean_push
# reads them), sign of and offset before the
# waiting edge.
_STEP, _KEEP, _LOG_KEEP, _OFFSET, _EW_SUM, _EW_N, _LAST_SIGN, _LAST_OFFSET = range(8)


class StepRemover:
    """Cut out jumps no milk flow can make, before any smoothing sees them.

    An edge detector compares the median of ``half`` samples after a point
    with the median of ``half`` samples before it, skipping ``half // 2``
    samples on each side so a soft edge (a hand pressing down over a few
    tenths of a second) is measured in full; medians ignore pump ripple and
    single glitches. Where that difference exceeds ``step`` and is the
    largest within ``half`` samples, the level change is an artifact: placing
    the bottle (tare), pressing on it, or lifting it off. The channel is
    shifted back by that amount from the edge on. An edge that undoes the
    previous one within ``pair`` samples (a hand on, then off) restores the
    level from before the first, so a touch leaves no offset behind. Deciding
    needs ``delay`` later samples: the output is that many samples late.

    Args:
        step: smallest artifact jump, in channel units (mL after scaling).
        half: edge-detector window, samples.
        pair: longest touch whose up and down edges cancel, samples.

    >>> r = StepRemover(step=5.0, half=3, pair=30)
    >>> touch = np.r_[np.zeros(10), np.full(10, 50.0), np.arange(10.0) * 0.1]
    >>> y = r.process(touch)
    >>> float(np.abs(y).max()) < 1.0, r.removed
    (True, 2)
    """

    def __init__(self, step: float, half: int, pair: int) -> None:
        self.step = step
        self.half = max(1, half)
        self.pair = pair
        self.reset()

    @property
    def delay(self) -> int:
        """Output lag, samples."""
        return 2 * self.half + self.half // 2

    @property
    def removed(self) -> int:
        """Artifact edges removed so far."""
        return int(self._state[0][_REMOVED])

    def reset(self) -> None:
        """Back to the just-built state; the next sample seeds the windows."""
        h = self.half
        meta = np.array([0, 0, -1, h, self.pair], np.int64)
        # The typical strength is an EwMean (filters.py) with a time constant of 100 windows.
        keep = math.exp(-1.0 / (100.0 * h))
        values = np.array([self.step, keep, math.log(keep), 0.0, 0.0, 0.0, 0.0, 0.0])
        # Samples, medians and strengths of the last 2 * delay samples (at least): a power
        # of two, so a position's slot is a bit mask, not a division.
        size = 1 << (2 * self.delay + 2).bit_length()
        rings = np.zeros((3, size))
        # The arrays ``steps_push`` advances; flow.py's fused loop passes them too.
        self._state = (meta, values, rings, *median_state(h))

    def process(self, x: np.ndarray) -> np.ndarray:
        """Feed finite samples; get as many corrected samples, ``delay`` samples late."""
        out = np.empty(x.size)
        _steps_run(*self._state, np.asarray(x, float), out)
        return out


@kernel
def _steps_run(meta, values, rings, m_meta, m_ring, m_sorted, x, out) -> None:
    for i in range(x.size):
        out[i] = steps_push(meta, values, rings, m_meta, m_ring, m_sorted, x[i])


@kernel
def steps_push(meta, values, rings, m_meta, m_ring, m_sorted, x: float) -> float:
    """Add sample ``x``; return the corrected sample ``delay`` samples before it.

    State from ``StepRemover.reset``. Before the first sample the past counts as
    filled with copies of it.
    """
    h, g = meta[_HALF], meta[_HALF] // 2
    mask = rings.shape[1] - 1  # a power of two minus one
    samples, medians, strengths = rings[0], rings[1], rings[2]
    if meta[_N] == 0:
        samples[:] = x
        medians[:] = x
        strengths[:] = 0.0
    a = meta[_N] + 2 * (mask + 1)  # x's position; the seed copies sit before it
    samples[a & mask] = x
    medians[a & mask] = median_push(m_meta, m_ring, m_sorted, x)  # of the h samples up to a
    # An edge at p (between samples p - 1 and p) compares the median of h samples starting
    # g after it with that of h samples ending g before it; the newest such p is known now.
    p = a + 1 - g - h
    edge = medians[a & mask] - medians[(a - 2 * g - h) & mask]
    # Among positions that see the same step, the sharpest single-sample change marks
    # where it happened (a small tie-breaker).
    strengths[p & mask] = abs(edge) + 0.1 * abs(samples[p & mask] - samples[(p - 1) & mask])
    q = a - (2 * h + g)  # the sample decided now: strengths up to h after it are known
    strength = strengths[q & mask]
    # The bar rises with the typical edge strength (pump ripple, noise), an EwMean of the
    # clipped strengths decided so far: a calm sensor shows small artifacts, a rippling one
    # only big ones.
    step = values[_STEP]
    clipped = min(strength, 4.0 * step)
    typical = ewmean_push(values, _EW_SUM, values[_KEEP], values[_LOG_KEEP], clipped)
    bar = max(step, 4.0 * typical)
    if strength > bar and _is_peak(strengths, q, h, strength):
        jump = medians[(q + g + h - 1) & mask] - medians[(q - g - 1) & mask]
        sample = meta[_N]
        sign = np.sign(jump)
        last = meta[_LAST]
        if last >= 0 and sample - last <= meta[_PAIR] and sign != values[_LAST_SIGN]:
            offset = values[_LAST_OFFSET]  # the hand came off: back to the level before it
            meta[_LAST] = -1
        else:
            offset = values[_OFFSET] + jump
            meta[_LAST] = sample
            values[_LAST_SIGN], values[_LAST_OFFSET] = sign, values[_OFFSET]
        values[_OFFSET] = offset
        meta[_REMOVED] += 1
    meta[_N] += 1
    return samples[q & mask] - values[_OFFSET]


@kernel
def _is_peak(strengths, q, h, strength) -> bool:
    """The strength at ``q`` is the largest within ``h`` samples (the earliest of ties)."""
    mask = strengths.size - 1
    for k in range(1, h + 1):
        if strengths[(q + k) & mask] >= strength or strengths[(q - k) & mask] > strength:
            return False
    return True
