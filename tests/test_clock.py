"""DeviceClock: device timestamps -> host time under drift, jitter, reordering and resets."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letdown_detect.clock import DeviceClock, VirtualClock

RATE_HZ = 20.0
FRAME = 5  # samples per arrival, like a binary frame of 250 ms


def _stream(duration_s: float, rate_error: float, seed: int, boot_s: float = 3.0):
    """True host times, device stamps and noisy arrival times of framed samples."""
    rng = np.random.default_rng(seed)
    host_true = np.arange(0.0, duration_s, 1.0 / RATE_HZ) + 100.0
    device = boot_s + (host_true - host_true[0]) * (1.0 + rate_error)
    frames = []
    for start in range(0, host_true.size - FRAME + 1, FRAME):
        sl = slice(start, start + FRAME)
        # USB/BLE latency: at least 2 ms, sometimes 100+ ms of buffering
        arrival = host_true[sl][-1] + 0.002 + rng.exponential(0.03)
        frames.append((device[sl], host_true[sl], arrival))
    return frames


def _run(clock: DeviceClock, frames) -> tuple[np.ndarray, np.ndarray]:
    mapped, truth = [], []
    for dev, true, arrival in frames:
        mapped.append(clock.map(dev, arrival))
        truth.append(true)
    return np.concatenate(mapped), np.concatenate(truth)


@pytest.mark.parametrize("rate_error", [0.0, 0.01, -0.01, 200e-6])
def test_mapped_times_track_host_time_despite_drift_and_jitter(rate_error: float) -> None:
    mapped, truth = _run(DeviceClock(), _stream(900.0, rate_error, seed=1))
    settled = truth > truth[0] + 60.0
    # a 1% fast crystal would be 9 s off after 15 min; the model stays within ~latency
    assert np.max(np.abs(mapped[settled] - truth[settled])) < 0.08
    assert np.all(np.diff(mapped) > 0), "session times must keep increasing"


def test_sample_spacing_comes_from_the_device_not_the_jittery_arrivals() -> None:
    mapped, _ = _run(DeviceClock(), _stream(120.0, 0.0, seed=2))
    steps = np.diff(mapped[: FRAME * 10])
    assert np.allclose(steps, 1.0 / RATE_HZ, rtol=0.03)


def test_device_reboot_reanchors_and_counts_a_reset() -> None:
    first = _stream(300.0, 0.0, seed=3)
    # the board reboots: its clock restarts at 0.5 s while host time goes on
    second = [
        (dev - dev[0] + 0.5 + i * FRAME / RATE_HZ, true + 310.0, arrival + 310.0)
        for i, (dev, true, arrival) in enumerate(_stream(300.0, 0.0, seed=4, boot_s=0.0))
    ]
    clock = DeviceClock()
    mapped, truth = _run(clock, first + second)
    assert clock.resets == 1
    after = truth > truth[0] + 310.0 + 60.0
    assert np.max(np.abs(mapped[after] - truth[after])) < 0.08


def test_reordered_frames_map_to_the_same_times_and_are_not_resets() -> None:
    frames = _stream(200.0, 0.005, seed=5)
    swapped = list(frames)
    for i in range(10, len(swapped) - 1, 7):
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
    clock = DeviceClock()
    mapped, truth = _run(clock, swapped)
    assert clock.resets == 0
    settled = truth > truth[0] + 60.0
    assert np.max(np.abs(mapped[settled] - truth[settled])) < 0.08


@settings(max_examples=40, deadline=None)
@given(
    rate_error=st.floats(-0.02, 0.02),
    seed=st.integers(0, 10_000),
)
def test_map_is_continuous_and_increasing_for_any_clock_error(rate_error: float, seed: int) -> None:
    mapped, _ = _run(DeviceClock(), _stream(120.0, rate_error, seed=seed))
    steps = np.diff(mapped)
    assert np.all(steps > 0)
    # no jumps: a step never exceeds two nominal sample periods
    assert steps.max() < 2.0 / RATE_HZ


def test_virtual_clock_advances_only_when_slept() -> None:
    clock = VirtualClock()
    before = clock.utc()

    async def nap() -> None:
        await clock.sleep(2.5)

    asyncio.run(nap())
    assert clock.monotonic() == 2.5
    assert (clock.utc() - before).total_seconds() == 2.5


@pytest.mark.parametrize("rate_error", [0.015, -0.015])
def test_a_frame_straddling_a_long_gap_never_maps_before_earlier_samples(rate_error: float) -> None:
    frames = _stream(200.0, rate_error, seed=6)
    dev = np.concatenate([f[0] for f in frames[400:]])
    true = np.concatenate([f[1] for f in frames[400:]])
    # the device lost 20 s of samples; the frame that spans the hole arrives after it
    keep = (true < true[0] + 2.1) | (true > true[0] + 22.0)
    dev, true = dev[keep], true[keep]
    tail = [
        (dev[i : i + FRAME], true[i : i + FRAME], true[i + FRAME - 1] + 0.01)
        for i in range(0, dev.size - FRAME + 1, FRAME)
    ]
    mapped, _ = _run(DeviceClock(), frames[:400] + tail)
    assert np.all(np.diff(mapped) > 0)
