"""Remove sudden level changes from a cumulative channel: tare, a hand, the bottle lifted."""

from __future__ import annotations

import numpy as np

from ._windows import rolling_median, windows
from .filters import EwMean


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
        self._typical = EwMean(tau_s=100.0 * self.half, sample_rate_hz=1.0)
        self.reset()

    @property
    def delay(self) -> int:
        """Output lag, samples."""
        return 2 * self.half + self.half // 2

    def reset(self) -> None:
        """Back to the just-built state."""
        self._tail: np.ndarray | None = None
        self._typical.reset()
        self._offset = 0.0
        self._count = 0  # samples output so far
        self._last_edge: tuple[int, float, float] | None = None  # (sample, sign, offset before)
        self.removed = 0
        """Artifact edges removed so far."""

    def process(self, x: np.ndarray) -> np.ndarray:
        """Feed finite samples; get as many corrected samples, ``delay`` samples late."""
        if x.size == 0:
            return np.empty(0)
        h, g = self.half, self.half // 2
        keep = 5 * h + 2 * g
        if self._tail is None:
            self._tail = np.full(keep, x[0])
        ext = np.concatenate((self._tail, x))
        self._tail = ext[-keep:]
        medians = rolling_median(ext, h)  # medians[p] = median of ext[p:p+h]
        # Output positions: the newest x.size positions of ext, ``delay`` late.
        q = np.arange(ext.size - x.size - self.delay, ext.size - self.delay)
        # Edge at position p (between ext[p-1] and ext[p]): after-window starts at p+g,
        # before-window ends at p-g. Strength is needed at p-h..p+h for the peak test.
        p = np.arange(q[0] - h, q[-1] + h + 1)
        edge = medians[p + g] - medians[p - g - h]
        # Among positions that see the same step, the sharpest single-sample change marks
        # where it happened (a small tie-breaker).
        strength = np.abs(edge) + 0.1 * np.abs(ext[p] - ext[p - 1])
        side_max = windows(strength, h).max(axis=1)
        centre = np.arange(h, h + q.size)  # index of q in p
        # The bar rises with the typical edge strength (pump ripple, noise), measured on
        # the positions just decided: a calm sensor shows small artifacts, a rippling one
        # only big ones.
        typical = self._typical.process(np.minimum(strength[centre], 4.0 * self.step))
        bar = np.maximum(self.step, 4.0 * typical)
        is_edge = (
            (strength[centre] > bar)
            & (strength[centre] >= side_max[centre - h])
            & (strength[centre] > side_max[centre + 1])
        )
        offsets = np.full(q.size, self._offset)
        for k in np.flatnonzero(is_edge):
            jump = float(edge[centre[k]])
            sample = self._count + int(k)
            last = self._last_edge
            if last is not None and sample - last[0] <= self.pair and np.sign(jump) != last[1]:
                new = last[2]  # the hand came off: back to the level before it
                self._last_edge = None
            else:
                new = float(offsets[k]) + jump
                self._last_edge = (sample, float(np.sign(jump)), float(offsets[k]))
            offsets[k:] = new
            self.removed += 1
        self._offset = float(offsets[-1])
        self._count += q.size
        return ext[q] - offsets
