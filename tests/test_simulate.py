"""The simulator: reproducible, physiologically shaped, artifacts on request."""

from __future__ import annotations

import numpy as np
import pytest

from letdown_detect.errors import ConfigError
from letdown_detect.sources.simulate import (
    ARTIFACTS,
    DEFAULT_ARTIFACTS,
    SimConfig,
    corpus_config,
    simulate_session,
)


def test_same_seed_same_session_and_different_seed_differs() -> None:
    a = simulate_session(SimConfig(duration_s=300), seed=4)
    b = simulate_session(SimConfig(duration_s=300), seed=4)
    c = simulate_session(SimConfig(duration_s=300), seed=5)
    assert a.recording.data.equals(b.recording.data) and a.truth == b.truth
    assert not a.recording.data.equals(c.recording.data)


def test_first_letdown_is_largest_and_flow_rises_at_each_true_onset() -> None:
    sim = simulate_session(SimConfig(kind="flow_ml_s", letdowns=4, artifacts=frozenset()), seed=2)
    flow = sim.true_flow
    assert len(sim.truth) == 4
    peaks = [e.peak_flow_ml_s for e in sim.truth]
    assert peaks[0] == max(peaks)
    for event in sim.truth:
        before = flow.loc[flow.t_s.between(event.onset_s - 2, event.onset_s), "true_flow_ml_s"]
        after = flow.loc[flow.t_s.between(event.onset_s + 15, event.onset_s + 25), "true_flow_ml_s"]
        assert after.mean() > before.mean() + 0.15  # a new acceleration of flow


def test_clean_weight_channel_is_the_integral_of_flow() -> None:
    sim = simulate_session(
        SimConfig(kind="weight_g", letdowns=2, artifacts=frozenset({"spurts"})), seed=1
    )
    grams = sim.recording.data["weight_g"].to_numpy()
    assert np.all(np.diff(grams) >= -1e-9)  # milk only accumulates
    assert grams[-1] / 1.03 == pytest.approx(sum(e.volume_ml for e in sim.truth), rel=0.05)


def test_double_pumping_has_both_sides_and_side_onsets() -> None:
    sim = simulate_session(SimConfig(kind="volume_ml", double=True, letdowns=3), seed=8)
    assert sim.recording.channels == ("volume_ml_left", "volume_ml_right")
    assert all(e.side_onsets_s for e in sim.truth)


def test_session_without_letdowns_and_pressure_calibration() -> None:
    sim = simulate_session(SimConfig(kind="pressure_pa", letdowns=0), seed=3)
    assert sim.truth == []
    assert sim.recording.meta.calibration == {"pa_per_ml": 5.0}


def test_artifacts_show_in_the_signal() -> None:
    clean = simulate_session(SimConfig(letdowns=1, artifacts=frozenset()), seed=6).recording.data
    dirty = simulate_session(SimConfig(letdowns=1), seed=6).recording.data
    assert len(dirty) < len(clean)  # lost samples and gaps
    assert dirty["weight_g"].iloc[-1] < 5.0  # bottle lifted off at the end
    assert np.diff(dirty["t_s"]).max() > 3.0 or len(dirty) < 0.99 * len(clean)


def test_corpus_mixes_every_kind_rate_and_artifact() -> None:
    configs = [corpus_config(i) for i in range(40)]
    assert {c.kind for c in configs} == {"flow_ml_s", "volume_ml", "weight_g", "pressure_pa"}
    assert {c.sample_rate_hz for c in configs} == {10.0, 20.0, 50.0, 100.0}
    assert any(c.double for c in configs) and any(c.letdowns == 0 for c in configs)
    assert any(c.artifacts == DEFAULT_ARTIFACTS for c in configs)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"kind": "weight_kg"}, "kind"),
        ({"sample_rate_hz": 0.1}, "sample_rate_hz"),
        ({"artifacts": frozenset({"earthquake"})}, "artifacts"),
    ],
)
def test_bad_config_names_the_setting(kwargs: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        SimConfig(**kwargs)
    assert info.value.key == key


def test_short_sessions_simulate() -> None:
    for duration in (10.0, 45.0, 75.0):
        assert len(simulate_session(SimConfig(duration_s=duration), seed=1).recording.data) > 0


@pytest.mark.parametrize("duration_s", [10.0, 12.0, 15.0, 19.0])
def test_short_sessions_get_their_touches_inside_them(duration_s: float) -> None:
    """``letdown live --duration 10 --seed 2`` used to fail placing a touch."""
    for seed in range(6):
        sim = simulate_session(
            SimConfig(duration_s=duration_s, artifacts=frozenset(ARTIFACTS)), seed
        )
        assert sim.recording.data["t_s"].iloc[-1] < duration_s


def test_sensor_models_show_their_physics() -> None:
    models = frozenset({"sensor_model"})
    stamps = []
    for seed in range(8):  # half the scales are BLE ones stamping bursts on arrival
        t = simulate_session(SimConfig(kind="weight_g", artifacts=models), seed).recording.data
        stamps.append(np.diff(t["t_s"].to_numpy()))
    assert any((d < 0.01).mean() > 0.3 for d in stamps) and any((d > 0.04).all() for d in stamps)
    level = simulate_session(SimConfig(kind="volume_ml", artifacts=models), 1).recording.data
    assert np.allclose(level["volume_ml"] % 0.5, 0.0) or np.allclose(level["volume_ml"] % 0.5, 0.5)
    counts = []
    for seed in range(8):  # half the flow sensors count drops: mostly zeros
        x = simulate_session(SimConfig(kind="flow_ml_s", artifacts=models), seed).recording.data
        counts.append((x["flow_ml_s"] == 0).mean())
    assert max(counts) > 0.5 and min(counts) < 0.2
