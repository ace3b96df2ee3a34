"""The pump-cycle smoother: it measures the pump's cycle and averages over whole cycles
of it, so ripple of any shape is nulled with as little delay as the pump allows."""

from __future__ import annotations

import numpy as np
import pytest

from letdown_detect.conditioning.cycle import CycleSmoother, box_delay
from letdown_detect.conditioning.flow import FlowEstimator, smoother_kernel
from letdown_detect.params import DetectorConfig

RATE = 10.0
CFG = DetectorConfig()


def _ripple(t: np.ndarray, hz: float, pp_ml: float, harmonic: float = 0.0) -> np.ndarray:
    """Vacuum ripple of ``pp_ml`` mL peak to peak (about), with a 2nd harmonic."""
    phase = 2 * np.pi * np.cumsum(np.full(t.size, hz)) / RATE
    return pp_ml / 2 * (np.sin(phase) + harmonic * np.sin(2 * phase + 1.0))


def test_while_no_cycle_is_measured_every_cycle_from_the_slowest_up_is_26_db_down() -> None:
    w = smoother_kernel(CFG.ripple_min_hz, RATE, CFG.smoother_boxes)
    freqs = np.linspace(0.6, 5.0, 200)
    gain = np.abs(np.exp(-2j * np.pi * np.outer(freqs / RATE, np.arange(w.size))) @ w)
    assert (w >= 0).all() and np.isclose(w.sum(), 1.0)  # no overshoot, unit gain at 0 Hz
    assert gain.max() < 0.05  # sinc squared: its highest sidelobe is 0.047


@pytest.mark.parametrize("hz", [0.6, 0.75, 1.0, 1.33, 1.7, 2.0])
@pytest.mark.parametrize("harmonic", [0.0, 1.5])
def test_the_pump_cycle_is_measured_and_its_ripple_removed(hz: float, harmonic: float) -> None:
    t = np.arange(0, 90, 1 / RATE)
    rng = np.random.default_rng(int(hz * 100))
    level = 0.3 * t + _ripple(t, hz, 10.0, harmonic) + rng.normal(0, 0.05, t.size)
    smoother = CycleSmoother(CFG)
    flow = np.diff(smoother.process(level)) * RATE
    cycles = smoother.cycle_s * hz
    assert round(cycles) >= 1 and abs(cycles - round(cycles)) < 0.05  # whole cycles
    # 10 mL p-p at up to 2 Hz is +-30 mL/s of flow; what is left is well under a letdown.
    assert np.ptp(flow[-300:]) < 0.3
    assert smoother.delay_s <= CFG.smoother_boxes * box_delay(RATE / CFG.ripple_min_hz) / RATE


def test_a_change_of_pump_speed_is_followed_within_seconds() -> None:
    """Stimulation at 1.7 Hz, then expression at 0.8 Hz (the pump switching at the first
    letdown): the boxcars follow the new cycle."""
    t = np.arange(0, 120, 1 / RATE)
    hz = np.where(t < 60, 1.7, 0.8)
    phase = 2 * np.pi * np.cumsum(hz) / RATE
    level = 0.2 * t + 4.0 * np.sin(phase)
    smoother = CycleSmoother(CFG)
    lengths = []
    for chunk in np.split(level, 120):  # one second at a time, as a live stream comes
        smoother.process(chunk)
        lengths.append(smoother.cycle_s)
    # Within 5% of whole cycles: each boxcar then passes under 5% of the ripple.
    assert lengths[58] == pytest.approx(2 / 1.7, rel=0.05)  # two stimulation cycles
    assert lengths[80] == pytest.approx(1 / 0.8, rel=0.05)  # one expression cycle


def test_without_ripple_the_boxcars_stay_at_the_slowest_cycle() -> None:
    t = np.arange(0, 60, 1 / RATE)
    level = 0.3 * t + np.random.default_rng(1).normal(0, 0.2, t.size)
    smoother = CycleSmoother(CFG)
    smoother.process(level)
    assert smoother.cycle_s == pytest.approx(1 / CFG.ripple_min_hz)


def test_a_hand_on_the_bottle_does_not_blind_the_measurement() -> None:
    """A 100 g press for 2 s is 30 times the ripple: clipped, it cannot swamp the
    autocorrelation, so the cycle stays measured through it."""
    t = np.arange(0, 90, 1 / RATE)
    level = 0.3 * t + _ripple(t, 1.0, 3.0)
    level[(t > 50) & (t < 52)] += 100.0
    smoother = CycleSmoother(CFG)
    lengths = []
    for chunk in np.split(level, 90):
        smoother.process(chunk)
        lengths.append(smoother.cycle_s)
    assert max(abs(x - 1.0) for x in lengths[45:]) < 0.05


def test_a_steady_flow_reads_true_while_the_boxcars_shorten() -> None:
    """The smoother's delay shrinks as it locks on to a fast cycle; the flow estimate
    undoes what a shrinking delay adds (the level read ever less late rises faster than
    the milk: 5% of the flow at the fastest change)."""
    t = np.arange(0, 60, 1 / RATE)
    level = 0.5 * t + _ripple(t, 1.0, 4.0)
    _, flow, delay = FlowEstimator("volume_ml", 1.0, CFG).process(t, level)
    fixed = DetectorConfig(cycle_min_corr=2.0)  # never measured: the boxcars stay put
    _, steady, _ = FlowEstimator("volume_ml", 1.0, fixed).process(t, level)
    shrinking = np.flatnonzero(np.diff(delay) < -1e-6)
    assert shrinking.size > 20  # it did shorten, over more than two seconds
    assert delay[-1] < delay[0] - 0.5  # at least half a second less late once locked
    # Both start the same low-pass from 0; they differ only by the boxcars' change.
    late = shrinking[t[shrinking] > 5.0]
    assert np.abs(flow[late] - steady[late]).max() < 0.01  # 2% of 0.5 mL/s


def test_onsets_are_corrected_by_the_delay_they_were_made_with() -> None:
    """The same letdown with and without pump ripple: the smoother is shorter with a
    measured 1 Hz cycle, and the reported onset does not move with it."""
    import pandas as pd

    from letdown_detect.pipeline import detect

    t = np.arange(0, 300, 1 / RATE)
    x = np.clip(t - 120, 0, None)
    flow = 0.02 + 0.5 * (1 - np.exp(-x / 4)) * np.exp(-x / 120)
    volume = np.cumsum(flow) / RATE
    onsets = []
    for ripple in (0.0, 6.0):
        level = volume + _ripple(t, 1.0, ripple)
        events = detect(pd.DataFrame({"t_s": t, "volume_ml": level}))
        assert len(events) == 1
        onsets.append(events[0].onset_s)
    assert abs(onsets[0] - 120) < 3.0 and abs(onsets[1] - onsets[0]) < 1.0
