"""Rolling windows over 1-D arrays, cheap enough to call once per live sample."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided


def windows(x: np.ndarray, width: int) -> np.ndarray:
    """Read-only view of every ``width``-long window of ``x``: shape (len(x) - width + 1, width).

    >>> windows(np.arange(5.0), 3).tolist()
    [[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]]
    """
    x = np.ascontiguousarray(x)
    step = x.strides[0]
    return as_strided(x, shape=(x.size - width + 1, width), strides=(step, step), writeable=False)


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
