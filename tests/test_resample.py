import numpy as np
import pytest

from letdown_detect.conditioning.resample import Resampler


def _feed(r: Resampler, t: np.ndarray, v: np.ndarray, size: int):
    parts = [r.process(t[a : a + size], v[a : a + size]) for a in range(0, t.size, size)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


@pytest.mark.parametrize("size", [1, 2, 100])
def test_bad_times_are_dropped_and_counted_whatever_the_chunking(size: int) -> None:
    clean_t = np.arange(0.0, 3.0, 0.07)
    clean_v = np.sin(clean_t)[:, None]
    bad_t = np.insert(clean_t, [5, 9, 9, 20, 30], [0.1, np.nan, np.inf, clean_t[19], -np.inf])
    bad_v = np.insert(clean_v, [5, 9, 9, 20, 30], 99.0, axis=0)
    r = Resampler(10.0, 1.0, 1)
    got_t, got_v = _feed(r, bad_t, bad_v, size)
    want_t, want_v = Resampler(10.0, 1.0, 1).process(clean_t, clean_v)
    np.testing.assert_array_equal(got_t, want_t)
    np.testing.assert_array_equal(got_v, want_v)
    assert r.dropped == 5


def test_long_silence_is_a_counted_gap_and_a_short_hole_is_interpolated() -> None:
    t = np.array([0.05, 0.15, 0.45, 0.55, 5.05, 5.15])  # 0.3 s hole, then 4.5 s silence
    r = Resampler(10.0, 1.0, 1)
    grid_t, grid_v = r.process(t, np.arange(6.0)[:, None])
    assert grid_t.size == 51
    np.testing.assert_allclose(grid_v[:6, 0], [0.0, 1.0, 4 / 3, 5 / 3, 2.0, 3.0])
    assert np.isnan(grid_v[6:50, 0]).all() and grid_v[50, 0] == 4.0
    assert r.gaps == 1


def test_a_corrupt_far_future_time_is_held_not_filled() -> None:
    r = Resampler(100.0, 1.0, 1)
    t = np.array([0.0, 0.011, 1e12, 0.031, 0.041])  # later samples are then out of order
    grid_t, _ = r.process(t, np.ones((5, 1)))
    assert grid_t.size == 2 and r.dropped == 2
