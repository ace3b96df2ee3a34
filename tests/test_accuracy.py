"""Simulate known letdowns, detect them, score within tolerance (a regression floor).

The full benchmark (200+ sessions, latency against an oracle, baselines) is
``benchmarks/bench_detector.py``; this is a small fixed corpus that fails
when detection gets clearly worse.
"""

from __future__ import annotations

import pytest

from letdown_detect.pipeline import detect_recording
from letdown_detect.research.evaluate import combine, score_events
from letdown_detect.sources.simulate import SimConfig, corpus_config, simulate_session

CORPUS = [simulate_session(corpus_config(i), seed=i) for i in range(48)]


def _scores(sims):
    return combine(
        score_events(detect_recording(s.recording), s.truth, float(s.recording.data.t_s.iloc[-1]))
        for s in sims
    )


def test_mixed_corpus_floor() -> None:
    scores = _scores(CORPUS)
    assert scores.tp + scores.fn > 100
    assert scores.f1 >= 0.95
    assert scores.median_abs_onset_error_s <= 2.5
    assert scores.latency_median_s <= 10.0


def test_direct_flow_channels_are_near_perfect() -> None:
    scores = _scores([s for s in CORPUS if s.config.kind == "flow_ml_s"])
    assert scores.f1 >= 0.98
    assert scores.latency_median_s <= 6.0


def test_no_false_alarms_on_sessions_without_letdowns() -> None:
    quiet = [
        simulate_session(SimConfig(kind=k, letdowns=0, sample_rate_hz=r), seed=s)
        for s, (k, r) in enumerate(
            [("weight_g", 10.0), ("pressure_pa", 50.0), ("volume_ml", 20.0), ("flow_ml_s", 100.0)]
        )
    ]
    assert sum(len(detect_recording(s.recording)) for s in quiet) == 0


@pytest.mark.parametrize(
    ("kind", "onsets"),
    [("flow_ml_s", (45.0, 230.0, 400.0)), ("weight_g", (70.0, 260.0)), ("pressure_pa", (95.0,))],
)
def test_pinned_detections_on_seeded_sessions(kind: str, onsets: tuple[float, ...]) -> None:
    """Exact times pinned on purpose: a change that moves them must say why in its commit."""
    sim = simulate_session(SimConfig(kind=kind, duration_s=600, letdown_times_s=onsets), seed=21)
    events = detect_recording(sim.recording)
    assert [round(e.onset_s) for e in events] == PINNED[kind][0]
    assert [round(e.detected_s) for e in events] == PINNED[kind][1]


PINNED: dict[str, tuple[list[int], list[int]]] = {
    # Moved by the pump-cycle smoother (issue 12): boxcars of the measured cycle are up to
    # 1.5 s less late, so detections come 1-2 s sooner; onsets are corrected by each
    # sample's own delay.
    "flow_ml_s": ([45, 232, 401], [48, 236, 404]),
    # Weight moved again: when the hold over the bottle's placing ends, the flow starts from
    # the settled level's mean flow, not one sample's derivative (its ripple left a
    # release transient that kept the noise bar high for a minute), so the first letdown
    # (true onset 70 s) is seen 3 s sooner and its onset is 1 s from the truth.
    "weight_g": ([69, 262], [77, 269]),
    "pressure_pa": ([95], [101]),
}
