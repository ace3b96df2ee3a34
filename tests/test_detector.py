"""LetdownDetector on its own: a short bump is retracted, a letdown completes with its
volume, and NaN samples are skipped as if absent, whatever the chunking."""

from __future__ import annotations

import numpy as np
import pytest

from letdown_detect.detection.detector import LetdownDetector
from letdown_detect.params import DetectorConfig

CFG = DetectorConfig()
T = np.arange(0.0, 400.0, 1.0 / CFG.rate_hz)
FLOW = 0.2 + np.random.default_rng(5).normal(0.0, 0.005, T.size)
FLOW[(T >= 60.0) & (T < 63.0)] += 1.0  # a hand pressing on the bottle
RISE = T >= 150.0
FLOW[RISE] += 2.0 * np.minimum((T[RISE] - 150.0) / 10.0, 1.0) * np.exp(-(T[RISE] - 150.0) / 60.0)


def _detect(t: np.ndarray, f: np.ndarray, size: int) -> list:
    detector = LetdownDetector("flow_ml_s", CFG, delay_s=2.0)
    events = []
    for start in range(0, t.size, size):
        events += detector.process(t[start : start + size], f[start : start + size])
    return events + detector.flush()


def test_bump_is_retracted_and_letdown_completes() -> None:
    events = _detect(T, FLOW, T.size)
    assert [(e.complete, e.label) for e in events] == [
        (False, "letdown"),
        (True, "retracted"),
        (False, "letdown"),
        (True, "letdown"),
    ]
    bump, letdown = events[1], events[3]
    assert 55.0 < bump.onset_s < 61.0 and bump.end_s < 64.0
    assert 145.0 < letdown.onset_s < 152.0
    assert letdown.volume_ml > 60.0  # most of the 2 mL/s rise over a 60 s decay


@pytest.mark.parametrize("size", [1, 7, 1000])
def test_nan_samples_are_skipped_for_any_chunking(size: int) -> None:
    f = FLOW.copy()
    holes = np.random.default_rng(6).random(f.size) < 0.05
    f[holes] = np.nan
    assert _detect(T, f, size) == _detect(T[~holes], FLOW[~holes], T.size)


def test_nothing_is_judged_before_the_noise_is_measured() -> None:
    """The start of a stream (bottle placed, pump starting) wobbles just after the settling
    time; without a measured noise the bar would be the bare 0.02 mL/s floor."""
    t = np.arange(0.0, 120.0, 1.0 / CFG.rate_hz)
    f = 0.01 + np.random.default_rng(7).normal(0.0, 0.004, t.size)
    wobble = (t >= 10.0) & (t < 16.0)
    f[wobble] += 0.05 * np.sin(np.pi * (t[wobble] - 10.0) / 6.0)
    assert _detect(t, f, t.size) == []
    early = LetdownDetector("flow_ml_s", DetectorConfig(noise_min_s=0.0), delay_s=2.0)
    assert early.process(t, f), "the wobble crosses the bare floor"


def test_the_onset_of_a_small_rise_is_not_sent_back_to_a_noise_wander() -> None:
    """Detected early in a small rise, 10% of the rise so far lies inside the noise band
    (the base is the lowest flow of the look-back, about two deviations under its mean):
    that level finds the last slow noise wander, often seconds before the rise began."""
    from letdown_detect.conditioning.filters import SosFilter

    t = np.arange(0.0, 200.0, 1.0 / CFG.rate_hz)
    errors: dict[float, list[float]] = {0.0: [], CFG.onset_noise_k: []}
    for seed in range(20):
        wander = SosFilter(0.1, CFG.rate_hz).process(
            np.random.default_rng(seed).normal(size=t.size)
        )
        f = 0.05 + 0.006 * wander / wander.std()  # noise as a low-passed flow estimate has it
        rise = t >= 100.0
        f[rise] += 0.10 * np.minimum((t[rise] - 100.0) / 10.0, 1.0)
        for k, found in errors.items():
            detector = LetdownDetector("flow_ml_s", DetectorConfig(onset_noise_k=k), delay_s=0.0)
            found.append(detector.process(t, f)[0].onset_s - 100.0)
    early = {k: sum(e < -3.0 for e in found) for k, found in errors.items()}
    assert early[0.0] >= 5  # a level inside the noise: a quarter of the onsets 3-12 s early
    assert early[CFG.onset_noise_k] <= 2
