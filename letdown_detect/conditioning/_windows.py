"""Rolling windows over 1-D arrays, cheap enough to call once per live sample."""

from __future__ import annotations

import functools

import numpy as np
from numpy.lib.stride_tricks import as_strided
from scipy.ndimage import maximum_filter1d, minimum_filter1d

#: Inputs with fewer windows than this are gathered, not viewed.
_SMALL = 64


def windows(x: np.ndarray, width: int) -> np.ndarray:
    """Every ``width``-long window of ``x``: shape (len(x) - width + 1, width), not to be written.

    A strided view for long inputs; for the short ones of live, sample-at-a-time
    use, a gather with a cached index (building a strided view costs more than
    copying a few windows).

    >>> windows(np.arange(5.0), 3).tolist()
    [[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]]
    """
    if x.size - width < _SMALL:
        return x[_window_index(x.size, width)]
    x = np.ascontiguousarray(x)
    step = x.strides[0]
    return as_strided(x, shape=(x.size - width + 1, width), strides=(step, step), writeable=False)


@functools.lru_cache(maxsize=64)
def _window_index(size: int, width: int) -> np.ndarray:
    return np.arange(size - width + 1)[:, None] + np.arange(width)


def rolling_median(x: np.ndarray, width: int) -> np.ndarray:
    """Median of every ``width``-long window of ``x`` (selection, not sorting).

    >>> rolling_median(np.array([1.0, 9.0, 2.0, 3.0, 8.0]), 3).tolist()
    [2.0, 3.0, 3.0]
    """
    view = windows(x, width)
    k = width // 2
    if width % 2:
        return np.partition(view, k, axis=1)[:, k]
    part = np.partition(view, (k - 1, k), axis=1)
    return 0.5 * (part[:, k - 1] + part[:, k])


def rolling_max(x: np.ndarray, width: int) -> np.ndarray:
    """Maximum of every ``width``-long window of ``x`` (``width`` odd).

    >>> rolling_max(np.array([1.0, 5.0, 2.0, 0.0, 3.0]), 3).tolist()
    [5.0, 5.0, 3.0]
    """
    if x.size - width < _SMALL:
        return windows(x, width).max(axis=1)
    return maximum_filter1d(x, width, origin=width // 2)[width - 1 :]


def rolling_min(x: np.ndarray, width: int) -> np.ndarray:
    """Minimum of every ``width``-long window of ``x`` (``width`` odd).

    >>> rolling_min(np.array([1.0, 5.0, 2.0, 0.0, 3.0]), 3).tolist()
    [1.0, 0.0, 0.0]
    """
    if x.size - width < _SMALL:
        return windows(x, width).min(axis=1)
    return minimum_filter1d(x, width, origin=width // 2)[width - 1 :]
