"""A sensor's resolution: the smallest change of level its raw samples have shown.

A quantised sensor moves in whole steps (an optical level sensor's 0.5 mL, a scale's
0.1-1 g). One step, differentiated, smoothed and low-passed, is a bump of flow whose
height no noise measurement foretells until the sensor has moved: a level sensor reads
the same value for the first half minute, its measured noise is zero, and its first
step crossed the bar as a letdown, announced and taken back. Issue 12 asks that any
floor under the bar be physical, the sensor's resolution: the fast look's bar is never
below the bump half a step makes (a quantised reading is off by up to half a step;
``quantum_frac``, ``FlowEstimator.step_bump``).

The resolution is the smallest nonzero difference between two raw samples of a channel
a few samples apart, in the channel's units, over the stream so far (infinite until it
has moved). Noise makes it small at once on a continuous sensor; on a quantised one it
is the step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._compiled import kernel, loop_input
from .filters import copied

#: Samples apart that a pair may be to show a step: consecutive samples of a slow sensor
#: lie at different phases of the pump's tug (at 2 Hz, half a 1 Hz cycle apart), samples
#: a cycle apart at the same phase.
PAIR_LAGS = 8


class Resolution:
    """Running resolution of the raw samples of some channels (columns), each times its
    ``scales`` factor (e.g. mL per gram).

    ``process`` gives, after each sample, the coarsest channel's resolution so far (a
    step on any channel makes a bump in their sum); ``record`` also keeps the times it
    changed, for ``at``. A channel's resolution is the smallest nonzero difference
    between two of its finite samples at most ``PAIR_LAGS`` apart.

    >>> r = Resolution([1.0])
    >>> r.process(np.array([[2.0], [2.0], [2.5], [2.5], [3.0]])).tolist()
    [inf, inf, 0.5, 0.5, 0.5]
    """

    def __init__(self, scales: Sequence[float]) -> None:
        # Each channel's unit in the unit wanted (e.g. mL per gram), one per channel.
        self._scales = loop_input(np.asarray(scales, dtype=float))
        self.channels = self._scales.size
        self.reset()

    def reset(self) -> None:
        """Back to the just-built state."""
        # Per channel: a ring of its newest finite samples (NaN: none yet), how many it
        # has taken, and the smallest nonzero step so far.
        self._recent = np.full((self.channels, PAIR_LAGS), np.nan)
        self._seen = np.zeros(self.channels, dtype=np.int64)
        self._smallest = np.full(self.channels, np.inf)
        self._times: list[float] = []  # when the resolution changed, s, and to what
        self._values: list[float] = []

    @property
    def state(self) -> dict[str, object]:
        """The running state (copies); restore by assigning it."""
        return copied(
            {
                "recent": self._recent,
                "seen": self._seen,
                "smallest": self._smallest,
                "times": list(self._times),
                "values": list(self._values),
            }
        )

    @state.setter
    def state(self, saved: dict[str, object]) -> None:
        saved = copied(saved)
        self._recent, self._seen = saved["recent"], saved["seen"]
        self._smallest = saved["smallest"]
        self._times, self._values = list(saved["times"]), list(saved["values"])

    def process(self, values: np.ndarray) -> np.ndarray:
        """Raw samples (rows; one column per channel, or one channel as a 1-D array; NaN
        = missing) -> the resolution known after each, in the channels' units."""
        x = np.asarray(values, dtype=float)
        rows = loop_input(x.reshape(x.shape[0], self.channels))
        out = np.empty(x.shape[0])
        _resolution_run(self._scales, self._recent, self._smallest, self._seen, rows, out)
        return out

    def record(self, t_s: np.ndarray, values: np.ndarray, enough: float = 0.0) -> None:
        """``process`` the raw samples taken at times ``t_s`` (s) and keep when the
        resolution changed; once it is ``enough`` or finer, measuring stops (it only ever
        falls, and the caller has said a finer one changes nothing)."""
        previous = self._values[-1] if self._values else np.inf
        if previous <= enough:
            return
        known = self.process(values)
        if known.size == 0 or known[-1] == previous:  # it only ever falls: no change
            return
        changed = np.flatnonzero(known != np.concatenate(([previous], known[:-1])))
        self._times.extend(float(t_s[i]) for i in changed)
        self._values.extend(float(known[i]) for i in changed)

    def at(self, t_s: np.ndarray) -> np.ndarray:
        """The resolution known from the samples taken before each time in ``t_s`` (s)."""
        if self._times and (t_s.size == 0 or t_s[0] > self._times[-1]):
            return np.full(t_s.size, self._values[-1])  # live: all after the last change
        index = np.searchsorted(self._times, t_s, side="left") - 1
        values = np.asarray([*self._values, np.inf])  # index -1: none yet
        return values[index]


@kernel
def _resolution_run(scales, recent, smallest, seen, x, out) -> None:
    """Samples ``x`` (rows; a column per channel, times its ``scales``): per channel the
    smallest nonzero difference from any in its ring ``recent`` of newest finite samples,
    running (``smallest``; ``seen``: finite samples the ring has taken); into ``out``,
    after each row, the largest of the channels'."""
    lags = recent.shape[1]
    for i in range(x.shape[0]):
        coarsest = 0.0
        for k in range(x.shape[1]):
            v = x[i, k] * scales[k]
            if np.isfinite(v):
                for j in range(lags):
                    d = abs(v - recent[k, j])  # NaN (an empty slot) fails both tests
                    if d > 0.0 and d < smallest[k]:
                        smallest[k] = d
                recent[k, seen[k] % lags] = v
                seen[k] += 1
            coarsest = max(coarsest, smallest[k])
        out[i] = coarsest
