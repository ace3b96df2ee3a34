"""Running minimum, maximum and median over the last ``w`` samples, one sample at a time.

Compiled helpers other compiled loops call per sample. Each keeps its state in
arrays the caller owns (see ``extreme_state`` and ``median_state``), so a stage
can hold several windows and pause anywhere.
"""

from __future__ import annotations

import numpy as np

from .._compiled import kernel

# Extreme state, int64: [head, size, n, w, is_max] with ring arrays of length w for
# indices and values of a monotonic deque (O(1) amortised per sample).
_HEAD, _SIZE, _N, _W, _MAX = range(5)


def extreme_state(window: int, is_max: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empty state for ``extreme_push``: (meta, deque indices, deque values)."""
    meta = np.array([0, 0, 0, window, int(is_max)], np.int64)
    return meta, np.zeros(window, np.int64), np.zeros(window)


@kernel
def extreme_push(meta: np.ndarray, idx: np.ndarray, val: np.ndarray, x: float) -> float:
    """Add sample ``x``; return the min (or max) of the last ``w`` samples.

    Before the first sample the window counts as filled with copies of it.
    """
    w = meta[_W]
    n = meta[_N]
    head, size = meta[_HEAD], meta[_SIZE]
    if n == 0:  # the seed copies: only the newest of equal values matters
        idx[head], val[head], size = -1, x, 1
    if idx[head] <= n - w:  # the front falls out of the window
        head = (head + 1) % w
        size -= 1
    is_max = meta[_MAX] == 1
    while size > 0:  # drop values the new one dominates from the back
        back = (head + size - 1) % w
        if (val[back] <= x) if is_max else (val[back] >= x):
            size -= 1
        else:
            break
    back = (head + size) % w
    idx[back], val[back] = n, x
    size += 1
    meta[_HEAD], meta[_SIZE], meta[_N] = head, size, n + 1
    return val[head]


def median_state(window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empty state for ``median_push``: (meta [pos, n], ring of samples, the same sorted)."""
    return np.zeros(2, np.int64), np.zeros(window), np.zeros(window)


@kernel
def median_push(meta: np.ndarray, ring: np.ndarray, srt: np.ndarray, x: float) -> float:
    """Add sample ``x``; return the median of the last ``w`` samples (``w`` = len(ring);
    the mean of the middle two for an even ``w``). Before the first sample the window
    counts as filled with copies of it."""
    w = ring.size
    if meta[1] == 0:
        ring[:] = x
        srt[:] = x
    pos = meta[0]
    old = ring[pos]
    ring[pos] = x
    meta[0] = (pos + 1) % w
    meta[1] += 1
    # Move ``old``'s slot in the sorted copy to where ``x`` belongs, shifting between.
    k = np.searchsorted(srt, old)
    while k + 1 < w and srt[k + 1] < x:
        srt[k] = srt[k + 1]
        k += 1
    while k > 0 and srt[k - 1] > x:
        srt[k] = srt[k - 1]
        k -= 1
    srt[k] = x
    if w % 2:
        return srt[w // 2]
    return 0.5 * (srt[w // 2 - 1] + srt[w // 2])
