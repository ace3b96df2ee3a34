import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letdown_detect.conditioning.resample import Resampler
from letdown_detect.model import SampleBlock
from letdown_detect.pipeline import Pipeline


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


def _packets(fs: float, sizes: tuple[int, int], seed: int, seconds: float = 300.0):
    """Sample times of a sensor at ``fs`` and the arrival stamps of a radio link that
    sends them in packets of ``sizes`` (inclusive), 20 ms late, 4 ms apart."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, seconds, 1.0 / fs)
    stamps = np.empty_like(t)
    i = 0
    while i < t.size:
        j = min(i + int(rng.integers(sizes[0], sizes[1] + 1)), t.size)
        stamps[i:j] = t[j - 1] + 0.02 + 0.004 * np.arange(j - i)
        i = j
    return t, stamps


def _scale_flow(stamps: np.ndarray, t: np.ndarray, seed: int) -> float:
    """RMS error of the flow estimate (mL/s) of a 0.3 mL/s stream on a scale with a 1.3 Hz
    pump tug of 3 g with harmonics, read at ``t`` and stamped ``stamps``."""
    fs = 1.0 / (t[1] - t[0])
    phase = 2 * np.pi * 1.3 * t
    weight = 150.0 + np.cumsum(np.full(t.size, 0.3)) / fs * 1.03
    weight += 1.5 * np.sin(phase) + 0.8 * np.sin(2 * phase + 1) + 0.5 * np.sin(3 * phase + 2)
    weight = np.round(weight + np.random.default_rng(seed).normal(0.0, 0.05, t.size), 1)
    pipeline = Pipeline(("weight_g",))
    grid_t, flow, delay = pipeline.flow(SampleBlock(stamps, weight[:, None], ("weight_g",)))
    settled = grid_t - delay[0] > 60.0
    return float(np.sqrt(np.mean((flow[0][settled] - 0.3) ** 2)))


def test_a_scale_that_sends_packets_gives_the_flow_of_one_stamped_evenly() -> None:
    """Packets of 2-4 stamped on arrival put a third of a second of samples in one grid bin
    and alias the tug's harmonics below 1 Hz, where no pump-cycle smoother reaches them
    (seven times the flow error before packets were re-timed)."""
    for seed in range(3):
        t, stamps = _packets(10.0, (2, 4), seed)
        assert _scale_flow(stamps, t, seed) < 1.5 * _scale_flow(t, t, seed)


def test_independent_arrivals_are_not_taken_for_packets() -> None:
    """Arrivals at random times (a fifth of them close together by chance) keep their stamps."""
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0, 300, 3000))
    v = rng.normal(size=(t.size, 1))
    as_is = Resampler(10.0, 1.5, 1, burst_share=1.0).process(t, v)
    default = Resampler(10.0, 1.5, 1).process(t, v)
    np.testing.assert_array_equal(default[0], as_is[0])
    np.testing.assert_array_equal(default[1], as_is[1])


PACKET_T = _packets(8.0, (2, 4), 1, 120.0)[1]
PACKET_V = np.random.default_rng(1).normal(size=(PACKET_T.size, 2))


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 200), min_size=1, max_size=20))
def test_packets_are_re_timed_the_same_for_any_chunking(sizes: list[int]) -> None:
    whole = Resampler(10.0, 1.5, 2).process(PACKET_T, PACKET_V)
    r = Resampler(10.0, 1.5, 2)
    parts, start = [], 0
    for size in [*sizes, PACKET_T.size]:
        parts.append(r.process(PACKET_T[start : start + size], PACKET_V[start : start + size]))
        start += size
    np.testing.assert_array_equal(whole[0], np.concatenate([p[0] for p in parts]))
    np.testing.assert_array_equal(whole[1], np.concatenate([p[1] for p in parts]))
    assert whole[0].size > 0.95 * 120 * 10  # every bin but the last few
